//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 14, interop with a third-party IKEv1 initiator: strongSwan's charon
// (5.9.8, kernel-libipsec, lab swc in l2v-sw-c) negotiates Main Mode and
// Quick Mode (tunnel mode, UDP-encapsulated ESP) with our responder, and
// our client runs L2TP and PPP through charon's SA (--ipsec strongswan).
// `l2tpvpn serve` runs in a namespace of the test's (l2v-sv-w, 192.0.2.145)
// joined to l2v-sw-c by a veth.
func TestServeStrongSwanInitiator(t *testing.T) {
	labSW.up(t)
	script(t, nil, "up", "swc")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command(filepath.Join(root, "scripts", "lab.sh"), "logs", "swc").CombinedOutput()
			t.Logf("client charon log:\n%s", tail(string(out), 120))
		}
		exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "swc").Run()
	})
	const ns, addr, peer = "l2v-sv-w", "192.0.2.145", "192.0.2.146"
	exec.Command("ip", "netns", "del", ns).Run()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, a := range [][]string{
		{"netns", "add", ns},
		{"link", "add", "l2v-sv-w0", "netns", ns, "type", "veth", "peer", "name", "l2v-sv-x0", "netns", labSW.clientNS},
		{"-n", ns, "addr", "add", addr + "/28", "dev", "l2v-sv-w0"},
		{"-n", labSW.clientNS, "addr", "add", peer + "/28", "dev", "l2v-sv-x0"},
		{"-n", ns, "link", "set", "l2v-sv-w0", "up"}, {"-n", labSW.clientNS, "link", "set", "l2v-sv-x0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", a, err, out)
		}
	}
	dir := t.TempDir()
	path := writeServeFiles(t, dir, `listen = ["`+addr+`"]`+"\nesp-modes = [\"tunnel\"]\n", "")
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "serve", path, "--json")
	cmd.Env = append(os.Environ(), "L2V_SERVE_PSK="+psk, "L2TPVPN_STATE_DIR="+filepath.Join(dir, "state"))
	srv := runClient(t, cmd)
	srv.waitEvent("serve.up", 20*time.Second)

	full := append([]string{"netns", "exec", labSW.clientNS, bin, "connect", "--json", "--server", addr, "--user", "alice",
		"--password-env", "L2V_TEST_PASSWORD", "--interface", "l2v-tun0", "--route", serveGW + "/32", "--reconnect=false"},
		charonArgs("--esp-mode", "tunnel")...)
	c := exec.Command("ip", full...)
	c.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+password, "L2V_TEST_PSK="+psk)
	cl := runClient(t, c)
	up := cl.waitEvent("up", 60*time.Second)
	sup := srv.waitEvent("client.up", 10*time.Second)
	t.Logf("client up %s (%s); the server saw %s from %s with %s", up.IP, up.ESP, sup.User, sup.Outer, sup.IPsec)
	if sup.User != "alice" || sup.Inner != up.IP || sup.IPsec == "" {
		t.Errorf("server's client.up: %+v", sup)
	}
	if out, err := inNS(labSW.clientNS, "ping", "-c", "2", "-W", "3", serveGW); err != nil {
		t.Errorf("through charon's SA to serve: %v\n%s", err, out)
	}
	cl.disconnect()
	if down := srv.waitEvent("client.down", 15*time.Second); down.User != "alice" {
		t.Errorf("server's client.down: %+v", down)
	}
	if !strings.HasPrefix(sup.Outer, peer+":") {
		t.Errorf("outer %q, want charon's address %s", sup.Outer, peer)
	}
	nothingOfOurs(t)
}
