package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// Issue 17 point 15: in the foreground a person sees what a hook printed,
// and a failing hook as a warning on stderr; --json prints the hook event
// as one JSON line.
func TestHookOutputInForeground(t *testing.T) {
	var stdout, stderr bytes.Buffer
	out := newOutput(&stdout, &connectOpts{name: "work", ipsec: "on"})
	out.warn = &stderr
	out.event(vpn.Event{Event: vpn.EventHook, Hook: "up", Output: "route added\nfirewall open"})
	if want := "hook up: route added\nhook up: firewall open\n"; stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("successful hook: stdout %q, stderr %q; want %q", stdout.String(), stderr.String(), want)
	}
	stdout.Reset()
	out.event(vpn.Event{Event: vpn.EventHook, Hook: "down", Output: "a\nb\nc\nd\ne\nf\ng", Error: "exit status 3"})
	want := "l2tpvpn: warning: the down hook failed (exit status 3): a\n  b\n  c\n  d\n  e\n  ... (2 more lines)\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("failing hook: stderr %q, stdout %q; want the warning %q", stderr.String(), stdout.String(), want)
	}
	stderr.Reset()
	out.event(vpn.Event{Event: vpn.EventHook, Hook: "up", Error: "timed out after 30s and was killed"})
	if want := "l2tpvpn: warning: the up hook failed (timed out after 30s and was killed)\n"; stderr.String() != want {
		t.Errorf("silent failing hook: stderr %q, want %q", stderr.String(), want)
	}

	var js bytes.Buffer
	out = newOutput(&js, &connectOpts{name: "work", json: true})
	out.warn = &stderr
	stderr.Reset()
	out.event(vpn.Event{Event: vpn.EventHook, Hook: "up", Output: "x\ny", Error: "exit status 1"})
	lines := strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n")
	var ev struct{ Event, Hook, Output, Error string }
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Event != "hook" || ev.Hook != "up" ||
		ev.Output != "x\ny" || ev.Error != "exit status 1" || stderr.Len() != 0 {
		t.Errorf("--json: stdout %q, stderr %q; want one hook event", js.String(), stderr.String())
	}
}

// --hook-failure and the profile key hook-failure set
// vpn.Config.HookFailureDisconnect; warn is the default; anything else is
// a configuration error naming the key.
func TestHookFailureSetting(t *testing.T) {
	t.Setenv("L2V_UNIT_PW", "pw")
	base := []string{"--server", "192.0.2.1", "--ipsec", "off", "--user", "u", "--password", "env:L2V_UNIT_PW"}
	prof := filepath.Join(t.TempDir(), "work.toml")
	os.WriteFile(prof, []byte("server = \"192.0.2.1\"\nipsec = \"off\"\nuser = \"u\"\npassword = \"env:L2V_UNIT_PW\"\nhook-failure = \"disconnect\"\n"), 0o600)
	for _, tc := range []struct {
		args    []string
		want    bool
		wantErr string
	}{
		{base, false, ""},
		{append([]string{"--hook-failure", "warn"}, base...), false, ""},
		{append([]string{"--hook-failure=disconnect"}, base...), true, ""},
		{[]string{prof}, true, ""},
		{[]string{prof, "--hook-failure", "warn"}, false, ""},
		{append([]string{"--hook-failure", "ignore"}, base...), false, `hook-failure: "ignore" is not warn or disconnect`},
	} {
		t.Setenv("L2V_UNIT_PW", "pw") // removed once read
		o, err := parseConnect(tc.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		cfg, err := o.config(io.Discard, nil, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || cfg.HookFailureDisconnect != tc.want {
			t.Errorf("%q: HookFailureDisconnect %v (%v), want %v", tc.args, cfg.HookFailureDisconnect, err, tc.want)
		}
	}
}
