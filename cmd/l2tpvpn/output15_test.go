package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// Issue 17 point 15: without IPsec a person is told the traffic is not
// encrypted, in the connect output and in status.
func TestPlainL2TPSaysNotEncrypted(t *testing.T) {
	up := vpn.Event{Event: vpn.EventUp, IP: "198.51.100.10", Interface: "l2tp0", MTU: 1400}
	for _, ipsec := range []string{"off", "on", "strongswan"} {
		var buf bytes.Buffer
		out := newOutput(&buf, &connectOpts{ipsec: ipsec, name: "x"})
		out.event(up)
		if got := strings.Contains(buf.String(), "not encrypted"); got != (ipsec == "off") {
			t.Errorf("--ipsec %s: connect output %q", ipsec, buf.String())
		}
	}
	var buf bytes.Buffer
	printStatus(&buf, vpn.Status{Name: "x", State: vpn.StateUp, IPsec: "off"})
	if !strings.Contains(buf.String(), "ipsec       off: plain L2TP, traffic is not encrypted") {
		t.Errorf("status without IPsec:\n%s", buf.String())
	}
}

// The default connection name is the server's host, not "l2tpvpn".
func TestDefaultNameIsServerHost(t *testing.T) {
	for server, want := range map[string]string{
		"vpn.example.com": "vpn.example.com", "192.0.2.1:1701": "192.0.2.1", "[2001:db8::1]:1701": "2001-db8--1",
		"2001:db8::1": "2001-db8--1", "": "l2tpvpn", "a-very-long-host-name.of.some.example.com": "a-very-long-host-name.of.some.ex",
	} {
		if got := nameFromServer(server); got != want || !validName(got) {
			t.Errorf("nameFromServer(%q) = %q, want %q", server, got, want)
		}
	}
	o, err := parseConnect([]string{"--server", "vpn.example.com", "--user", "a"}, &bytes.Buffer{})
	if err != nil || o.name != "vpn.example.com" {
		t.Errorf("connect --server vpn.example.com: name %q, err %v", o.name, err)
	}
}

// disconnect --all with nothing running has nothing to do: exit 0.
func TestDisconnectAllNothingRunning(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"disconnect", "--all"}, &out, &errOut); code != exitOK {
		t.Errorf("disconnect --all: exit %d (%q %q), want 0", code, out.String(), errOut.String())
	}
	if code := run([]string{"disconnect"}, &out, &errOut); code != exitNotRunning {
		t.Errorf("disconnect: exit %d, want %d", code, exitNotRunning)
	}
}
