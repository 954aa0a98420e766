package main

// Permissions, the state directory, stale charon records and cancelling:
// issue 17 points 4, 5, 6, 8 and 9.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// asCommand makes the test binary run as the command itself when
// L2V_TEST_ARGS (a JSON list) is set: how runUnprivileged runs it as
// another user.
func asCommand() (int, bool) {
	a := os.Getenv("L2V_TEST_ARGS")
	if a == "" {
		return 0, false
	}
	var args []string
	if err := json.Unmarshal([]byte(a), &args); err != nil {
		return exitInternal, true
	}
	return run(args, os.Stdout, os.Stderr), true
}

// runUnprivileged runs the command as a user without root or capabilities:
// in this process if the tests run as one, else as nobody (a copy of the
// test binary that nobody may execute).
func runUnprivileged(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if os.Geteuid() != 0 {
		for k, v := range env {
			t.Setenv(k, v)
		}
		var o, e bytes.Buffer
		code = run(args, &o, &e)
		return code, o.String(), e.String()
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "l2v-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "l2tpvpn.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(args)
	cmd := exec.Command(bin)
	cmd.Env = []string{"L2V_TEST_ARGS=" + string(a), "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running as nobody: %v", err)
	}
	return code, o.String(), e.String()
}

func TestTunAllowed(t *testing.T) {
	status := func(capEff string) []byte {
		return []byte("Name:\tl2tpvpn\nCapInh:\t0000000000000000\nCapPrm:\t" + capEff + "\nCapEff:\t" + capEff + "\n")
	}
	for _, c := range []struct {
		euid int
		proc []byte
		want bool
	}{
		{0, nil, true},
		{1000, status("0000000000000000"), false},
		{1000, status("0000000000001000"), true},  // CAP_NET_ADMIN alone
		{1000, status("000001ffffffefff"), false}, // everything but it
		{1000, []byte("CapEff:\tjunk\n"), false},
		{1000, nil, false},
	} {
		if got := tunAllowed(c.euid, c.proc); got != c.want {
			t.Errorf("tunAllowed(%d, %q) = %v, want %v", c.euid, c.proc, got, c.want)
		}
	}
}

// Without root or CAP_NET_ADMIN, connect says so at once, before sending
// anything to the server (here a socket that must stay silent), exit 15.
func TestConnectWithoutPermission(t *testing.T) {
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	code, _, stderr := runUnprivileged(t, map[string]string{"L2TPVPN_STATE_DIR": filepath.Join(os.TempDir(), "l2v-unused"), "L2V_UNIT_PW": "pw"},
		"connect", "--name", "perm", "--server", server.LocalAddr().String(), "--ipsec", "off", "--user", "u", "--password", "env:L2V_UNIT_PW")
	if code != exitPermission || !strings.Contains(stderr, "l2tpvpn needs root or CAP_NET_ADMIN for TUN mode (try sudo") {
		t.Fatalf("exit %d, stderr %q; want %d and the root/CAP_NET_ADMIN message", code, stderr, exitPermission)
	}
	server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := server.ReadFromUDP(make([]byte, 1500)); err == nil {
		t.Errorf("the server got a %d-byte datagram", n)
	}
}

// status and disconnect by a user who may not read the state directory:
// exit 15 and a message saying so, not "no connections running" (exit 0)
// or an internal error (exit 1).
func TestStatusWithoutPermission(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	} // as root: the test's directory is root's, 0700, and nobody runs the command
	env := map[string]string{"L2TPVPN_STATE_DIR": dir}
	for _, args := range [][]string{{"status"}, {"status", "work"}, {"status", "--json"}, {"disconnect", "work"}, {"disconnect"}} {
		code, stdout, stderr := runUnprivileged(t, env, args...)
		if code != exitPermission || !strings.Contains(stderr, "permission denied") || strings.Contains(stdout, "no connections") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and permission denied", args, code, stdout, stderr, exitPermission)
		}
	}
}

// A shared state directory (mode 1777, as /tmp) is left as it is: we use
// a private directory of our own inside it.
func TestSharedStateDirNotChmodded(t *testing.T) {
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	t.Setenv("L2TPVPN_STATE_DIR", shared)
	t.Setenv("L2V_UNIT_PW", "pw")
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		t.Skip("needs root or CAP_NET_ADMIN to get past connect's early check")
	}
	var out, errOut bytes.Buffer
	// The route contains the server: the set-up fails at once, after the
	// control socket is made.
	code := run([]string{"connect", "--name", "shared", "--server", "127.0.0.1", "--ipsec", "off", "--user", "u",
		"--password", "env:L2V_UNIT_PW", "--route", "127.0.0.0/8"}, &out, &errOut)
	if code != exitUsage {
		t.Fatalf("exit %d, stderr %q; want %d (the route contains the server)", code, errOut.String(), exitUsage)
	}
	fi, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSticky) != 0o777|fs.ModeSticky {
		t.Errorf("the shared directory is now %v", fi.Mode())
	}
	own := filepath.Join(shared, fmt.Sprintf("l2tpvpn-%d", os.Geteuid()))
	if fi, err := os.Lstat(own); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("our directory %s: %v, %v; want a 0700 directory", own, fi, err)
	}
	if got, err := privateStateDir(shared, false); got != own || err != nil {
		t.Errorf("status looks in %q (%v), want %q", got, err, own)
	}
}

// A state directory of another user is refused (exit 15), and one inside
// a shared directory that is not ours too.
func TestStateDirOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	theirs := t.TempDir()
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := privateStateDir(theirs, true); !errors.Is(err, errPermission) || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("another user's directory: %v", err)
	}
	shared := t.TempDir()
	os.Chmod(shared, 0o777|fs.ModeSticky)
	planted := filepath.Join(shared, "l2tpvpn-0")
	os.Mkdir(planted, 0o700)
	os.Chown(planted, 65534, 65534)
	if _, err := privateStateDir(shared, true); !errors.Is(err, errPermission) {
		t.Errorf("a planted directory in a shared one: %v", err)
	}
	t.Setenv("L2TPVPN_STATE_DIR", theirs)
	t.Setenv("L2V_UNIT_PW", "pw")
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--name", "x", "--server", "192.0.2.1", "--ipsec", "off", "--user", "u", "--password", "env:L2V_UNIT_PW"}, &out, &errOut)
	if code != exitPermission || !strings.Contains(errOut.String(), "not to you") {
		t.Errorf("connect: exit %d, stderr %q", code, errOut.String())
	}
}

// disconnect --cleanup of a record left by a delegated run whose charon
// is gone too: the record is removed, said so, exit 0.
func TestCleanupStaleCharonRecord(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	rec := filepath.Join(dir, "work.charon.json")
	if err := os.WriteFile(rec, []byte(`{"socket":"`+filepath.Join(dir, "no-charon.vici")+`","conn":"l2tpvpn-work"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"disconnect", "--cleanup", "work"}, &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), "charon is not running") || !strings.Contains(out.String(), "removed the record") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(rec); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the record is still there (%v)", err)
	}
}

// disconnect NAME while NAME waits for a silent server: status answers
// with the server and the step waited for, and the disconnect stops the
// attempt at once (exit 14 for the connect, 0 for the disconnect).
func TestDisconnectWhileConnecting(t *testing.T) {
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		t.Skip("needs root or CAP_NET_ADMIN to get past connect's early check")
	}
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_UNIT_PW", "pw")
	res := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		res <- run([]string{"connect", "--name", "slow", "--server", server.LocalAddr().String(), "--ipsec", "off",
			"--user", "u", "--password", "env:L2V_UNIT_PW"}, &out, &errOut)
	}()
	if _, _, err := server.ReadFromUDP(make([]byte, 1500)); err != nil { // the SCCRQ
		t.Fatal(err)
	}
	st, err := queryStatus(dir, "slow")
	if err != nil {
		t.Fatalf("status while connecting: %v", err)
	}
	if st.State != vpn.StateConnecting || st.Server != server.LocalAddr().String() || st.WaitingFor == "" {
		t.Errorf("status while connecting: state %q server %q waiting for %q", st.State, st.Server, st.WaitingFor)
	}
	var sb bytes.Buffer
	printStatus(&sb, st)
	if !strings.Contains(sb.String(), "waiting for") {
		t.Errorf("status text:\n%s", sb.String())
	}
	start := time.Now()
	var dout, derr bytes.Buffer
	if code := run([]string{"disconnect", "slow", "--timeout", "5s"}, &dout, &derr); code != exitOK {
		t.Errorf("disconnect: exit %d, stderr %q", code, derr.String())
	}
	select {
	case code := <-res:
		if code != exitInterrupted {
			t.Errorf("connect: exit %d, want %d; stderr %q", code, exitInterrupted, errOut.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("connect still running 2 s after the disconnect")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("connect output %q", out.String())
	}
}

// fakeChildAwaitSignal is the detached half for TestBackgroundInterrupt:
// it says it is waiting through the FIFO L2V_FIFO, and once interrupted
// answers as an interrupted connect does.
func fakeChildAwaitSignal() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	readSecretsFD()
	f, err := os.OpenFile(os.Getenv("L2V_FIFO"), os.O_WRONLY, 0)
	if err != nil {
		return exitInternal
	}
	io.WriteString(f, "waiting\n")
	f.Close()
	<-ctx.Done()
	json.NewEncoder(os.NewFile(readyFD, "ready")).Encode(readyMsg{Exit: exitInterrupted, Error: "l2tp tunnel: interrupted before the connection was up"})
	return exitInterrupted
}

// Ctrl-C on connect --background reaches the detached half, which stops;
// the foreground half exits 14 at once.
func TestBackgroundInterrupt(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_FAKE_CHILD", "await-signal")
	t.Setenv("L2V_FIFO", fifo)
	t.Setenv("L2V_UNIT_PW", "pw")
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		t.Skip("needs root or CAP_NET_ADMIN to get past connect's early check")
	}
	res := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		res <- run([]string{"connect", "--background", "--name", "bgint", "--server", "192.0.2.1", "--ipsec", "off",
			"--user", "u", "--password", "env:L2V_UNIT_PW"}, &out, &errOut)
	}()
	f, err := os.Open(fifo) // until the child has its handler
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(f)
	f.Close()
	start := time.Now()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-res:
		if code != exitInterrupted {
			t.Errorf("exit %d, want %d; stdout %q stderr %q", code, exitInterrupted, out.String(), errOut.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("connect --background still waiting 2 s after Ctrl-C")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// Status asked for between the control socket's creation and the first
// attempt's "connecting" event names the configured server and a step,
// not empty fields (the integration test TestDisconnectWhileConnecting saw
// both empty once, under load).
func TestStatusBeforeFirstAttempt(t *testing.T) {
	dir := t.TempDir()
	srv, err := listenControl(dir, "early", "vpn.example:1702")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	st, err := queryStatus(dir, "early")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != vpn.StateConnecting || st.Server != "vpn.example:1702" || st.WaitingFor == "" {
		t.Errorf("status before the first attempt: state %q server %q waiting for %q", st.State, st.Server, st.WaitingFor)
	}
	srv.progress(vpn.Event{Event: vpn.EventConnecting, Server: "192.0.2.1:1702"})
	if st, _ := queryStatus(dir, "early"); st.Server != "192.0.2.1:1702" || !strings.Contains(st.WaitingFor, "IKE phase 1") {
		t.Errorf("status after connecting: server %q waiting for %q", st.Server, st.WaitingFor)
	}
}
