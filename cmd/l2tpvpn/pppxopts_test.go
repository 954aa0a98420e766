package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func TestPPPAuthTimeoutOption(t *testing.T) {
	cfg, err := ikeOptsConfig(t)
	if err != nil || cfg.PPPAuthTimeout != 60*time.Second {
		t.Fatalf("default: %v %v, want 60s", cfg.PPPAuthTimeout, err)
	}
	cfg, err = ikeOptsConfig(t, "--ppp-auth-timeout", "2m")
	if err != nil || cfg.PPPAuthTimeout != 2*time.Minute {
		t.Fatalf("--ppp-auth-timeout 2m: %v %v", cfg.PPPAuthTimeout, err)
	}
	for _, bad := range []string{"0s", "500ms", "2h"} {
		if _, err := ikeOptsConfig(t, "--ppp-auth-timeout", bad); err == nil || !strings.Contains(err.Error(), "ppp-auth-timeout") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// The key works in a profile and shows in the dry run.
func TestPPPAuthTimeoutProfile(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	p := filepath.Join(t.TempDir(), "work.toml")
	body := "server = \"192.0.2.1\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\nppp-auth-timeout = \"90s\"\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"connect", "--dry-run", p}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), "1m30s") || !strings.Contains(out.String(), "ppp-auth-timeout") {
		t.Errorf("dry run lacks the timeout:\n%s", out.String())
	}
}

func TestIssue12EventLines(t *testing.T) {
	for _, tc := range []struct {
		ev   vpn.Event
		want string
	}{
		{vpn.Event{Event: vpn.EventAuthWait, Message: vpn.AuthWaitLine}, "waiting for the server to confirm authentication (second factor?)"},
		{vpn.Event{Event: vpn.EventTunnelUp, TunnelID: 1, PeerTunnelID: 2, PeerVendor: "MikroTik", PeerHost: "gw1", PeerFirmware: "0x0605"},
			`l2tp tunnel up (id 1, peer id 2, server "MikroTik", host "gw1", firmware 0x0605)`},
		{vpn.Event{Event: vpn.EventTunnelUp, TunnelID: 1, PeerTunnelID: 2}, "l2tp tunnel up (id 1, peer id 2)"},
		{vpn.Event{Event: vpn.EventIPUp, IP: "10.0.0.2", Peer: "10.0.0.1", WINS: []string{"10.0.0.5"}}, "ppp address 10.0.0.2, peer 10.0.0.1, wins 10.0.0.5"},
	} {
		if got := humanLine(tc.ev); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.ev.Event, got, tc.want)
		}
	}
	if w := waitingFor(vpn.Event{Event: vpn.EventAuthWait}); !strings.Contains(w, "second factor") {
		t.Errorf("waiting for %q", w)
	}
}

func TestStatusShowsServerAndWINS(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, vpn.Status{Name: "work", State: "up", PeerVendor: "MikroTik", PeerHost: "gw1", PeerFirmware: "0x0605", WINS: []string{"10.0.0.5", "10.0.0.6"}})
	for _, want := range []string{`l2tp peer   "MikroTik", host "gw1", firmware 0x0605`, "wins        10.0.0.5 10.0.0.6"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
