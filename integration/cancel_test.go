//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// connectingStatus waits until the connection name reports "connecting"
// and returns its status JSON fields of interest.
func connectingStatus(t *testing.T, ns, name string) (server, waitingFor string, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, code := l2tpvpn(t, ns, "status", name, "--json")
		var st struct {
			State      string `json:"state"`
			Server     string `json:"server"`
			WaitingFor string `json:"waiting_for"`
			PID        int    `json:"pid"`
		}
		if code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.State == "connecting" {
			return st.Server, st.WaitingFor, st.PID
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reported connecting (last: exit %d %s)", name, code, out)
		}
		time.Sleep(50 * time.Millisecond) // polling the client's control socket
	}
}

// filteredSE drops what the client sends to SoftEther's port 1702, so a
// connect waits for answers that never come.
func filteredSE(t *testing.T) lab {
	labSE.up(t)
	nftTable(t, labSE.clientNS, "l2v-silent", `
	chain out {
		type filter hook output priority 0;
		udp dport 1702 drop
	}`)
	return lab{clientNS: labSE.clientNS, server: labSE.server + ":1702", service: labSE.service}
}

// Issue 17 point 9: disconnect NAME while NAME is still connecting cancels
// the attempt at once; status shows the server and the step waited for.
func TestDisconnectWhileConnecting(t *testing.T) {
	l := filteredSE(t)
	before := hostState(t, l.clientNS)
	c := startClient(t, l, nil, "--name", "l2v-cx")
	server, waiting, _ := connectingStatus(t, l.clientNS, "l2v-cx")
	if server != l.server || waiting == "" {
		t.Errorf("status while connecting: server %q, waiting for %q", server, waiting)
	}
	t.Logf("status while connecting: server %s, waiting for %s", server, waiting)
	start := time.Now()
	if _, errOut, code := l2tpvpn(t, l.clientNS, "disconnect", "l2v-cx"); code != 0 {
		t.Fatalf("disconnect while connecting: exit %d: %s", code, errOut)
	}
	code := c.wait()
	took := time.Since(start)
	if code != 14 || took > 2*time.Second {
		t.Fatalf("connect ended with exit %d %v after the disconnect; want 14 within 2 s", code, took)
	}
	if ev := c.last("down"); ev.Reason != "interrupted" {
		t.Errorf("down event %+v", ev)
	}
	t.Logf("cancelled in %v", took.Round(time.Millisecond))
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host state changed")
	}
}

// Issue 17 point 8: Ctrl-C on `connect --background` while the detached
// process connects: it stops, undoes, and the parent exits 14.
func TestBackgroundInterrupted(t *testing.T) {
	l := filteredSE(t)
	cmd := exec.Command("ip", "netns", "exec", l.clientNS, bin, "connect", "--background", "--json", "--name", "l2v-bgi",
		"--ipsec=off", "--server", l.server, "--user", user, "--password-env", "L2V_TEST_PASSWORD",
		"--interface", "l2v-bgi0", "--route", l.service+"/32")
	cmd.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+password)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		l2tpvpn(t, l.clientNS, "disconnect", "--cleanup", "l2v-bgi")
	})
	_, _, child := connectingStatus(t, l.clientNS, "l2v-bgi")
	start := time.Now()
	// Ctrl-C reaches the foreground process group: ip, the parent.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the parent did not exit within 5 s of Ctrl-C")
	}
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 14 || took > 2*time.Second {
		t.Fatalf("parent exit %d after %v; want 14 within 2 s", code, took)
	}
	if _, _, code := l2tpvpn(t, l.clientNS, "status", "l2v-bgi"); code != 12 {
		t.Errorf("status after the interrupt: exit %d, want 12 (not running)", code)
	}
	if child > 0 && running(child) {
		t.Errorf("the detached process %d still runs", child)
	}
	t.Logf("interrupted in %v", took.Round(time.Millisecond))
}

// running says whether pid is a live process (not gone, not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: the state follows the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
