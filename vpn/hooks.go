package vpn

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/tun"
)

// hook runs a user command (sh -c) with the connection described in
// L2TPVPN_* variables, like pppd's ip-up and ip-down scripts. Its output
// goes to the log; a failure is logged and changes nothing else. Its
// environment is hookEnviron: PATH and the L2TPVPN_* variables, nothing we
// inherited (which could hold a secret, e.g. one given as env:VAR).
func (cl *Client) hook(event, command string, info Info, hs tun.HostSummary, reconnects int) {
	if command == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cl.cfg.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = hookEnviron(os.Getenv("PATH"), hookEnv(event, cl.cfg.Name, info, hs, reconnects))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	log := cl.log.With("hook", event)
	if s := strings.TrimSpace(out.String()); s != "" {
		log.Info("hook output", "output", s)
	}
	if ctx.Err() != nil {
		log.Warn("hook timed out and was killed", "timeout", cl.cfg.HookTimeout)
	} else if err != nil {
		log.Warn("hook failed", "err", err)
	} else {
		log.Info("hook done")
	}
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
	return []string{
		"L2TPVPN_EVENT=" + event,
		"L2TPVPN_PROFILE=" + name,
		"L2TPVPN_INTERFACE=" + info.Interface,
		"L2TPVPN_LOCAL_IP=" + addrString(info.IP),
		"L2TPVPN_PEER_IP=" + addrString(info.Peer),
		"L2TPVPN_SERVER=" + addrString(info.Server.Addr()),
		"L2TPVPN_DNS=" + strings.Join(dns, " "),
		"L2TPVPN_ROUTING=" + hs.Mode,
		"L2TPVPN_ROUTES=" + strings.Join(hs.Routes, ","),
		"L2TPVPN_MTU=" + strconv.Itoa(info.MTU),
		"L2TPVPN_RECONNECTS=" + strconv.Itoa(reconnects),
	}
}
