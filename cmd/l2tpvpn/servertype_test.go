package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// Every server type loads into a valid configuration, and what it sets
// reaches the configuration.
func TestServerTypesLoad(t *testing.T) {
	for _, name := range serverTypeNames() {
		st := serverTypes[name]
		if st.About == "" || st.Source == "" {
			t.Errorf("%s: about and source are required", name)
		}
		cfg, err := ikeOptsConfig(t, "--server-type", name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, s := range st.Sets {
			switch s.Key {
			case "ike":
				if got := ike.FormatIKEProposals(cfg.IKEProposals); got != s.Value {
					t.Errorf("%s: ike %s, want %s", name, got, s.Value)
				}
			case "esp":
				if got := ike.FormatESPProposals(cfg.ESPProposals); got != s.Value {
					t.Errorf("%s: esp %s, want %s", name, got, s.Value)
				}
			case "auth":
				want, _ := ppp.ParseAuthMethods(s.Value)
				if !slices.Equal(cfg.Auth, want) {
					t.Errorf("%s: auth %v, want %v", name, cfg.Auth, want)
				}
			case "mru":
				if cfg.MRU != 1450 {
					t.Errorf("%s: mru %d", name, cfg.MRU)
				}
			case "pfs":
				if cfg.PFSAuto != (s.Value == "auto") {
					t.Errorf("%s: pfs auto %v, want %s", name, cfg.PFSAuto, s.Value)
				}
			}
		}
	}
	// meraki, spelled out: the "3DES/AES-SHA1, PFS off, PAP".
	cfg, err := ikeOptsConfig(t, "--server-type", "Meraki")
	if err != nil {
		t.Fatal(err)
	}
	if ike.FormatIKEProposals(cfg.IKEProposals) != "3des-sha1-modp1024,aes128-sha1-modp1024" ||
		cfg.ESPProposals[0].Group != 0 || !slices.Equal(cfg.Auth, []ppp.AuthMethod{ppp.AuthPAP}) {
		t.Errorf("meraki: ike %s, esp %s, auth %v", ike.FormatIKEProposals(cfg.IKEProposals), ike.FormatESPProposals(cfg.ESPProposals), cfg.Auth)
	}
}

// Explicit settings win over the server type's, from the command line and
// from a profile; an explicit proposals preset keeps its ike and esp lists.
func TestServerTypeExplicitWins(t *testing.T) {
	cfg, err := ikeOptsConfig(t, "--server-type", "meraki", "--auth", "chap", "--esp", "aes256-sha1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Auth, []ppp.AuthMethod{ppp.AuthCHAPMD5}) || ike.FormatESPProposals(cfg.ESPProposals) != "aes256-sha1" ||
		ike.FormatIKEProposals(cfg.IKEProposals) != "3des-sha1-modp1024,aes128-sha1-modp1024" {
		t.Errorf("flags over meraki: auth %v esp %s ike %s", cfg.Auth, ike.FormatESPProposals(cfg.ESPProposals), ike.FormatIKEProposals(cfg.IKEProposals))
	}
	cfg, err = ikeOptsConfig(t, "--server-type", "meraki", "--proposals", "modern")
	if err != nil {
		t.Fatal(err)
	}
	modern, _ := ike.LookupProposalPreset("modern")
	if ike.FormatIKEProposals(cfg.IKEProposals) != modern.IKE {
		t.Errorf("proposals modern with meraki: ike %s, want modern's", ike.FormatIKEProposals(cfg.IKEProposals))
	}

	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	p := filepath.Join(t.TempDir(), "work.toml")
	body := "server = \"192.0.2.1\"\nserver-type = \"mikrotik\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\npsk = \"env:L2V_UNIT_PSK\"\nmru = 1400\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseConnect([]string{p}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = o.config(&bytes.Buffer{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MRU != 1400 || !cfg.PFSAuto {
		t.Errorf("profile mru 1400 over mikrotik's 1450: mru %d, pfs auto %v", cfg.MRU, cfg.PFSAuto)
	}
	if slices.Contains(o.fromPreset, "mru") || !slices.Contains(o.fromPreset, "pfs") {
		t.Errorf("filled in by the preset: %v", o.fromPreset)
	}
}

func TestServerTypeErrors(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	p := filepath.Join(t.TempDir(), "work.toml")
	if err := os.WriteFile(p, []byte("server = \"192.0.2.1\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\nserver-type = \"zyxel\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "--dry-run", p}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), p+":4: key server-type: unknown server type \"zyxel\" (known: cisco-ios,") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// l2tpvpn presets lists every server type with what it sets and its source.
func TestPresetsListsServerTypes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"presets"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, name := range serverTypeNames() {
		st := serverTypes[name]
		if !strings.Contains(out.String(), "\n"+name+": "+st.About+"\n") || !strings.Contains(out.String(), "  source: "+st.Source+"\n") {
			t.Errorf("%s missing or without its source", name)
		}
		for _, s := range st.Sets {
			if !strings.Contains(out.String(), "  "+s.Key+" = "+s.Value+"\n") {
				t.Errorf("%s: %s = %s not listed", name, s.Key, s.Value)
			}
		}
	}
	out.Reset()
	if code := run([]string{"presets", "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("--json exit %d", code)
	}
	var v struct {
		ServerTypes []struct {
			Name, About, Source string
			Sets                map[string]string
		} `json:"server_types"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.ServerTypes) != len(serverTypes) {
		t.Fatalf("--json: %v, %d server types", err, len(v.ServerTypes))
	}
	for _, st := range v.ServerTypes {
		if st.Name == "meraki" && (st.Sets["auth"] != "pap" || st.Sets["pfs"] != "none") {
			t.Errorf("meraki in JSON: %+v", st)
		}
	}
}
