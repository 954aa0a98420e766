package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Each script passes its shell's syntax check (bash, zsh and fish are test
// dependencies: scripts/install-deps.sh installs them; a missing shell
// fails the test) and names the hidden helper it asks at run time.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range []struct{ name, check string }{{"bash", "-n"}, {"zsh", "-n"}, {"fish", "--no-execute"}} {
		var out, errOut bytes.Buffer
		if code := run([]string{"completion", sh.name}, &out, &errOut); code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", sh.name, code, errOut.String())
		}
		if !strings.Contains(out.String(), completeCommand+" commands") {
			t.Errorf("%s script does not ask for the commands", sh.name)
		}
		path := filepath.Join(t.TempDir(), "l2tpvpn."+sh.name)
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(sh.name, sh.check, path).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s\n%s", sh.name, sh.check, err, msg, out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"completion", "tcsh"}, &out, &errOut); code != exitUsage {
		t.Errorf("completion tcsh: exit %d", code)
	}
}

// The names the scripts offer: commands, connect's flags (from its flag
// set), and the profiles of the profile directories.
func TestCompletionNames(t *testing.T) {
	names := func(what string) []string {
		var out bytes.Buffer
		if code := run([]string{completeCommand, what}, &out, &bytes.Buffer{}); code != exitOK {
			t.Fatalf("%s %s: exit %d", completeCommand, what, code)
		}
		return strings.Fields(out.String())
	}
	if got := names("commands"); !slices.Contains(got, "connect") || !slices.Contains(got, "serve") || slices.Contains(got, completeCommand) {
		t.Errorf("commands: %v", got)
	}
	if got := names("flags:connect"); !slices.Contains(got, "--server") || !slices.Contains(got, "--psk-env") || slices.Contains(got, "--daemon-child") {
		t.Errorf("connect's flags: %v", got)
	}
	if got := names("flags:exec"); !slices.Contains(got, "--netns") {
		t.Errorf("exec's flags lack --netns: %v", got)
	}
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	os.MkdirAll(filepath.Join(cfg, "l2tpvpn"), 0o700)
	os.WriteFile(filepath.Join(cfg, "l2tpvpn", "work.toml"), nil, 0o600)
	os.WriteFile(filepath.Join(cfg, "l2tpvpn", "notes.txt"), nil, 0o600)
	if got := names("profiles"); !slices.Contains(got, "work") || slices.Contains(got, "notes") {
		t.Errorf("profiles: %v", got)
	}
}

// commandFlags (the commands other than connect, up and exec) match what
// each command's --help documents.
func TestCompletionFlags(t *testing.T) {
	for cmd, flags := range commandFlags {
		if len(flags) == 0 {
			continue
		}
		var out bytes.Buffer
		helpFor(cmd, &out, &bytes.Buffer{})
		for _, f := range flags {
			if !strings.Contains(out.String(), f) {
				t.Errorf("%s: completion offers %s, which its help does not mention", cmd, f)
			}
		}
		for _, w := range strings.Fields(out.String()) {
			w = strings.TrimRight(w, ",")
			if strings.HasPrefix(w, "--") && len(w) > 2 && !strings.ContainsAny(w, "=[]|'\"") && !slices.Contains(flags, w) && w != "--help" {
				t.Errorf("%s: its help has %s, which completion does not offer", cmd, w)
			}
		}
	}
}

// The bash script completes for real: commands, connect's flags and a
// profile name, with `l2tpvpn` on PATH being this test binary.
func TestCompletionBash(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shim := "#!/bin/sh\na=''\nfor x in \"$@\"; do a=\"$a${a:+,}\\\"$x\\\"\"; done\nL2V_TEST_ARGS=\"[$a]\" exec " + self + "\n"
	if err := os.WriteFile(filepath.Join(dir, "l2tpvpn"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	run([]string{"completion", "bash"}, &script, &bytes.Buffer{})
	if err := os.WriteFile(filepath.Join(dir, "l2tpvpn.bash"), script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	os.MkdirAll(filepath.Join(cfg, "l2tpvpn"), 0o700)
	os.WriteFile(filepath.Join(cfg, "l2tpvpn", "work.toml"), nil, 0o600)
	for _, tc := range []struct {
		words string
		want  string
	}{
		{"l2tpvpn conn", "connect"},
		{"l2tpvpn connect --psk-e", "--psk-env"},
		{"l2tpvpn connect wo", "work"},
		{"l2tpvpn completion z", "zsh"},
	} {
		words := strings.Fields(tc.words)
		prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _l2tpvpn; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", prog, "bash", filepath.Join(dir, "l2tpvpn.bash")}, words...)...)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "XDG_CONFIG_HOME=" + cfg, "HOME=" + cfg}
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("%q: %q (%v), want %q", tc.words, out, err, tc.want)
		}
	}
}
