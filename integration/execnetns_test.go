//go:build integration

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netnsCommand runs l2tpvpn as uid/gid 65534 with no capability (the
// bounding set left as a login's is, unless dropBounding) in the lab's
// client namespace. /dev/net/tun is 0600 on this machine, where udev
// would make it 0666 on a desktop or server: a private mount namespace
// binds a 0666 node of the same device over it, for this process only.
func (e nobodyEnv) netnsCommand(t *testing.T, ns string, dropBounding bool, args ...string) *exec.Cmd {
	t.Helper()
	node := filepath.Join(t.TempDir(), "tun")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, int(10<<8|200)); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	if err := os.Chmod(node, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	priv := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}
	if dropBounding {
		priv = append(priv, "--bounding-set=-all")
	}
	script := `mount --bind "$0" /dev/net/tun && exec "$@"`
	full := append([]string{"netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, node},
		append(append(priv, e.bin), args...)...)
	cmd := exec.Command("ip", full...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "XDG_RUNTIME_DIR=" + e.xdg, "L2V_TEST_PASSWORD=" + password,
		"L2V_TEST_PSK=" + psk, "GORACE=log_path=" + filepath.Join(e.race, "report") + " exitcode=66"}
	return cmd
}

// Issue 13, exec --netns: as uid 65534 without root or capabilities,
// against SoftEther with IPsec. The command runs in a namespace whose only
// way out is the client's TUN device: it keeps its uid, its default route
// is the tunnel, its resolver is the tunnel's DNS, ping and a program that
// knows nothing of proxies (curl without proxy variables) reach the
// service behind the server, and exec returns its status. The client's
// own namespace is unchanged. Then: a bounding set without CAP_NET_ADMIN
// fails before connecting, with the reason; and a disconnect from outside
// while the command runs ends the command (SIGTERM, status 143).
func TestExecNetns(t *testing.T) {
	l := labSE
	l.up(t)
	startInNS(t, l.serverNS, func() bool {
		_, err := inNS(l.serverNS, "curl", "-sf", "-o", "/dev/null", "http://"+l.service+":8080/hello")
		return err == nil
	}, labtool, "http", l.service+":8080")
	e := newNobodyEnv(t)
	before := hostState(t, l.clientNS)
	conn := []string{"exec", "--netns", "--server", l.server, "--user", user, "--password-env", "L2V_TEST_PASSWORD",
		"--psk-env", "L2V_TEST_PSK", "--interface", "l2v-tun0"}

	script := `id -u; echo ---; ip -o link show | cut -d: -f2; echo ---; ip route; echo ---; cat /etc/resolv.conf; echo ---
ping -c 1 -W 3 ` + l.service + ` >/dev/null && echo ping-ok; echo ---
curl -sS --max-time 10 http://` + l.service + `:8080/hello; echo ---
test -z "$L2V_TEST_PASSWORD$L2V_TEST_PSK" || exit 9; exit 7`
	cmd := e.netnsCommand(t, l.clientNS, false, append(append(conn, "--name", "l2v-netns", "--"), "sh", "-c", script)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := exitCodeOf(t, err)
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != 7 {
		t.Fatalf("exec --netns: exit %d, want the command's 7 (9: a secret variable reached the command)", code)
	}
	parts := strings.Split(out.String(), "---\n")
	if len(parts) < 6 {
		t.Fatalf("the command's output is cut short")
	}
	if got := strings.TrimSpace(parts[0]); got != "65534" {
		t.Errorf("the command runs as uid %q, want its own 65534", got)
	}
	if links := strings.Fields(parts[1]); strings.Join(links, " ") != "lo l2v-tun0" {
		t.Errorf("the command's namespace has links %v, want only lo and l2v-tun0", links)
	}
	if !strings.Contains(parts[2], "default dev l2v-tun0") {
		t.Errorf("the command's default route is not the tunnel:\n%s", parts[2])
	}
	if !strings.Contains(parts[3], "nameserver 198.51.100.1") || strings.Contains(parts[3], "192.0.2.") {
		t.Errorf("the command's resolv.conf is not the tunnel's DNS:\n%s", parts[3])
	}
	if !strings.Contains(parts[4], "ping-ok") {
		t.Errorf("ping through the tunnel failed:\n%s", parts[4])
	}
	if !strings.Contains(parts[5], "hello from the l2tpvpn lab") {
		t.Errorf("curl without a proxy did not reach the service:\n%s", parts[5])
	}
	if !strings.Contains(errOut.String(), "connected:") || strings.Contains(out.String(), "connected:") {
		t.Errorf("the client's lines belong on stderr")
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("exec --netns changed the client's namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// A bounding set without CAP_NET_ADMIN (a container that dropped it):
	// no user namespace can give it back; say so before any handshake.
	cmd = e.netnsCommand(t, l.clientNS, true, append(append(conn, "--name", "l2v-netns", "--"), "true")...)
	outb, err := cmd.CombinedOutput()
	if code := exitCodeOf(t, err); code != 15 || !strings.Contains(string(outb), "bounding set lacks CAP_NET_ADMIN") ||
		!strings.Contains(string(outb), "--proxy") || strings.Contains(string(outb), "connecting to") {
		t.Errorf("exec --netns without CAP_NET_ADMIN in the bounding set: exit %d, want 15 before connecting:\n%s", code, outb)
	}

	// The VPN ends first: the command is told (SIGTERM) and exec ends.
	cmd = e.netnsCommand(t, l.clientNS, false, append(append(conn, "--name", "l2v-netns2", "--"), "sleep", "120")...)
	errOut.Reset()
	cmd.Stderr = &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := e.command(l.clientNS, "status", "l2v-netns2")
		if o, err := st.CombinedOutput(); err == nil && strings.Contains(string(o), ": up\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec --netns did not come up:\n%s", errOut.String())
		}
		time.Sleep(200 * time.Millisecond) // polling the status of a process we do not drive
	}
	if o, err := e.command(l.clientNS, "disconnect", "l2v-netns2").CombinedOutput(); err != nil {
		t.Fatalf("disconnect: %v\n%s", err, o)
	}
	select {
	case err := <-ended:
		if code := exitCodeOf(t, err); code != 128+15 {
			t.Errorf("exec after a disconnect from outside: exit %d, want 143 (the command ended by SIGTERM)\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("exec --netns did not end after the disconnect:\n%s", errOut.String())
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("exec --netns changed the client's namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("%v", err)
	return -1
}
