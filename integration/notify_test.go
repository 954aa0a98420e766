//go:build integration

package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notifyListener collects the sd_notify datagrams sent to a socket.
type notifyListener struct {
	path string
	mu   sync.Mutex
	msgs []string
	got  chan string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	n := &notifyListener{path: filepath.Join(t.TempDir(), "notify"), got: make(chan string, 64)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		b := make([]byte, 4096)
		for {
			k, err := c.Read(b)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(b[:k]))
			n.mu.Unlock()
			n.got <- string(b[:k])
		}
	}()
	return n
}

func (n *notifyListener) all() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n--\n")
}

// unitCommand is the unit's ExecStart with the instance name and the
// binary under test filled in.
func unitCommand(t *testing.T, instance string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "contrib", "systemd", "l2tpvpn@.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("the unit has no ExecStart")
	}
	args := strings.Fields(strings.ReplaceAll(m[1], "%i", instance))
	if args[0] != "/usr/bin/l2tpvpn" {
		t.Fatalf("ExecStart runs %s", args[0])
	}
	args[0] = bin
	return args
}

// Issue 16, acceptance 3: the unit's command under a simulated Type=notify
// service manager (NOTIFY_SOCKET at a socket the test reads), against
// l2tpns: STATUS lines per phase, READY=1 only after up, STOPPING=1 on
// SIGTERM and a clean exit; a connect that fails (wrong password, exit 5,
// which the unit does not restart on) sends no READY=1 at all.
func TestSystemdNotify(t *testing.T) {
	l := labL2TPNS
	l.up(t)
	cfg := t.TempDir()
	os.MkdirAll(filepath.Join(cfg, "l2tpvpn"), 0o700)
	profile := "server = \"" + l.server + "\"\nuser = \"alice\"\npassword = \"env:L2V_TEST_PASSWORD\"\nipsec = false\nauth = [\"pap\"]\n" +
		"interface = \"l2v-tun0\"\nroute = [\"" + l.service + "/32\"]\n"
	if err := os.WriteFile(filepath.Join(cfg, "l2tpvpn", "l2v-unit.toml"), []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(pw string) (*exec.Cmd, *notifyListener, chan int) {
		n := listenNotify(t)
		cmd := exec.Command("ip", append([]string{"netns", "exec", l.clientNS}, unitCommand(t, "l2v-unit")...)...)
		cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path, "XDG_CONFIG_HOME="+cfg, "L2V_TEST_PASSWORD="+pw)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		done := make(chan int, 1)
		go func() { done <- exitCodeOf(t, cmd.Wait()) }()
		return cmd, n, done
	}

	cmd, n, done := run(password)
	var statuses []string
	deadline := time.After(30 * time.Second)
	for ready := false; !ready; {
		select {
		case m := <-n.got:
			if strings.Contains(m, "READY=1") {
				ready = true
				// READY only once traffic can flow: the route is there.
				if out, err := inNS(l.clientNS, "ping", "-c", "1", "-W", "3", l.service); err != nil {
					t.Errorf("READY=1 before traffic flows: %v\n%s", err, out)
				}
			}
			statuses = append(statuses, m)
		case code := <-done:
			t.Fatalf("the unit's command exited %d before READY=1; notifications:\n%s", code, n.all())
		case <-deadline:
			t.Fatalf("no READY=1 within 30 s; notifications:\n%s", n.all())
		}
	}
	joined := strings.Join(statuses, "\n")
	for _, want := range []string{"STATUS=connecting: waiting for the server", "STATUS=connecting: waiting for PPP authentication", "STATUS=up: 198.51.100."} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q before READY=1:\n%s", want, joined)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := <-done; code != 0 {
		t.Errorf("after SIGTERM: exit %d, want 0", code)
	}
	if !strings.Contains(n.all(), "STOPPING=1") {
		t.Errorf("no STOPPING=1:\n%s", n.all())
	}

	_, n, done = run("not-the-password")
	if code := <-done; code != 5 {
		t.Errorf("wrong password: exit %d, want 5", code)
	}
	// Everything it sent is in the socket; the last is the failure.
	for failed := false; !failed; {
		select {
		case m := <-n.got:
			failed = strings.Contains(m, "STATUS=failed: ")
		case <-time.After(5 * time.Second):
			t.Fatalf("a failed connect sent no STATUS=failed:\n%s", n.all())
		}
	}
	if all := n.all(); strings.Contains(all, "READY=1") {
		t.Errorf("a failed connect sent READY=1:\n%s", all)
	}
}
