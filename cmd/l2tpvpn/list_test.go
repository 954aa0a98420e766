package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// profileHome gives the test a profile directory of its own with the
// given profiles, and returns it.
func profileHome(t *testing.T, names ...string) string {
	t.Helper()
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv("SUDO_USER", "")
	old := profileSystemDir
	profileSystemDir = t.TempDir()
	t.Cleanup(func() { profileSystemDir = old })
	dir := filepath.Join(xdg, "l2tpvpn")
	os.MkdirAll(dir, 0o700)
	for _, n := range names {
		body := "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\n"
		if err := os.WriteFile(filepath.Join(dir, n+".toml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Issue 17 point 17: list shows the profiles and which are up.
func TestList(t *testing.T) {
	dir := profileHome(t, "work", "home")
	state := t.TempDir()
	t.Setenv("L2TPVPN_STATE_DIR", state)
	srv, err := listenControl(state, "work", "vpn.example") // answers status: connecting
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	var out, errOut bytes.Buffer
	if code := run([]string{"list"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"NAME", filepath.Join(dir, "home.toml"), filepath.Join(dir, "work.toml")} {
		if !strings.Contains(text, want) {
			t.Errorf("list output lacks %q:\n%s", want, text)
		}
	}
	if !regexpLine(text, "home", "down") || !regexpLine(text, "work", "connecting") {
		t.Errorf("states wrong:\n%s", text)
	}
	out.Reset()
	if code := run([]string{"list", "--json"}, &out, &errOut); code != exitOK {
		t.Fatalf("--json: exit %d", code)
	}
	var all []listEntry
	if err := json.Unmarshal(out.Bytes(), &all); err != nil || len(all) != 2 || all[0].Name != "home" || all[1].State != "connecting" || all[1].PID != os.Getpid() {
		t.Errorf("--json: %v %+v", err, all)
	}
}

func regexpLine(text, name, state string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == name && f[1] == state {
			return true
		}
	}
	return false
}

// up and down are connect and disconnect.
func TestUpDownAliases(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"up", "--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "Usage: l2tpvpn connect") {
		t.Errorf("up --help: exit %d %q", code, out.String())
	}
	if code := run([]string{"down", "--all"}, &out, &errOut); code != exitOK {
		t.Errorf("down --all: exit %d", code)
	}
	if code := run([]string{"up", "--server", "x"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "--user: is required") {
		t.Errorf("up without user: exit %d %q", code, errOut.String())
	}
}

// connect NAME --dry-run checks and prints the settings, secrets redacted,
// and sends and changes nothing (no state directory even).
func TestDryRun(t *testing.T) {
	profileHome(t, "work")
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("L2TPVPN_STATE_DIR", state)
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	var out, errOut bytes.Buffer
	code := run([]string{"connect", "work", "--dry-run", "--route", "10.0.0.0/8"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"nothing was sent", "server          192.0.2.1", "password        [redacted] (from env:L2V_UNIT_PW)",
		"ipsec           off (plain L2TP: traffic is not encrypted)", "routing         split", "route           10.0.0.0/8"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text+errOut.String(), "s3cret-value") {
		t.Error("the password is printed")
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("the dry run created the state directory")
	}
	// A bad setting fails as a connect would.
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	if code := run([]string{"connect", "work", "--dry-run", "--mtu", "99999"}, &out, &errOut); code != exitUsage {
		t.Errorf("bad mtu: exit %d", code)
	}
}

// connect work.toml, with no such file here, is the profile work.
func TestConnectTomlFallsBackToProfile(t *testing.T) {
	dir := profileHome(t, "work")
	t.Chdir(t.TempDir())
	o, err := parseConnect([]string{"work.toml"}, &bytes.Buffer{})
	if err != nil || o.profile == nil || o.profile.Path != filepath.Join(dir, "work.toml") {
		t.Fatalf("work.toml: %v, %+v", err, o)
	}
	// A file of that name here wins.
	os.WriteFile("work.toml", []byte("server = \"192.0.2.9\"\n"), 0o600)
	if o, err := parseConnect([]string{"work.toml"}, &bytes.Buffer{}); err != nil || o.profile.Path != "work.toml" {
		t.Errorf("local work.toml: %v", err)
	}
	if _, err := parseConnect([]string{"nope.toml"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `profile "nope" not found`) {
		t.Errorf("nope.toml: %v", err)
	}
}
