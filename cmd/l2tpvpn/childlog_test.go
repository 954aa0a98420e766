package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// Issue 17 point 15: the detached half's log holds one format, slog's text
// records: the person-readable lines are not repeated in it, and plain
// lines on stderr become records.
func TestChildLogOneFormat(t *testing.T) {
	var log bytes.Buffer
	stdout, stderr := childOutputs(&log)
	out := newOutput(stdout, &connectOpts{name: "work", ipsec: "off"})
	stderr = out.errorLines(stderr)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	out.event(vpn.Event{Event: vpn.EventConnecting, Server: "192.0.2.1:1701", Local: "192.0.2.2:40000"})
	logger.Info("connecting", "server", "192.0.2.1:1701")
	out.event(vpn.Event{Event: vpn.EventHook, Hook: "up", Output: "hello"})
	io.WriteString(stderr, "l2tpvpn: warning: something odd\n")
	io.WriteString(stderr, "l2tpvpn: control socket: ")
	io.WriteString(stderr, "address in use\n")
	out.failure(&vpn.Error{Phase: "l2tp tunnel", Reason: vpn.ReasonUnreachable, Err: errors.New("no answer")})
	logger.Info("down", "reason", "unreachable")
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("not a log record: %q", l)
		}
	}
	for _, want := range []string{`level=INFO msg=connecting`, `level=WARN msg="l2tpvpn: warning: something odd"`,
		`level=ERROR msg="l2tpvpn: control socket: address in use"`, `level=INFO msg=down`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d lines, want 4:\n%s", len(lines), log.String())
	}
}

// The real detached half (the test binary run as the command): what it
// writes to its log, here for a set-up that fails at once, is only records.
func TestBackgroundLogOneFormat(t *testing.T) {
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		t.Skip("needs root or CAP_NET_ADMIN to get past connect's early check")
	}
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_FAKE_CHILD", "real")
	t.Setenv("L2V_UNIT_PW", "pw")
	var out, errOut bytes.Buffer
	// The route contains the server: the set-up fails before it sends.
	code := run([]string{"connect", "--background", "--name", "bglog", "--server", "127.0.0.1", "--ipsec", "off", "--user", "u",
		"--password", "env:L2V_UNIT_PW", "--route", "127.0.0.0/8"}, &out, &errOut)
	if code != exitUsage {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %d", code, out.String(), errOut.String(), exitUsage)
	}
	_, path, ok := strings.Cut(out.String(), "log: ")
	if !ok {
		t.Fatalf("no log path in %q", out.String())
	}
	b, err := os.ReadFile(strings.TrimSpace(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("not a log record: %q", l)
		}
	}
	if !strings.Contains(string(b), "level=INFO msg=down reason=config") {
		t.Errorf("the failure is not in the log:\n%s", b)
	}
	// Point 4: status says when and why it failed.
	out.Reset()
	if code := run([]string{"status", "bglog"}, &out, &errOut); code != exitNotRunning ||
		!strings.Contains(out.String(), "bglog: down since ") || !strings.Contains(out.String(), ": config: route 127.0.0.0/8 contains the server") {
		t.Errorf("status: exit %d, %q", code, out.String())
	}
}
