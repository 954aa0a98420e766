package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// printedEvent is a --json line as a script reads it.
type printedEvent struct {
	Event    string    `json:"event"`
	V        int       `json:"v"`
	Time     time.Time `json:"time"`
	Name     string    `json:"name"`
	PID      int       `json:"pid"`
	Reason   string    `json:"reason"`
	Error    string    `json:"error"`
	Hint     string    `json:"hint"`
	ExitCode *int      `json:"exit_code"`
}

func jsonLines(t *testing.T, out string) []printedEvent {
	t.Helper()
	var evs []printedEvent
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev printedEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		evs = append(evs, ev)
	}
	return evs
}

// Issue 17 point 12: once --json is parsed, a configuration error ends in
// exactly one down event too, with the time, reason, error and exit code.
func TestJSONConfigErrorEndsWithDown(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	prof := filepath.Join(t.TempDir(), "work.toml")
	os.WriteFile(prof, []byte("server = \"192.0.2.1\"\nusr = \"alice\"\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--json", "--ipsec=off", "--server", "192.0.2.1", "--user", "a"}, "--password: is required"},
		{[]string{"--json", prof}, "did you mean user?"},
		{[]string{"--json", "--background", "--ipsec=maybe", "--server", "192.0.2.1", "--user", "a"}, "not one of on, strongswan, off"},
	} {
		var out, errOut bytes.Buffer
		before := time.Now()
		code := run(append([]string{"connect"}, tc.args...), &out, &errOut)
		if code != exitUsage {
			t.Errorf("%q: exit %d", tc.args, code)
		}
		evs := jsonLines(t, out.String())
		if len(evs) != 1 {
			t.Fatalf("%q: %d events, want one down: %q", tc.args, len(evs), out.String())
		}
		d := evs[0]
		if d.Event != "down" || d.V != vpn.SchemaVersion || d.Time.Before(before.Add(-time.Second)) || d.Reason != "config" ||
			!strings.Contains(d.Error, tc.want) || d.ExitCode == nil || *d.ExitCode != exitUsage {
			t.Errorf("%q: down event %+v; want reason config, the error, exit_code 2, the time", tc.args, d)
		}
	}
}

// The down event of a connection is held back until the command ends, and
// printed once, with the hint and the exit code; up carries name and pid.
func TestJSONDownOnceWithExitCode(t *testing.T) {
	var buf bytes.Buffer
	out := newOutput(&buf, &connectOpts{json: true, name: "work"})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out.event(vpn.Event{Event: vpn.EventUp, Schema: 1, Time: at, IP: "198.51.100.10"})
	out.event(vpn.Event{Event: vpn.EventDown, Schema: 1, Time: at, Reason: "link-lost", Error: "link: gone"})
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines before the end, want only up: %q", n, buf.String())
	}
	out.failure(&vpn.Error{Phase: "link", Reason: vpn.ReasonLinkLost, Hint: "the server went away", Err: errors.New("gone")})
	if code := out.end(exitLinkLost); code != exitLinkLost {
		t.Errorf("end returned %d", code)
	}
	out.end(exitLinkLost) // a second end prints nothing
	evs := jsonLines(t, buf.String())
	if len(evs) != 2 {
		t.Fatalf("%d events: %q", len(evs), buf.String())
	}
	if up := evs[0]; up.Event != "up" || up.Name != "work" || up.PID != os.Getpid() {
		t.Errorf("up event %+v: want name and pid", up)
	}
	d := evs[1]
	if d.Event != "down" || !d.Time.Equal(at) || d.Reason != "link-lost" || d.Error != "link: gone" || d.Hint != "the server went away" ||
		d.ExitCode == nil || *d.ExitCode != exitLinkLost || d.Name != "work" {
		t.Errorf("down event %+v", d)
	}
}

// --background --json: a failed connect prints the child's down event (its
// real time, reason, hint) with the exit code, once.
func TestBackgroundJSONFailure(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	t.Setenv("L2V_FAKE_CHILD", "fails")
	t.Setenv("L2V_UNIT_BG_PW", "pw")
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--background", "--json", "--name", "bgtest", "--ipsec", "off", "--server", "192.0.2.1",
		"--user", "alice", "--password", "env:L2V_UNIT_BG_PW"}, &out, &errOut)
	if code != exitAuth {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitAuth, errOut.String())
	}
	evs := jsonLines(t, out.String())
	if len(evs) != 1 {
		t.Fatalf("%d events, want one down: %q", len(evs), out.String())
	}
	d := evs[0]
	if d.Event != "down" || !d.Time.Equal(fakeChildDownTime) || d.Reason != "auth" || d.Hint != "check the user name and password" ||
		!strings.Contains(d.Error, "authentication failed") || d.ExitCode == nil || *d.ExitCode != exitAuth || d.Name != "bgtest" {
		t.Errorf("down event %+v", d)
	}
}

// A reason for every exit code a connect can end with.
func TestReasonForExit(t *testing.T) {
	for code, want := range map[int]string{exitOK: "none", exitUsage: "config", exitUnreachable: "unreachable", exitAuth: "auth",
		exitHost: "host", exitIPsecDown: "ipsec-unavailable", exitInterrupted: "interrupted", exitPermission: "permission", exitInternal: "internal"} {
		if got := reasonForExit(code); got != want {
			t.Errorf("reasonForExit(%d) = %q, want %q", code, got, want)
		}
	}
}

var fakeChildDownTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeChildFails is the detached half of --background (see TestMain) of a
// connect that failed: it sends what runForeground's ready sends.
func fakeChildFails() int {
	out := newOutput(io.Discard, &connectOpts{json: true, name: "bgtest"})
	out.event(vpn.Event{Event: vpn.EventDown, Schema: vpn.SchemaVersion, Time: fakeChildDownTime, Reason: "auth", Error: "ppp: authentication failed"})
	out.failure(&vpn.Error{Phase: "ppp", Reason: vpn.ReasonAuth, Hint: "check the user name and password", Err: errors.New("authentication failed")})
	d := out.downEvent(exitAuth)
	json.NewEncoder(os.NewFile(readyFD, "ready")).Encode(readyMsg{Exit: exitAuth, Error: "ppp: authentication failed", Down: &d})
	return exitAuth
}
