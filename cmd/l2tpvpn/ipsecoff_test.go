package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 17 point 7: flags win over the profile. A profile with a psk and
// --ipsec off on the command line connects without IPsec, and the
// profile's psk is ignored with a note, never read.
func TestIPsecOffIgnoresProfilePSK(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	dir := t.TempDir()
	p := filepath.Join(dir, "work.toml")
	body := "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"env:L2V_UNIT_PW\"\npsk = \"env:L2V_UNIT_PSK_UNSET\"\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	o, err := parseConnect([]string{p, "--ipsec", "off"}, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(&errOut, nil, nil)
	if err != nil {
		t.Fatalf("config: %v (the profile's psk must be ignored with --ipsec off)", err)
	}
	if cfg.IPsec || !cfg.PSK.IsZero() {
		t.Errorf("IPsec %v, PSK set %v; want plain L2TP and no PSK", cfg.IPsec, !cfg.PSK.IsZero())
	}
	if msg := errOut.String(); !strings.Contains(msg, "note: the profile's psk is not used: IPsec is off") {
		t.Errorf("no note on stderr: %q", msg)
	}
}

// --psk with --ipsec=off on the command line is a warning, not an error.
func TestIPsecOffPSKFlagWarns(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	var errOut bytes.Buffer
	o, err := parseConnect([]string{"--ipsec=off", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PSK"}, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(&errOut, nil, nil)
	if err != nil {
		t.Fatalf("config: %v; want a warning only", err)
	}
	if cfg.IPsec || !cfg.PSK.IsZero() {
		t.Error("IPsec on or a PSK set with --ipsec=off")
	}
	msg := errOut.String()
	if !strings.Contains(msg, "warning: --psk is not used with --ipsec off (it is for --ipsec on or strongswan)") {
		t.Errorf("no warning: %q", msg)
	}
	if strings.Contains(msg, "psk-value") || strings.Contains(msg, "s3cret-value") {
		t.Error("a secret in the output")
	}
}

// Messages that list the IPsec modes include strongswan.
func TestIPsecModesListed(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	for _, args := range [][]string{
		{"--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"},
		{"--ipsec=maybe", "--server", "x", "--user", "a", "--password-env", "L2V_UNIT_PW"},
	} {
		t.Setenv("L2V_UNIT_PW", "s3cret-value")
		var out, errOut bytes.Buffer
		if code := run(append([]string{"connect"}, args...), &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "strongswan") {
			t.Errorf("%q: exit %d, %q; want exit 2 and a message naming strongswan", args, code, errOut.String())
		}
	}
}
