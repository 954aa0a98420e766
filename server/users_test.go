package server

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// RFC 2759 section 9.2: the NT hash of "clientPass".
const clientPassHash = "44EBBA8D5312B8D611474411F56989AE"

func TestHashPassword(t *testing.T) {
	if got := HashPassword("clientPass"); got != clientPassHash {
		t.Fatalf("HashPassword(clientPass) = %s, want %s", got, clientPassHash)
	}
}

const usersBody = `
[users.alice]
nt-hash = "44ebba8d5312b8d611474411f56989ae"
address = "198.51.100.7"

[users.bob]
password = "Zq9-bob-password"

[users.'CORP\carol']
password = "Zq9-carol-corp"

[users.carol]
nt_hash = "` + clientPassHash + `"   # '_' reads as '-'
`

func TestLoadUsers(t *testing.T) {
	u, err := LoadUsers(writeFile(t, t.TempDir(), "users.toml", usersBody, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 4 {
		t.Fatalf("Len = %d", u.Len())
	}
	hash := ppp.NTPasswordHash(secret.FromString("clientPass"))
	for _, tc := range []struct {
		name, entry string
		password    string // "" = hash only
		fixed       string
	}{
		{"alice", "alice", "", "198.51.100.7"},
		{"EXAMPLE\\alice", "alice", "", "198.51.100.7"},
		{"alice@example.com", "alice", "", "198.51.100.7"},
		{"EXAMPLE\\alice@example.com", "alice", "", "198.51.100.7"},
		{"bob", "bob", "Zq9-bob-password", ""},
		{"CORP\\carol", "CORP\\carol", "Zq9-carol-corp", ""}, // the full name wins
		{"OTHER\\carol", "carol", "", ""},
		{"carol", "carol", "", ""},
		{"Alice", "", "", ""}, // exact case
		{"mallory", "", "", ""},
		{"alice\\", "", "", ""},
		{"@alice", "", "", ""},
		{"", "", "", ""},
	} {
		cred, fixed, ok := u.Lookup(tc.name)
		entry, _ := u.Name(tc.name)
		if ok != (tc.entry != "") || entry != tc.entry {
			t.Errorf("Lookup(%q): ok %v entry %q, want %q", tc.name, ok, entry, tc.entry)
			continue
		}
		if !ok {
			continue
		}
		if tc.password != "" {
			if string(cred.Password.Bytes()) != tc.password || !cred.NTHash.IsZero() {
				t.Errorf("Lookup(%q): wrong credential", tc.name)
			}
		} else if string(cred.NTHash.Bytes()) != string(hash.Bytes()) || !cred.Password.IsZero() {
			t.Errorf("Lookup(%q): NT hash differs from RFC 2759's for clientPass", tc.name)
		}
		if want := tc.fixed; (want == "" && fixed.IsValid()) || (want != "" && fixed != addr(want)) {
			t.Errorf("Lookup(%q): fixed %v, want %q", tc.name, fixed, want)
		}
	}
	if got := fmt.Sprint(u.Addresses()); got != "[198.51.100.7]" {
		t.Errorf("Addresses = %s", got)
	}
}

// The file must be private; the message gives the mode and the fix.
func TestUsersFileMode(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o610, 0o601, 0o700} {
		path := writeFile(t, dir, fmt.Sprintf("u%o.toml", mode), usersBody, mode)
		_, err := LoadUsers(path)
		if mode == 0o700 {
			if err != nil {
				t.Errorf("mode 0700: %v", err)
			}
			continue
		}
		want := fmt.Sprintf("server: %s: has mode %04o, but it holds passwords: only its owner may have access (chmod 600 %s)", path, mode, path)
		if err == nil || err.Error() != want {
			t.Errorf("mode %04o: %v\nwant %s", mode, err, want)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if _, err := LoadUsers(writeFile(t, dir, fmt.Sprintf("ok%o.toml", mode), usersBody, mode)); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	// Owned by another user: refused even for root.
	for _, tc := range []struct{ uid, euid int }{{1001, 1000}, {1000, 0}} {
		err := usersFilePrivate("/u", 0o600, tc.uid, tc.euid)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("belongs to another user (uid %d; you are uid %d)", tc.uid, tc.euid)) {
			t.Errorf("owner %d, euid %d: %v", tc.uid, tc.euid, err)
		}
	}
	for _, tc := range []struct{ uid, euid int }{{1000, 1000}, {0, 1000}, {-1, 0}} {
		if err := usersFilePrivate("/u", 0o600, tc.uid, tc.euid); err != nil {
			t.Errorf("owner %d, euid %d: %v", tc.uid, tc.euid, err)
		}
	}
}

// Errors locate the problem and never show a password or a hash.
func TestLoadUsersErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown field", "[users.alice]\npasword = \"Zq9-secret\"\n", `:2: key users.alice.pasword: unknown key; did you mean password?`},
		{"unknown far", "[users.alice]\nshell = \"/bin/sh\"\n", `:2: key users.alice.shell: unknown key`},
		{"unknown top", "[groups.admins]\n", `:1: key groups.admins: unknown key; users are tables [users.NAME]`},
		{"top value", "users = \"alice\"\n", `:1: key users: want tables [users.NAME]`},
		{"array table", "[[users]]\nname = \"alice\"\n", `:1: key users: want tables [users.NAME], not [[users]]`},
		{"user value", "[users]\nalice = \"Zq9-secret\"\n", `:2: key users.alice: want a table [users.NAME] with password or nt-hash`},
		{"too deep", "[users.alice.password]\nx = \"Zq9-secret\"\n", `:2: key users.alice.password.x: unknown key`},
		{"inline unknown", "[users]\nalice = { password = \"Zq9-secret\", uid = 5 }\n", `:2: key users.alice.uid: unknown key`},
		{"no users", "# nobody\n", `: no users`},
		{"empty users", "[users]\n", `:1: no users`},
		{"no credential", "[users.alice]\naddress = \"198.51.100.7\"\n", `:1: key users.alice: give password or nt-hash`},
		{"both", "[users.alice]\npassword = \"Zq9-secret\"\nnt-hash = \"" + clientPassHash + "\"\n", `:1: key users.alice: give password or nt-hash, not both`},
		{"short hash", "[users.alice]\nnt-hash = \"44EBBA8D5312B8D6\"\n", `:2: key users.alice.nt-hash: want 32 hex digits`},
		{"bad hash", "[users.alice]\nnt-hash = \"Zq9-secretZq9-secretZq9-secret12\"\n", `:2: key users.alice.nt-hash: want 32 hex digits`},
		{"password type", "[users.alice]\npassword = 12345\n", `:2: key users.alice.password: want a string, not an integer`},
		{"password empty", "[users.alice]\npassword = \"\"\n", `:2: key users.alice.password: want 1 to 255 bytes`},
		{"password long", "[users.alice]\npassword = \"" + strings.Repeat("Zq9-secret", 26) + "\"\n", `:2: key users.alice.password: want 1 to 255 bytes`},
		{"address", "[users.alice]\npassword = \"Zq9-secret\"\naddress = \"198.51.100\"\n", `:3: key users.alice.address: "198.51.100" is not an IP address`},
		{"address v6", "[users.alice]\npassword = \"Zq9-secret\"\naddress = \"2001:db8::7\"\n", `:3: key users.alice.address: 2001:db8::7: IPCP hands out IPv4 addresses only`},
		{"address shared", "[users.alice]\npassword = \"Zq9-secret\"\naddress = \"198.51.100.7\"\n[users.bob]\npassword = \"Zq9-secret\"\naddress = \"198.51.100.7\"\n", `:6: key users.bob.address: 198.51.100.7 is also the address of user alice`},
		{"control char", "[users.\"a\\u0001\"]\npassword = \"Zq9-secret\"\n", `:1: key users."a\x01": a user name has no control characters`},
		{"syntax", "[users.alice]\npassword = \"Zq9-secret\n", `:2: syntax error (not shown: it may quote a secret)`},
		{"duplicate", "[users.alice]\npassword = \"Zq9-secret\"\n[users.alice]\n", `:3: syntax error (not shown: it may quote a secret)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "users.toml", tc.body, 0o600)
			_, err := LoadUsers(path)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			prefix := "server: " + path
			if msg := err.Error(); !strings.HasPrefix(msg, prefix+tc.want) {
				t.Fatalf("error\n%s\nwant prefix\n%s%s", msg, prefix, tc.want)
			}
			for _, leak := range []string{"Zq9-secret", "44EBBA8D", "44ebba8d"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

// A bad new file keeps the users read before; a good one replaces them,
// and the pool's reservations follow.
func TestUsersFileReload(t *testing.T) {
	dir := t.TempDir()
	pool, err := NewPool("198.51.100.0/24", addr("198.51.100.1"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, dir, "users.toml", usersBody, 0o600)
	f, err := OpenUsers(path, pool)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path() != path || f.Users().Len() != 4 {
		t.Fatal("OpenUsers")
	}
	// alice's .7 is reserved: dynamic allocation never hands it out.
	for range 253 - 1 {
		if a, err := pool.Acquire("x", netip.Addr{}); err != nil || a == addr("198.51.100.7") {
			t.Fatalf("Acquire = %v, %v", a, err)
		}
	}
	if _, err := pool.Acquire("x", netip.Addr{}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("pool not exhausted: %v", err)
	}
	if a, err := pool.Acquire("alice", addr("198.51.100.7")); err != nil || a != addr("198.51.100.7") {
		t.Fatalf("alice's fixed address: %v, %v", a, err)
	}

	bad := []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"syntax", "[users.alice\n", 0o600, "syntax error"},
		{"mode", "[users.dave]\npassword = \"x\"\n", 0o644, "chmod 600"},
		{"unknown key", "[users.dave]\npasswd = \"x\"\n", 0o600, "unknown key"},
		{"outside pool", "[users.dave]\npassword = \"x\"\naddress = \"192.0.2.7\"\n", 0o600, ":3: key users.dave.address: 192.0.2.7 is not an address of pool 198.51.100.0/24 (or it is server-ip)"},
		{"server-ip", "[users.dave]\npassword = \"x\"\naddress = \"198.51.100.1\"\n", 0o600, "198.51.100.1 is not an address of pool"},
	}
	for _, tc := range bad {
		writeFile(t, dir, "users.toml", tc.body, tc.mode)
		if err := f.Reload(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: Reload = %v, want %q", tc.name, err, tc.want)
		}
		if _, _, ok := f.Lookup("alice"); !ok {
			t.Fatalf("%s: alice is gone after a failed reload", tc.name)
		}
		if _, _, ok := f.Lookup("dave"); ok {
			t.Fatalf("%s: dave is in after a failed reload", tc.name)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload of a missing file = %v", err)
	}
	if _, ok := f.Credential("alice"); !ok {
		t.Fatal("alice is gone after the file was removed")
	}

	writeFile(t, dir, "users.toml", "[users.dave]\npassword = \"x\"\naddress = \"198.51.100.9\"\n", 0o600)
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Credential("alice"); ok {
		t.Fatal("alice still there after a good reload without her")
	}
	if _, fixed, ok := f.Lookup("dave"); !ok || fixed != addr("198.51.100.9") {
		t.Fatalf("dave: %v %v", fixed, ok)
	}
	// .7 is no longer reserved: released, it goes to anyone.
	pool.Release(addr("198.51.100.7"))
	if a, err := pool.Acquire("x", netip.Addr{}); err != nil || a != addr("198.51.100.7") {
		t.Fatalf("after the reload .7 = %v, %v", a, err)
	}
}

// Lookups race with reloads (run with -race): every lookup sees either the
// old or the new users, never a mix or nothing.
func TestUsersFileConcurrent(t *testing.T) {
	dir := t.TempDir()
	one := "[users.alice]\npassword = \"one\"\n[users.bob]\npassword = \"one\"\n"
	two := "[users.alice]\npassword = \"two\"\n[users.bob]\npassword = \"two\"\n"
	path := writeFile(t, dir, "users.toml", one, 0o600)
	f, err := OpenUsers(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				u := f.Users()
				a, _, ok1 := u.Lookup("alice")
				b, _, ok2 := u.Lookup("bob")
				if !ok1 || !ok2 || string(a.Password.Bytes()) != string(b.Password.Bytes()) {
					t.Error("inconsistent users")
					return
				}
				if _, ok := f.Credential("alice"); !ok {
					t.Error("alice missing")
					return
				}
			}
		})
	}
	for i := range 50 {
		body := one
		if i%2 == 1 {
			body = two
		}
		if i%5 == 4 {
			body = "[users.alice\n" // bad: keeps the last good one
		}
		tmp := writeFile(t, dir, "next.toml", body, 0o600)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		err := f.Reload()
		if (err != nil) != (i%5 == 4) {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
}
