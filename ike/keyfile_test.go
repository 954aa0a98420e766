package ike

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Key log files that already exist with a wider mode are narrowed to 0600
// before any key is written; their earlier lines are kept.
func TestKeyLogMode(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"esp_sa", "ikev1_decryption_table"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("earlier line\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	k, err := OpenKeyLog(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	k.ike([8]byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0xaa, 0xbb})
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"esp_sa", "ikev1_decryption_table"} {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, m)
		}
		data, _ := os.ReadFile(p)
		if !strings.HasPrefix(string(data), "earlier line\n") {
			t.Errorf("%s: earlier lines lost: %q", name, data)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "ikev1_decryption_table"))
	if want := "earlier line\n0102030405060708,aabb\n"; string(data) != want {
		t.Errorf("ikev1_decryption_table = %q, want %q", data, want)
	}

	// New files in a new directory: 0600 and 0700.
	sub := filepath.Join(dir, "new")
	k, err = OpenKeyLog(sub, true)
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	for name, want := range map[string]os.FileMode{"": 0o700, "esp_sa": 0o600, "ikev1_decryption_table": 0o600} {
		fi, err := os.Stat(filepath.Join(sub, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("new %q: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}

// A key log path that is not a regular file is refused.
func TestKeyLogNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "esp_sa"), 0o700); err != nil {
		t.Fatal(err)
	}
	if k, err := OpenKeyLog(dir, false); err == nil {
		k.Close()
		t.Fatal("OpenKeyLog with a directory as esp_sa: no error")
	}
}
