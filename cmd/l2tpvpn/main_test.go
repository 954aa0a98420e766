package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func TestExitCodes(t *testing.T) {
	cases := map[vpn.Reason]int{
		vpn.ReasonNone: 0, vpn.ReasonInternal: 1, vpn.ReasonConfig: 2, vpn.ReasonUnreachable: 3,
		vpn.ReasonRefused: 4, vpn.ReasonAuth: 5, vpn.ReasonLinkLost: 6, vpn.ReasonNegotiation: 7, vpn.ReasonHost: 8,
		vpn.ReasonIKENoResponse: 9, vpn.ReasonIKENoProposal: 10, vpn.ReasonIKEAuth: 11, vpn.ReasonIPsecUnavailable: 13,
	}
	for r, want := range cases {
		var err error
		if r != vpn.ReasonNone {
			err = &vpn.Error{Phase: "x", Reason: r, Err: errors.New("y")}
		}
		if got := exitCode(err); got != want {
			t.Errorf("exitCode(%v) = %d, want %d", r, got, want)
		}
	}
	if got := exitCode(errors.New("plain")); got != exitInternal {
		t.Errorf("exitCode(plain error) = %d, want %d", got, exitInternal)
	}
}

// Usage errors exit 2 with a message that names the problem and never the secret.
func TestConnectUsageErrors(t *testing.T) {
	// A state directory of its own: a real connection on this host must not
	// change the answers.
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ipsec=off", "--user", "a", "--password-env", "L2V_UNIT_PW"}, "--server: is required"},
		{[]string{"--ipsec=off", "--server", "x", "--password-env", "L2V_UNIT_PW"}, "--user: is required"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a"}, "--password: is required"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNSET_VAR"}, "L2V_UNSET_VAR is not set"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-file", empty}, "is empty"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--password-file", empty}, "exclusive"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"}, "ipsec = off"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--ike", "aes256-sha7-modp2048"}, "sha7"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--ike", "aes128-sha1-modp768"}, "1024"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--esp", "aes128-sha1,aes128-sha1-modp2048"}, "PFS"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--esp-mode", "beet"}, "--esp-mode"},
		{[]string{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--wireshark-keys", "/tmp/x"}, "needs -v"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--wireshark-keys", "/tmp/x", "-v"}, "--wireshark-keys: needs the built-in IPsec"},
		{[]string{"--ipsec=maybe", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"}, "not one of on, strongswan, off"},
		{[]string{"--ipsec=strongswan", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"}, "pre-shared key"},
		{[]string{"--ipsec=strongswan", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--local-port", "4000"}, "port 1701"},
		{[]string{"--ipsec=strongswan", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "-v", "--wireshark-keys", "/tmp/x"}, "charon keeps its keys"},
		{[]string{"--ipsec=on", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PW", "--vici-socket", "/tmp/c.vici"}, "needs ipsec strongswan"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--auth", "pap,eap"}, "--auth"},
		{[]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--route", "10.0.0.0/33"}, "--route"},
		{[]string{"--no-such-flag"}, "unknown flag"},
	}
	for _, tc := range cases {
		t.Setenv("L2V_UNIT_PW", "s3cret-value") // a run that reads it removes it
		var out, errOut bytes.Buffer
		code := run(append([]string{"connect"}, tc.args...), &out, &errOut)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: stderr %q does not contain %q", tc.args, errOut.String(), tc.want)
		}
		if strings.Contains(out.String()+errOut.String(), "s3cret-value") {
			t.Errorf("%v: the password appears in the output", tc.args)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "l2tpvpn ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Exit codes") {
		t.Errorf("help: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"connect", "--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--password-env") {
		t.Errorf("connect --help: %d %q", code, out.String())
	}
	if code := run([]string{"bogus"}, &out, &errOut); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestHumanLines(t *testing.T) {
	up := humanLine(vpn.Event{Event: vpn.EventUp, IP: "198.51.100.10", Interface: "l2tp0", DNS: []string{"198.51.100.1"}, MTU: 1400})
	if want := "connected: 198.51.100.10 via l2tp0, dns 198.51.100.1, mtu 1400"; up != want {
		t.Errorf("up line %q, want %q", up, want)
	}
	if s := humanLine(vpn.Event{Event: vpn.EventUp, IP: "a", Interface: "b", MTU: 1}); !strings.Contains(s, "dns none") {
		t.Errorf("up line without DNS: %q", s)
	}
}

// Acceptance 6 of issue 4: one clear error naming the file, line and key.
func TestProfileErrors(t *testing.T) {
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	cases := []struct {
		name, body, want string
	}{
		{"unknown key", "server = \"192.0.2.1\"\nuser = \"alice\"\npasword = \"env:L2V_UNIT_PW\"\n", ":3: key pasword: unknown key; did you mean password?"},
		{"bad address", "server = \"192.0.2.300\"\nuser = \"alice\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\n", ":1: key server: \"192.0.2.300\" is not a valid IPv4 address"},
		{"missing password", "server = \"192.0.2.1\"\nuser = \"alice\"\nipsec = \"off\"\n", ": key password: is required"},
		{"bad prefix", "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\n\nroute = [\"10.0.0.0/33\"]\n", ":6: key route:"},
		{"world-readable literal", "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"s3cret-value\"\nipsec = \"off\"\n", "chmod 600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("L2V_UNIT_PW", "s3cret-value")
			p := filepath.Join(t.TempDir(), "work.toml")
			mode := os.FileMode(0o600)
			if tc.name == "world-readable literal" {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(tc.body), mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, mode)
			var out, errOut bytes.Buffer
			code := run([]string{"connect", p}, &out, &errOut)
			msg := errOut.String()
			if code != exitUsage || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, msg, tc.want)
			}
			if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("more than one line: %q", msg)
			}
			if !strings.Contains(msg, p) {
				t.Errorf("the error does not name the file: %q", msg)
			}
			if strings.Contains(out.String()+msg, "s3cret-value") {
				t.Errorf("the secret appears in the output")
			}
		})
	}
}
