//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13, `l2tpvpn exec` (TUN mode, against l2tpns): it connects, runs the
// command through the tunnel, disconnects and returns the command's exit
// status; the command does not see the variable the password came from;
// a failed connect returns the connect's exit code without running the
// command; a running connection of that name is used and left up.
func TestExec(t *testing.T) {
	labL2TPNS.up(t)
	l := labL2TPNS
	conn := []string{"exec", "--ipsec=off", "--server", l.server, "--user", user, "--password-env", "L2V_TEST_PASSWORD",
		"--auth", "pap", "--interface", "l2v-tun0", "--route", l.service + "/32", "--name", "l2v-exec"}
	run := func(cmd ...string) (string, string, int) {
		return l2tpvpn(t, l.clientNS, append(append(append([]string{}, conn...), "--"), cmd...)...)
	}
	gone := func() {
		t.Helper()
		if out, err := inNS(l.clientNS, "ip", "link", "show", "l2v-tun0"); err == nil {
			t.Errorf("l2v-tun0 still exists after exec:\n%s", out)
		}
		if _, _, code := l2tpvpn(t, l.clientNS, "status", "l2v-exec"); code != 12 {
			t.Errorf("status after exec: exit %d, want 12 (not running)", code)
		}
	}

	out, errOut, code := run("ping", "-c", "1", "-W", "3", l.service)
	if code != 0 || !strings.Contains(out, "1 received") {
		t.Fatalf("exec ping: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "connected:") || strings.Contains(out, "connected:") {
		t.Errorf("the connect's lines belong on stderr, CMD's stdout is its own:\nstdout %s\nstderr %s", out, errOut)
	}
	gone()

	_, _, code = run("sh", "-c", `test -z "$L2V_TEST_PASSWORD" || exit 9; exit 7`)
	if code != 7 {
		t.Errorf("exec sh -c 'exit 7': exit %d, want 7 (9: the password variable reached the command)", code)
	}
	gone()

	marker := filepath.Join(t.TempDir(), "ran")
	bad := append(append([]string{}, conn...), "--password-env", "L2V_WRONG_PW", "--", "touch", marker)
	t.Setenv("L2V_WRONG_PW", "not-the-password")
	_, errOut, code = l2tpvpn(t, l.clientNS, bad...)
	if code != 5 {
		t.Errorf("wrong password: exit %d, want 5 (auth)\n%s", code, errOut)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although the connect failed")
	}

	// A connection already up is used, and stays up afterwards.
	up := append([]string{"connect", "--background"}, conn[1:]...)
	if _, errOut, code := l2tpvpn(t, l.clientNS, up...); code != 0 {
		t.Fatalf("connect --background: exit %d\n%s", code, errOut)
	}
	t.Cleanup(func() { l2tpvpn(t, l.clientNS, "disconnect", "l2v-exec") })
	_, errOut, code = run("ping", "-c", "1", "-W", "3", l.service)
	if code != 0 || !strings.Contains(errOut, "using the running connection") {
		t.Errorf("exec with a running connection: exit %d\n%s", code, errOut)
	}
	if _, _, code := l2tpvpn(t, l.clientNS, "status", "l2v-exec"); code != 0 {
		t.Errorf("the running connection did not stay up (status exit %d)", code)
	}
}
