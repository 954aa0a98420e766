package vpn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/tun"
)

// hook runs a user command (sh -c) with the connection described in
// L2TPVPN_* variables, like pppd's ip-up and ip-down scripts. What it
// prints, and why it failed (a non-zero exit, the timeout), is the hook
// event, for the caller to show, and goes to the log at info level (the
// event is how a failure is reported as a warning: a second, raw log line
// would repeat it). It returns that failure, nil when the hook succeeded
// or there is none. Its environment is hookEnviron: PATH and the L2TPVPN_*
// variables, nothing we inherited (which could hold a secret, e.g. one
// given as env:VAR).
func (cl *Client) hook(event, command string, info Info, hs tun.HostSummary, reconnects int) error {
	if command == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cl.cfg.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = hookEnviron(os.Getenv("PATH"), hookEnv(event, cl.cfg.Name, info, hs, reconnects))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v and was killed", cl.cfg.HookTimeout)
	}
	log := cl.log.With("hook", event)
	output := hookOutput(out.String())
	if output != "" {
		log.Info("hook output", "output", output)
	}
	if err != nil {
		log.Info("hook failed", "err", err)
	} else {
		log.Info("hook done")
	}
	if output != "" || err != nil {
		ev := Event{Event: EventHook, Hook: event, Output: output}
		if err != nil {
			ev.Error = err.Error()
		}
		cl.emit(ev)
	}
	return err
}

// maxHookOutput bounds the output a hook event carries.
const maxHookOutput = 4096

// hookOutput is a hook's output as its event carries it: trimmed, and cut
// to maxHookOutput bytes at a line's end where it is longer.
func hookOutput(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxHookOutput {
		return s
	}
	s = s[:maxHookOutput]
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return strings.ToValidUTF8(s, "") + "\n[output cut]"
}

// defaultHookPath is the hooks' PATH when ours is unset.
const defaultHookPath = "/usr/sbin:/usr/bin:/sbin:/bin"

// hookEnviron is the whole environment of a hook: PATH (ours, else
// defaultHookPath) and vars, the L2TPVPN_* variables.
func hookEnviron(path string, vars []string) []string {
	if path == "" {
		path = defaultHookPath
	}
	return append([]string{"PATH=" + path}, vars...)
}

// hookEnv is the documented environment of the up and down hooks.
func hookEnv(event, name string, info Info, hs tun.HostSummary, reconnects int) []string {
	dns := addrStrings(info.DNS)
	return append([]string{
		"L2TPVPN_EVENT=" + event,
		"L2TPVPN_PROFILE=" + name,
		"L2TPVPN_INTERFACE=" + info.Interface,
		"L2TPVPN_LOCAL_IP=" + addrString(info.IP),
		"L2TPVPN_PEER_IP=" + addrString(info.Peer),
		"L2TPVPN_SERVER=" + addrString(info.Server.Addr()),
		"L2TPVPN_DNS=" + strings.Join(dns, " "),
		"L2TPVPN_WINS=" + strings.Join(addrStrings(info.WINS), " "),
		"L2TPVPN_ROUTING=" + hs.Mode,
		"L2TPVPN_ROUTES=" + strings.Join(hs.Routes, ","),
		"L2TPVPN_MTU=" + strconv.Itoa(info.MTU),
		"L2TPVPN_RECONNECTS=" + strconv.Itoa(reconnects),
	}, dhcpEnv(info.DHCP)...)
}
