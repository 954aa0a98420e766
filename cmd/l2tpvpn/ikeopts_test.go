package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func ikeOptsConfig(t *testing.T, args ...string) (vpn.Config, error) {
	t.Helper()
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	base := []string{"--server", "192.0.2.1", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PSK"}
	o, err := parseConnect(append(base, args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return o.config(&bytes.Buffer{}, nil, nil)
}

func TestIKEOptions(t *testing.T) {
	cfg, err := ikeOptsConfig(t, "--proposals", "legacy", "--esp", "aes128-sha1", "--pfs", "modp2048",
		"--local-id", "key-id:GroupVPN", "--remote-id", "fqdn:vpn.example.com", "--ike-mode", "aggressive",
		"--ike-fragmentation", "force", "--ike-fragment-size", "500", "--sha2-truncbug")
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := ike.LookupProposalPreset("legacy")
	wantIKE, _, _ := legacy.Proposals()
	if ike.FormatIKEProposals(cfg.IKEProposals) != ike.FormatIKEProposals(wantIKE) {
		t.Errorf("ike %s, want the legacy preset's", ike.FormatIKEProposals(cfg.IKEProposals))
	}
	if got := ike.FormatESPProposals(cfg.ESPProposals); got != "aes128-sha1-modp2048" {
		t.Errorf("esp %s: the explicit esp list must win over the preset, with the pfs group", got)
	}
	if cfg.LocalID.String() != "key-id:GroupVPN" || cfg.RemoteID.String() != "fqdn:vpn.example.com" {
		t.Errorf("ids %s / %s", cfg.LocalID, cfg.RemoteID)
	}
	if !cfg.Aggressive || !cfg.SHA2Truncbug || cfg.IKEFragmentation != ike.FragmentForce || cfg.IKEFragmentSize != 500 {
		t.Errorf("aggressive %v truncbug %v fragmentation %v/%d", cfg.Aggressive, cfg.SHA2Truncbug, cfg.IKEFragmentation, cfg.IKEFragmentSize)
	}

	cfg, err = ikeOptsConfig(t, "--esp", "aes128-sha1-modp2048", "--pfs", "auto")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.PFSAuto || cfg.ESPProposals[0].Group != 0 {
		t.Errorf("pfs auto: PFSAuto %v, first offer group %v (want none first)", cfg.PFSAuto, cfg.ESPProposals[0].Group)
	}
	cfg, err = ikeOptsConfig(t, "--esp", "aes128-sha1-modp2048", "--pfs", "none")
	if err != nil || cfg.ESPProposals[0].Group != 0 {
		t.Errorf("pfs none: %v, group %v", err, cfg.ESPProposals)
	}
}

func TestIKEOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pfs", "modp99"}, "--pfs: \"modp99\" is not none, auto or a Diffie-Hellman group"},
		{[]string{"--proposals", "vista"}, "--proposals: "},
		{[]string{"--local-id", "frob:x"}, "--local-id: invalid identity: unknown type \"frob\""},
		{[]string{"--remote-id", "dn:CN"}, "--remote-id: invalid identity"},
		{[]string{"--ike-mode", "quick"}, "--ike-mode: \"quick\" is not main or aggressive"},
		{[]string{"--ike-fragmentation", "yes"}, "--ike-fragmentation: \"yes\" is not auto, force or off"},
		{[]string{"--ike-fragment-size", "10"}, "--ike-fragment-size: 10 is outside"},
	} {
		_, err := ikeOptsConfig(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// In a profile, a bad identity is reported with the file, line and key.
func TestIKEOptionProfileError(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	p := filepath.Join(t.TempDir(), "work.toml")
	body := "server = \"192.0.2.1\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\npsk = \"env:L2V_UNIT_PSK\"\nremote-id = \"dn:CN=\"\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--dry-run", p}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), p+":5: key remote-id:") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
