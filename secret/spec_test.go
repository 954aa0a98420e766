package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The spec forms; the client's cmd/l2tpvpn tests cover the same functions
// through its wrappers.
func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		src  Source
		arg  string
		fail bool
	}{
		{"env:PSK", Env, "PSK", false},
		{"file:/etc/psk", File, "/etc/psk", false},
		{"prompt", Prompt, "", false},
		{"hunter2", Literal, "", false},
		{"env:1X", 0, "", true},
		{"file:", 0, "", true},
		{"", 0, "", true},
	} {
		src, arg, err := ParseSpec(tc.in)
		if (err != nil) != tc.fail || err == nil && (src != tc.src || arg != tc.arg) {
			t.Errorf("ParseSpec(%q) = %v %q %v", tc.in, src, arg, err)
		}
	}
	if Source(7).String() != "Source(7)" || File.String() != "file" {
		t.Error("Source.String")
	}
}

func TestFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(good, []byte(value+"\r\nrest\n"), 0o600)
	os.WriteFile(bad, []byte(value+"\n"), 0o600)
	os.Chmod(bad, 0o644)
	s, err := FromFile("psk", good)
	if err != nil || string(s.Bytes()) != value {
		t.Fatalf("FromFile = %v, %v", s, err)
	}
	_, err = FromFile("psk", bad)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+bad) || leaks(err.Error()) {
		t.Fatalf("FromFile(0644) = %v", err)
	}
	env := func(k string) (string, bool) { return map[string]string{"PSK": value}[k], k == "PSK" }
	if s, err := FromEnv("psk", "PSK", env); err != nil || string(s.Bytes()) != value {
		t.Fatalf("FromEnv = %v", err)
	}
	if _, err := FromEnv("psk", "NOPE", env); err == nil || err.Error() != "psk: environment variable NOPE is not set" {
		t.Fatalf("FromEnv(unset) = %v", err)
	}
}
