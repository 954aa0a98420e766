//go:build integration

package integration

// Proxy mode (issue 13) as an unprivileged user: uid 65534 with no
// capabilities at all connects to the SoftEther lab, its ready checks
// (ICMP and TCP to the service address) pass through the in-process
// stack, the HTTP proxy's CONNECT reaches the service, status and
// disconnect find it in $XDG_RUNTIME_DIR/l2tpvpn, the
// client namespace's addresses, links and routes never change, and a ready
// check that fails ends the connection with exit code 17.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const nobody = 65534

// nobodyEnv is a directory the unprivileged client can use: the client
// binary (the test binary's directories may be closed to it), its
// XDG_RUNTIME_DIR and a place for race reports.
type nobodyEnv struct {
	bin, xdg, race string
}

func newNobodyEnv(t *testing.T) nobodyEnv {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir's parent is 0700 too: open both for uid 65534 to traverse.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := nobodyEnv{bin: filepath.Join(dir, "l2tpvpn"), xdg: filepath.Join(dir, "xdg"), race: filepath.Join(dir, "race")}
	src, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(e.bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	for _, d := range []string{e.xdg, e.race} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if r := raceReports(e.race); r != "" {
			t.Errorf("the unprivileged client reported data races:\n%s", r)
		}
	})
	return e
}

// command runs the client as uid/gid 65534 without any capability (not
// even in the bounding set) in namespace ns.
func (e nobodyEnv) command(ns string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", e.bin}, args...)
	cmd := exec.Command("ip", full...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "XDG_RUNTIME_DIR=" + e.xdg, "L2V_TEST_PASSWORD=" + password,
		"GORACE=log_path=" + filepath.Join(e.race, "report") + " exitcode=66"}
	return cmd
}

// connect starts connect --proxy as nobody, with the lab's server.
func (e nobodyEnv) connect(t *testing.T, l lab, args ...string) *client {
	t.Helper()
	cmd := e.command(l.clientNS, append([]string{"connect", "--proxy", "--ipsec=off", "--json", "--server", l.server,
		"--user", user, "--password-env", "L2V_TEST_PASSWORD"}, args...)...)
	return runClient(t, cmd)
}

func TestProxyModeUnprivileged(t *testing.T) {
	l := labSE
	l.up(t)
	l.transferServer(t) // the TCP ready check's target
	e := newNobodyEnv(t)
	before := hostState(t, l.clientNS)

	c := e.connect(t, l, "--proxy-listen", "127.0.0.1:1080", "--ready-check", "icmp://"+l.service, "--ready-check", "tcp://"+l.service+":5001")
	up := c.waitEvent("up", 60*time.Second)
	if !strings.HasPrefix(up.Interface, "netstack") || up.IP == "" {
		t.Fatalf("up event: interface %q ip %q; want the netstack and an address", up.Interface, up.IP)
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("proxy mode changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The HTTP proxy connects through the tunnel (bash's /dev/tcp in the
	// client namespace: the proxy listens on its loopback).
	connect := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/1080 && printf 'CONNECT %s:5001 HTTP/1.1\r\nHost: %s:5001\r\n\r\n' >&3 && head -n1 <&3`, l.service, l.service)
	if out, err := inNS(l.clientNS, "timeout", "20", "bash", "-c", connect); err != nil || !strings.Contains(out, " 200 ") {
		t.Fatalf("CONNECT through the proxy: %q, %v", out, err)
	}

	// status, as the same user, finds it in $XDG_RUNTIME_DIR/l2tpvpn.
	out, err := e.command(l.clientNS, "status", l.server, "--json").Output()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st struct {
		State, Mode, Proxy string
	}
	if err := json.Unmarshal(out, &st); err != nil || st.State != "up" || st.Mode != "proxy" || st.Proxy != "127.0.0.1:1080" {
		t.Fatalf("status %s (%v): want up, mode proxy, proxy 127.0.0.1:1080", out, err)
	}
	entries, _ := os.ReadDir(filepath.Join(e.xdg, "l2tpvpn"))
	if len(entries) == 0 {
		t.Error("nothing in $XDG_RUNTIME_DIR/l2tpvpn while connected")
	}
	if _, err := os.Stat(filepath.Join("/run/l2tpvpn", l.server+".sock")); err == nil {
		t.Error("the unprivileged client put its socket in /run/l2tpvpn")
	}

	// disconnect, as the same user.
	if out, err := e.command(l.clientNS, "disconnect", l.server).CombinedOutput(); err != nil {
		t.Fatalf("disconnect: %v\n%s", err, out)
	}
	if code := c.wait(); code != 0 {
		t.Fatalf("client exit code %d after disconnect, want 0", code)
	}
	if down := c.last("down"); down.Reason != "none" {
		t.Errorf("down reason %q after disconnect, want none", down.Reason)
	}

	// A ready check that fails: exit 17, nothing announced up.
	c = e.connect(t, l, "--ready-check", "tcp://"+l.service+":1")
	if code := c.wait(); code != 17 {
		t.Fatalf("exit code %d with a failing ready check, want 17", code)
	}
	for _, ev := range c.eventsSoFar() {
		if ev.Event == "up" {
			t.Error("up announced although the ready check failed")
		}
	}
	if down := c.last("down"); down.Reason != "ready-check" {
		t.Errorf("down reason %q, want ready-check", down.Reason)
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("proxy mode changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
