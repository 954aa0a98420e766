package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Issue 17 point 16: under sudo, the invoking user's profile directory is
// looked in after root's own.
func TestSudoProfileDir(t *testing.T) {
	home := func(name string) (string, error) {
		if name == "alice" {
			return "/home/alice", nil
		}
		return "", errors.New("no such user")
	}
	for _, c := range []struct {
		euid int
		user string
		want string
	}{
		{0, "alice", "/home/alice/.config/l2tpvpn"},
		{0, "", ""}, {0, "root", ""}, {0, "bob", ""}, {1000, "alice", ""},
	} {
		if got := sudoProfileDir(c.euid, c.user, home); got != c.want {
			t.Errorf("sudoProfileDir(%d, %q) = %q, want %q", c.euid, c.user, got, c.want)
		}
	}
}

func TestFindProfileUnderSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sudo's fallback applies to root only")
	}
	rootHome, aliceHome, sys := t.TempDir(), t.TempDir(), t.TempDir()
	oldSys, oldHome := profileSystemDir, profileUserHome
	profileSystemDir = sys
	profileUserHome = func(name string) (string, error) {
		if name == "alice" {
			return aliceHome, nil
		}
		return "", errors.New("no such user")
	}
	t.Cleanup(func() { profileSystemDir, profileUserHome = oldSys, oldHome })
	t.Setenv("HOME", rootHome)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("SUDO_USER", "alice")
	alice := filepath.Join(aliceHome, ".config", "l2tpvpn", "work.toml")
	os.MkdirAll(filepath.Dir(alice), 0o700)
	if err := os.WriteFile(alice, []byte("server = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := FindProfile("work"); err != nil || p != alice {
		t.Errorf("sudo: FindProfile = %q, %v; want the invoking user's %s", p, err, alice)
	}
	t.Setenv("SUDO_USER", "")
	if _, err := FindProfile("work"); err == nil {
		t.Error("found the user's profile without sudo")
	}
}
