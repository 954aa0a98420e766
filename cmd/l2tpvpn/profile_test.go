package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// testRangeInt is an int flag that rejects values outside lo..hi, like the
// lead's --mtu.
type testRangeInt struct {
	v, lo, hi int
}

func (r *testRangeInt) String() string { return strconv.Itoa(r.v) }
func (r *testRangeInt) Type() string   { return "int" }
func (r *testRangeInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	if n < r.lo || n > r.hi {
		return fmt.Errorf("%d is outside %d..%d", n, r.lo, r.hi)
	}
	r.v = n
	return nil
}

type testFlags struct {
	fs                        *pflag.FlagSet
	server, user, ipsec, up   string
	password, psk, l2tpSecret *secretValue
	mtu                       *testRangeInt
	localPort                 int
	ipv6, json                bool
	dpd, ikeLife              time.Duration
	ike, route                []string
	count                     uint16
}

func newTestFlags() *testFlags {
	t := &testFlags{fs: pflag.NewFlagSet("connect", pflag.ContinueOnError)}
	fs := t.fs
	fs.StringVar(&t.server, "server", "", "")
	fs.StringVar(&t.user, "user", "", "")
	fs.StringVar(&t.ipsec, "ipsec", "on", "")
	fs.StringVar(&t.up, "up", "", "")
	t.password = newSecretFlag(fs, "password", "")
	t.psk = newSecretFlag(fs, "psk", "")
	t.l2tpSecret = newSecretFlag(fs, "l2tp-secret", "")
	t.mtu = &testRangeInt{lo: 576, hi: 1462}
	fs.Var(t.mtu, "mtu", "")
	fs.IntVar(&t.localPort, "local-port", 0, "")
	fs.BoolVar(&t.ipv6, "ipv6", false, "")
	fs.BoolVar(&t.json, "json", false, "")
	fs.SetAnnotation("json", "profile", []string{"no"})
	fs.DurationVar(&t.dpd, "dpd-delay", 30*time.Second, "")
	fs.DurationVar(&t.ikeLife, "ike-lifetime", 8*time.Hour, "")
	fs.StringSliceVar(&t.ike, "ike", []string{"default-proposal"}, "")
	fs.StringSliceVar(&t.route, "route", nil, "")
	fs.Uint16Var(&t.count, "l2tp-retries", 4, "")
	return t
}

func writeProfile(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask
		t.Fatal(err)
	}
	return p
}

// The minimal profile from the issue loads as written.
func TestLoadProfileMinimal(t *testing.T) {
	p := writeProfile(t, "work.toml", `server = "192.0.2.1"
user = "alice"
password = "env:VPN_PASSWORD"
psk = "file:/etc/l2tpvpn/work.psk"
`, 0o600)
	f := newTestFlags()
	prof, err := LoadProfile(p, f.fs)
	if err != nil {
		t.Fatal(err)
	}
	if f.server != "192.0.2.1" || f.user != "alice" || f.password.Spec() != "env:VPN_PASSWORD" || f.psk.Spec() != "file:/etc/l2tpvpn/work.psk" {
		t.Errorf("flags: %q %q %q %q", f.server, f.user, f.password.Spec(), f.psk.Spec())
	}
	if prof.Name != "work" || prof.Path != p || prof.Mode != 0o600 {
		t.Errorf("profile: %+v", prof)
	}
	wantLines := map[string]int{"server": 1, "user": 2, "password": 3, "psk": 4}
	if !reflect.DeepEqual(prof.Lines, wantLines) {
		t.Errorf("lines %v, want %v", prof.Lines, wantLines)
	}
	if want := []string{"server", "user", "password", "psk"}; !reflect.DeepEqual(prof.Set, want) {
		t.Errorf("set %v, want %v", prof.Set, want)
	}
	if !f.fs.Changed("server") || !prof.Has("psk") || prof.Has("mtu") {
		t.Error("Changed/Has wrong")
	}
}

func TestLoadProfileTypes(t *testing.T) {
	p := writeProfile(t, "all.toml", `
# comment line
server = 'vpn.example.com'   # literal string
ipsec = false                # a bool for a string flag
mtu = 1_400
local_port = 4500            # underscore spelling
ipv6 = true
dpd-delay = "45s"
ike-lifetime = 3600          # integer seconds
ike = ["aes256-sha256-modp2048", "3des-sha1-modp1024", "odd,one"]
route = "10.0.0.0/8,192.168.1.0/24"
l2tp-retries = 7
up = """
echo up"""
`, 0o600)
	f := newTestFlags()
	prof, err := LoadProfile(p, f.fs)
	if err != nil {
		t.Fatal(err)
	}
	if f.server != "vpn.example.com" || f.ipsec != "false" || f.mtu.v != 1400 || f.localPort != 4500 || !f.ipv6 {
		t.Errorf("scalars: %q %q %d %d %v", f.server, f.ipsec, f.mtu.v, f.localPort, f.ipv6)
	}
	if f.dpd != 45*time.Second || f.ikeLife != time.Hour {
		t.Errorf("durations: %v %v", f.dpd, f.ikeLife)
	}
	if want := []string{"aes256-sha256-modp2048", "3des-sha1-modp1024", "odd,one"}; !reflect.DeepEqual(f.ike, want) {
		t.Errorf("ike %q, want %q", f.ike, want)
	}
	if want := []string{"10.0.0.0/8", "192.168.1.0/24"}; !reflect.DeepEqual(f.route, want) {
		t.Errorf("route %q, want %q", f.route, want)
	}
	if f.count != 7 || f.up != "echo up" {
		t.Errorf("retries %d up %q", f.count, f.up)
	}
	if prof.Lines["local-port"] != 6 || prof.Lines["ike"] != 10 || prof.Lines["up"] != 13 {
		t.Errorf("lines %v", prof.Lines)
	}
}

func TestLoadProfileEmptyArray(t *testing.T) {
	p := writeProfile(t, "e.toml", "ike = []\n", 0o600)
	f := newTestFlags()
	if _, err := LoadProfile(p, f.fs); err != nil {
		t.Fatal(err)
	}
	if len(f.ike) != 0 {
		t.Errorf("ike = %q, want empty", f.ike)
	}
}

// Flags given on the command line win over the profile.
func TestLoadProfileCommandLineWins(t *testing.T) {
	p := writeProfile(t, "w.toml", "server = \"192.0.2.1\"\nuser = \"alice\"\nike = [\"3des-sha1-modp1024\"]\n", 0o600)
	f := newTestFlags()
	if err := f.fs.Parse([]string{"--server", "198.51.100.7", "--ike", "aes128-sha1-modp2048"}); err != nil {
		t.Fatal(err)
	}
	prof, err := LoadProfile(p, f.fs)
	if err != nil {
		t.Fatal(err)
	}
	if f.server != "198.51.100.7" || f.user != "alice" || !reflect.DeepEqual(f.ike, []string{"aes128-sha1-modp2048"}) {
		t.Errorf("server %q user %q ike %q", f.server, f.user, f.ike)
	}
	if !reflect.DeepEqual(prof.Set, []string{"user"}) || prof.Lines["server"] != 1 {
		t.Errorf("set %v lines %v", prof.Set, prof.Lines)
	}
	// KeyError: profile keys get file:line, command-line keys the flag name.
	e1 := prof.KeyError("user", errors.New("bad user"))
	if got, want := e1.Error(), p+":2: key user: bad user"; got != want {
		t.Errorf("KeyError profile = %q, want %q", got, want)
	}
	var pe *ProfileError
	if !errors.As(e1, &pe) || pe.Line != 2 {
		t.Errorf("KeyError not a *ProfileError: %#v", e1)
	}
	sentinel := errors.New("bad address")
	e2 := prof.KeyError("server", sentinel)
	if got := e2.Error(); got != "--server: bad address" || !errors.Is(e2, sentinel) {
		t.Errorf("KeyError command line = %q", got)
	}
	if got := (*Profile)(nil).KeyError("mtu", sentinel).Error(); got != "--mtu: bad address" {
		t.Errorf("nil profile KeyError = %q", got)
	}
}

func TestLoadProfileErrors(t *testing.T) {
	const secret = "hunter2-Sup3rSecret"
	cases := []struct {
		name, body string
		line       int
		want       string
	}{
		{"unknown suggestion", "server = \"x\"\nsevrer = \"y\"\n", 2, "key sevrer: unknown key; did you mean server?"},
		{"unknown underscore", "# c\nlocal_prot = 1\n", 2, "did you mean local-port?"},
		{"unknown far", "frobnicate = 1\n", 1, "key frobnicate: unknown key"},
		{"cli only", "json = true\n", 1, "key json: allowed on the command line only"},
		{"wrong type int", "mtu = \"1400\"\n", 1, "key mtu: want an integer, not a string"},
		{"wrong type duration", "dpd-delay = 1.5\n", 1, `key dpd-delay: want a string like "30s", not a float`},
		{"wrong type bool", "ipv6 = \"yes\"\n", 1, "want true or false, not a string"},
		{"wrong type string", "server = 5\n", 1, "want a string, not an integer"},
		{"wrong type slice", "ike = [1, 2]\n", 1, "want an array of strings, not an array"},
		{"wrong type date", "server = 1979-05-27\n", 1, "not a date or time"},
		{"rejected by flag", "\n\n# mtu\nmtu = 99999\n", 4, "key mtu: 99999 is outside 576..1462"},
		{"rejected duration", "dpd-delay = \"soon\"\n", 1, "key dpd-delay: must be a duration"},
		{"rejected uint", "l2tp-retries = -1\n", 1, "key l2tp-retries: "},
		{"syntax", "server = \"x\"\nuser = \"unterminated\n", 2, "bad.toml:2: key user: basic strings cannot have new lines"},
		{"syntax bare value", "server = 192.0.2.1\n", 1, "; put the value in quotes"},
		{"syntax bare secret", "user = \"a\"\npassword = " + secret + "\n", 2, "; put the value in quotes"},
		{"syntax bare word", "ipsec = on # comment\n", 1, "; put the value in quotes"},
		{"syntax secret", "psk = \"" + secret + "\\q\"\n", 1, "key psk: syntax error in the value (not shown"},
		{"duplicate", "server = \"a\"\nuser = \"b\"\nserver = \"c\"\n", 3, "bad.toml:3: key server: duplicate key"},
		{"duplicate spelling", "local-port = 1\nlocal_port = 2\n", 2, "key local-port: duplicate key (also on line 1)"},
		{"table", "server = \"x\"\n[ipsec]\nike = \"a\"\n", 2, "key ipsec: tables are not used; write key = value at top level"},
		{"array table", "[[route]]\nx = 1\n", 1, "tables are not used"},
		{"dotted", "ipsec.ike = \"a\"\n", 1, "key ipsec.ike: tables are not used"},
		{"inline table", "\nserver = { host = \"x\" }\n", 2, "tables are not used"},
		{"secret wrong type", "password = 1234\n", 1, "key password: want a string"},
		{"secret rejected", "password = \"env:\"\n", 1, "key password: value rejected: env: needs a variable name"},
		{"secret empty", "psk = \"\"\n", 1, "key psk: value rejected"},
		{"secret bad env name", "psk = \"env:" + secret + "!\"\n", 1, "key psk: value rejected"},
		{"secret syntax", "user = \"a\"\npassword = \"" + secret + "\n", 2, ""},
		{"secret unknown key", "passwrd = \"" + secret + "\"\n", 1, "did you mean password?"},
		{"secret in table", "[x]\npassword = \"" + secret + "\"\n", 1, "tables are not used"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeProfile(t, "bad.toml", tc.body, 0o600)
			_, err := LoadProfile(p, newTestFlags().fs)
			if err == nil {
				t.Fatal("no error")
			}
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("%T %v is not a *ProfileError", err, err)
			}
			if pe.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", pe.Line, tc.line, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, p+":"+strconv.Itoa(tc.line)+": ") {
				t.Errorf("%q does not start with path:line", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%q does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error has more than one line: %q", msg)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "hunter2") {
				t.Errorf("error shows the secret: %q", msg)
			}
		})
	}
}

func TestLoadProfileMissingFile(t *testing.T) {
	_, err := LoadProfile(filepath.Join(t.TempDir(), "none.toml"), newTestFlags().fs)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}

func TestProfileErrorFormat(t *testing.T) {
	cases := []struct {
		e    ProfileError
		want string
	}{
		{ProfileError{Path: "work.toml", Line: 3, Key: "mtu", Err: errors.New("99999 is outside 576..1462")}, "work.toml:3: key mtu: 99999 is outside 576..1462"},
		{ProfileError{Path: "work.toml", Key: "mtu", Err: errors.New("x")}, "work.toml: key mtu: x"},
		{ProfileError{Path: "work.toml", Line: 7, Err: errors.New("x")}, "work.toml:7: x"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestFindProfile(t *testing.T) {
	home := t.TempDir()
	xdg := t.TempDir()
	sys := t.TempDir()
	old := profileSystemDir
	profileSystemDir = sys
	t.Cleanup(func() { profileSystemDir = old })
	put := func(dir, name string) string {
		t.Helper()
		p := filepath.Join(dir, name+".toml")
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("server = \"x\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv("SUDO_USER", "")

	xdgWork := put(filepath.Join(xdg, "l2tpvpn"), "work")
	sysWork := put(sys, "work")
	homeWork := put(filepath.Join(home, ".config", "l2tpvpn"), "work")
	sysOnly := put(sys, "only-etc")

	if p, err := FindProfile("work"); err != nil || p != xdgWork {
		t.Errorf("XDG first: %q, %v", p, err)
	}
	if p, err := FindProfile("only-etc"); err != nil || p != sysOnly {
		t.Errorf("/etc fallback: %q, %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	if p, err := FindProfile("work"); err != nil || p != homeWork {
		t.Errorf("HOME fallback: %q, %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/dir") // not absolute: ignored
	if p, err := FindProfile("work"); err != nil || p != homeWork {
		t.Errorf("relative XDG: %q, %v", p, err)
	}
	os.Remove(homeWork)
	if p, err := FindProfile("work"); err != nil || p != sysWork {
		t.Errorf("after removal: %q, %v", p, err)
	}

	_, err := FindProfile("nope")
	if err == nil {
		t.Fatal("missing profile found")
	}
	for _, want := range []string{filepath.Join(home, ".config", "l2tpvpn", "nope.toml"), filepath.Join(sys, "nope.toml"), "not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not list %q", err, want)
		}
	}

	for _, bad := range []string{"", ".hidden", "../etc/passwd", "a/b", "-x", "with space", strings.Repeat("a", 33), "x\x00"} {
		if _, err := FindProfile(bad); err == nil {
			t.Errorf("FindProfile(%q) accepted a bad name", bad)
		}
	}
	for _, good := range []string{"a", "Work_2.vpn-1", strings.Repeat("a", 32)} {
		if _, err := FindProfile(good); err != nil && strings.Contains(err.Error(), "profile name") {
			t.Errorf("FindProfile(%q) refused a good name: %v", good, err)
		}
	}
}

func TestProfileEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"server", "sevrer", 2}, {"mtu", "mru", 1}, {"kitten", "sitting", 3}}
	for _, c := range cases {
		if got := profileEditDistance(c.a, c.b); got != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// The examples are documentation; they must keep loading.
func TestExampleProfiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d example profiles, want at least 5", len(files))
	}
	for _, file := range files {
		if strings.HasPrefix(filepath.Base(file), "serve") {
			continue // l2tpvpn serve's files: see serve_test.go
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			o := &connectOpts{}
			fs := connectFlags(o, io.Discard) // the real keys and types
			prof, err := LoadProfile(file, fs)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"server", "user", "password", "ipsec"} {
				if !prof.Has(k) {
					t.Errorf("example does not set %s", k)
				}
			}
			o.fs, o.profile = fs, prof
			if err := o.applyServerType(); err != nil {
				t.Fatal(err)
			}
			ipsec, _ := fs.GetString("ipsec")
			if ipsec != "on" && ipsec != "off" && ipsec != "strongswan" {
				t.Errorf("ipsec = %q", ipsec)
			}
			if ipsec != "off" && !prof.Has("psk") {
				t.Errorf("ipsec = %s without psk", ipsec)
			}
			for _, k := range []string{"password", "psk", "l2tp-secret"} {
				if fl := fs.Lookup(k); fl.Changed {
					if _, _, err := ParseSecretSpec(fl.Value.(*secretValue).Spec()); err != nil {
						t.Errorf("%s: %v", k, err)
					}
				}
			}
		})
	}
}

// A defect found by the probe's suggested profiles: a profile's psk (here
// "prompt") and --psk-env on the command line were "exclusive"; the
// command line wins over the profile, as for every other key.
func TestProfileSecretOverriddenByFlag(t *testing.T) {
	p := writeProfile(t, "probed.toml", "server = \"192.0.2.1\"\nuser = \"alice\"\npassword = \"env:L2V_UNIT_PW\"\npsk = \"prompt\"\n", 0o600)
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "pw-value")
	t.Setenv("L2V_UNIT_PSK", "psk-from-env")
	o, err := parseConnect([]string{p, "--psk-env", "L2V_UNIT_PSK"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(&bytes.Buffer{}, nil, nil)
	if err != nil {
		t.Fatalf("profile psk = \"prompt\" with --psk-env: %v", err)
	}
	if got := string(cfg.PSK.Bytes()); got != "psk-from-env" {
		t.Errorf("psk %q, want the command line's", got)
	}
	// Both on the command line are still a mistake.
	t.Setenv("L2V_UNIT_PW", "pw-value") // read once: the first config took it
	t.Setenv("L2V_UNIT_PSK", "psk-from-env")
	if o, err := parseConnect([]string{p, "--psk", "env:L2V_UNIT_PSK", "--psk-env", "L2V_UNIT_PSK"}, &bytes.Buffer{}); err == nil {
		if _, err := o.config(&bytes.Buffer{}, nil, nil); err == nil || !strings.Contains(err.Error(), "exclusive") {
			t.Errorf("--psk and --psk-env together: %v", err)
		}
	}
}
