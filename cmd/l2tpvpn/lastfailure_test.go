package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// Issue 17 point 15: 'status NAME' of a connection whose last run failed
// (in the background, where nobody saw it) says when and why, exit 12;
// --json carries the record.
func TestStatusOfFailedConnection(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", dir)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rec := `{"time":"2026-03-04T05:06:07Z","reason":"auth","error":"ppp: authentication failed (check the user name and password)","hint":"check the user name and password","exit_code":5}`
	if err := os.WriteFile(dir+"/work.last.json", []byte(rec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"status", "work"}, &out, &errOut)
	want := "work: down since " + at.Local().Format(time.DateTime) + ": auth: ppp: authentication failed (check the user name and password)\n"
	if code != exitNotRunning || out.String() != want {
		t.Errorf("status: exit %d, stdout %q, stderr %q; want %d and %q", code, out.String(), errOut.String(), exitNotRunning, want)
	}
	out.Reset()
	code = run([]string{"status", "work", "--json"}, &out, &errOut)
	var st struct {
		Name, State string
		LastFailure *lastFailure `json:"last_failure"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || code != exitNotRunning || st.Name != "work" || st.State != "down" ||
		st.LastFailure == nil || !st.LastFailure.Time.Equal(at) || st.LastFailure.Reason != "auth" || st.LastFailure.ExitCode != exitAuth ||
		st.LastFailure.Hint != "check the user name and password" {
		t.Errorf("status --json: exit %d, %q (%v)", code, out.String(), err)
	}
	// Another name, without a record: as before.
	out.Reset()
	if code := run([]string{"status", "home"}, &out, &errOut); code != exitNotRunning || out.String() != "home: not running\n" {
		t.Errorf("status home: exit %d, %q", code, out.String())
	}
}

// A run that ends with a failure writes the record (0600, the final down
// event's fields); one that ends cleanly or was interrupted removes it.
func TestRecordEnd(t *testing.T) {
	dir := t.TempDir()
	out := newOutput(io.Discard, &connectOpts{name: "work"})
	before := time.Now()
	out.failure(&vpn.Error{Phase: "l2tp tunnel", Reason: vpn.ReasonUnreachable, Hint: "check the server address", Err: errors.New("l2tp: no answer")})
	recordEnd(dir, "work", out, exitUnreachable)
	fi, err := os.Stat(lastFailurePath(dir, "work"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v, %v; want a 0600 file", fi, err)
	}
	f, err := readLastFailure(dir, "work")
	if err != nil || f == nil || f.Reason != "unreachable" || f.ExitCode != exitUnreachable || f.Hint != "check the server address" ||
		!strings.Contains(f.Error, "no answer") || f.Time.Before(before.Add(-time.Second)) {
		t.Fatalf("record %+v (%v)", f, err)
	}
	if line := downSinceLine("work", f); strings.Count(line, "check the server address") != 1 {
		t.Errorf("the hint twice or never: %q", line)
	}
	for _, code := range []int{exitOK, exitInterrupted} {
		writeLastFailure(dir, "work", *f)
		recordEnd(dir, "work", newOutput(io.Discard, nil), code)
		if f, err := readLastFailure(dir, "work"); f != nil || err != nil {
			t.Errorf("exit %d: the record is still there (%+v, %v)", code, f, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left in the state directory: %v", entries)
	}
}
