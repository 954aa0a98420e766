package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

const pskValue = "Zq9-psk-never-shown"

func testEnv(k string) (string, bool) {
	v, ok := map[string]string{"PSK": pskValue, "EMPTY": ""}[k]
	return v, ok
}

// writeFile writes body to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimal = "psk = \"env:PSK\"\npool = \"198.51.100.0/24\"\nusers = \"users.toml\"\n"

func TestConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfigEnv(writeFile(t, dir, "serve.toml", minimal, 0o644), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path:       filepath.Join(dir, "serve.toml"),
		Listen:     []netip.Addr{addr("0.0.0.0")},
		PSK:        c.PSK,
		ESPModes:   []esp.Mode{esp.Transport, esp.Tunnel},
		Pool:       "198.51.100.0/24",
		ServerIP:   addr("198.51.100.1"),
		MTU:        1400,
		MRU:        1400,
		Interface:  "l2tpsrv0",
		Users:      filepath.Join(dir, "users.toml"),
		Auth:       []ppp.AuthMethod{ppp.AuthMSCHAPv2, ppp.AuthCHAPMD5},
		HostName:   "l2tpvpn",
		MaxClients: 256,
		DPDDelay:   30 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if string(c.PSK.Bytes()) != pskValue {
		t.Fatal("psk not read from the environment")
	}
	p, err := c.NewPool()
	if err != nil || p.Size() != 253 || p.Contains(c.ServerIP) {
		t.Fatalf("NewPool: %v, size %d", err, p.Size())
	}
}

func TestConfigFull(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "l2tp.secret", "tunnel-secret\n", 0o600)
	body := `
listen = ["192.0.2.1", "192.0.2.9"]
psk = "env:PSK"
ike-proposals = ["aes256-sha256-modp2048", "3des-sha1-modp1024,aes128-sha1-modp2048"]
esp-proposals = ["aes256gcm16", "aes128-sha1"]
esp_modes = ["transport"]           # '_' reads as '-'
pool = "198.51.100.10-198.51.100.200"
server-ip = "192.0.2.1"
dns = ["192.0.2.53", "192.0.2.54"]
wins = ["192.0.2.55"]
mtu = 1380
mru = 1420
interface = "vpn0"
nat = true
nat-out = "eth0"
users = "/etc/l2tpvpn/users.toml"
allow-plain-l2tp = true
allow-pap-plain = true
auth = ["pap", "MSCHAPv2"]
l2tp-secret = "file:l2tp.secret"
host-name = "gw.example"
max-clients = 1000
dpd-delay = 0
state-dir = "state"
`
	c, err := LoadConfigEnv(writeFile(t, dir, "serve.toml", body, 0o600), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	ikeP, _ := ike.ParseIKEProposals("aes256-sha256-modp2048,3des-sha1-modp1024,aes128-sha1-modp2048")
	espP, _ := ike.ParseESPProposals("aes256gcm16,aes128-sha1")
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, []netip.Addr{addr("192.0.2.1"), addr("192.0.2.9")}},
		{"ike", c.IKEProposals, ikeP},
		{"esp", c.ESPProposals, espP},
		{"modes", c.ESPModes, []esp.Mode{esp.Transport}},
		{"server-ip", c.ServerIP, addr("192.0.2.1")},
		{"dns", c.DNS, []netip.Addr{addr("192.0.2.53"), addr("192.0.2.54")}},
		{"wins", c.WINS, []netip.Addr{addr("192.0.2.55")}},
		{"mtu", [2]int{c.MTU, c.MRU}, [2]int{1380, 1420}},
		{"iface", [2]string{c.Interface, c.NATOut}, [2]string{"vpn0", "eth0"}},
		{"bools", [3]bool{c.NAT, c.AllowPlainL2TP, c.AllowPAPPlain}, [3]bool{true, true, true}},
		{"users", c.Users, "/etc/l2tpvpn/users.toml"},
		{"auth", c.Auth, []ppp.AuthMethod{ppp.AuthPAP, ppp.AuthMSCHAPv2}},
		{"l2tp-secret", string(c.L2TPSecret.Bytes()), "tunnel-secret"},
		{"host-name", c.HostName, "gw.example"},
		{"max-clients", c.MaxClients, 1000},
		{"dpd-delay", c.DPDDelay, time.Duration(0)},
		{"state-dir", c.StateDir, filepath.Join(dir, "state")},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// The pool is a range: server-ip outside it leaves all 191 addresses.
	if p, err := c.NewPool(); err != nil || p.Size() != 191 {
		t.Fatalf("NewPool: %v", err)
	}
}

// Every error names the file, the line and the key, and says what is wrong.
func TestConfigErrors(t *testing.T) {
	base := "pool = \"198.51.100.0/24\"\nusers = \"u\"\n"
	withPSK := "psk = \"env:PSK\"\n" + base
	for _, tc := range []struct {
		name, body string
		want       string // the error after "server: PATH"
	}{
		{"unknown key", withPSK + "dsn = [\"192.0.2.1\"]\n", `:4: key dsn: unknown key; did you mean dns?`},
		{"unknown far", withPSK + "bogus = 1\n", `:4: key bogus: unknown key`},
		{"table", withPSK + "[nat]\nout = \"eth0\"\n", `:4: key nat: tables are not used`},
		{"dotted", withPSK + "nat.out = \"eth0\"\n", `:4: key nat.out: tables are not used`},
		{"duplicate", withPSK + "mtu = 1400\nmtu = 1300\n", `:5: key mtu: duplicate key`},
		{"dup alias", withPSK + "max-clients = 1\nmax_clients = 2\n", `:5: key max-clients: duplicate key (also on line 4)`},
		{"syntax", withPSK + "mtu = \n", `:4: key mtu:`},
		{"listen not ip", withPSK + "listen = [\"0.0.0.0:500\"]\n", `:4: key listen: "0.0.0.0:500" is not an IP address`},
		{"listen string", withPSK + "listen = \"0.0.0.0\"\n", `:4: key listen: want an array of strings, not a string`},
		{"listen empty", withPSK + "listen = []\n", `:4: key listen: empty`},
		{"listen v6", withPSK + "listen = [\"2001:db8::1\"]\n", `:4: key listen: 2001:db8::1: the server listens on IPv4 addresses only`},
		{"dns not ip", withPSK + "dns = [\"8.8.8\"]\n", `:4: key dns: "8.8.8" is not an IP address`},
		{"dns v6", withPSK + "dns = [\"2001:db8::53\"]\n", `:4: key dns: 2001:db8::53: IPCP hands out IPv4 addresses only`},
		{"dns three", withPSK + "dns = [\"192.0.2.1\",\"192.0.2.2\",\"192.0.2.3\"]\n", `:4: key dns: at most 2 addresses, not 3`},
		{"wins twice", withPSK + "wins = [\"192.0.2.1\",\"192.0.2.1\"]\n", `:4: key wins: 192.0.2.1 is listed twice`},
		{"mtu range", withPSK + "mtu = 9000\n", `:4: key mtu: 9000 is outside 576..1500`},
		{"mtu string", withPSK + "mtu = \"1400\"\n", `:4: key mtu: want an integer, not a string`},
		{"nat bool", withPSK + "nat = \"yes\"\n", `:4: key nat: want true or false, not a string`},
		{"iface", withPSK + "interface = \"a/b\"\n", `:4: key interface: "a/b" is not an interface name`},
		{"iface long", withPSK + "interface = \"abcdefghijklmnop\"\n", `:4: key interface: "abcdefghijklmnop" is not an interface name`},
		{"esp mode", withPSK + "esp-modes = [\"beet\"]\n", `:4: key esp-modes: "beet" is not transport or tunnel`},
		{"ike proposal", withPSK + "ike-proposals = [\"aes256-sha256-modp768\"]\n", `:4: key ike-proposals: ike: proposal "aes256-sha256-modp768": DH groups under 1024 bits are refused (modp768)`},
		{"esp proposal", withPSK + "esp-proposals = [\"aes128\"]\n", `:4: key esp-proposals: ike: proposal "aes128": missing integrity algorithm`},
		{"auth unknown", withPSK + "auth = [\"eap\"]\n", `:4: key auth: ppp: unknown authentication method "eap"`},
		{"auth comma", withPSK + "auth = [\"pap,chap\"]\n", `:4: key auth: "pap,chap": one method per string`},
		{"auth empty", withPSK + "auth = []\n", `:4: key auth: empty`},
		{"dpd", withPSK + "dpd-delay = \"soon\"\n", `:4: key dpd-delay: "soon" is not a duration`},
		{"dpd negative", withPSK + "dpd-delay = \"-1s\"\n", `:4: key dpd-delay: -1s is negative`},
		{"max-clients", withPSK + "max-clients = 0\n", `:4: key max-clients: 0 is outside 1..65535`},
		{"host-name", withPSK + "host-name = \"\"\n", `:4: key host-name: want a name of 1 to 255 bytes, not an empty string`},
		{"no pool", "psk = \"env:PSK\"\nusers = \"u\"\n", `: missing key pool`},
		{"no users", "psk = \"env:PSK\"\npool = \"198.51.100.0/24\"\n", `: missing key users`},
		{"no psk", base, `: missing key psk`},
		{"pool syntax", "psk = \"env:PSK\"\npool = \"198.51.100.0/33\"\nusers = \"u\"\n", `:2: key pool: pool "198.51.100.0/33": want a prefix`},
		{"pool host bits", "psk = \"env:PSK\"\npool = \"198.51.100.1/24\"\nusers = \"u\"\n", `:2: key pool: pool 198.51.100.1/24 has host bits set; did you mean 198.51.100.0/24?`},
		{"pool too small", "psk = \"env:PSK\"\npool = \"198.51.100.9/32\"\nusers = \"u\"\n", `:2: key pool: pool 198.51.100.9/32 has no address left for clients besides server-ip 198.51.100.9`},
		{"server-ip overlaps", "psk = \"env:PSK\"\npool = \"198.51.100.4/31\"\nusers = \"u\"\nserver-ip = \"198.51.100.5\"\n", ``},
		{"server-ip only address", "psk = \"env:PSK\"\npool = \"198.51.100.7-198.51.100.7\"\nusers = \"u\"\nserver-ip = \"198.51.100.7\"\n", `:4: key server-ip: pool 198.51.100.7-198.51.100.7 has no address left for clients besides server-ip 198.51.100.7`},
		{"server-ip network", withPSK + "server-ip = \"198.51.100.0\"\n", `:4: key server-ip: 198.51.100.0 is the network or broadcast address of pool 198.51.100.0/24`},
		{"server-ip v6", withPSK + "server-ip = \"2001:db8::1\"\n", `:4: key server-ip: 2001:db8::1 is not a unicast IPv4 address`},
		{"nat-out alone", withPSK + "nat-out = \"eth0\"\n", `:4: key nat-out: has no effect without nat = true`},
		{"pap plain", withPSK + "allow-plain-l2tp = true\nauth = [\"mschapv2\", \"pap\"]\n", `:5: key auth: pap over plain L2TP (allow-plain-l2tp = true) sends passwords in clear text; remove pap, or set allow-pap-plain = true to accept that`},
		{"psk env unset", "psk = \"env:NOPE\"\n" + base, `:1: key psk: environment variable NOPE is not set`},
		{"psk env empty", "psk = \"env:EMPTY\"\n" + base, `:1: key psk: environment variable EMPTY is empty`},
		{"psk bad spec", "psk = \"env:1X\"\n" + base, `:1: key psk: env:VAR: the variable name may hold only letters, digits and '_'`},
		{"psk prompt", "psk = \"prompt\"\n" + base, `:1: key psk: prompt: the server reads no terminal`},
		{"psk number", "psk = 12345\n" + base, `:1: key psk: want a string such as "env:VAR" or "file:PATH", not an integer`},
		{"psk file missing", "psk = \"file:nope\"\n" + base, `:1: key psk: open `},
		{"psk literal public", "psk = \"" + pskValue + "\"\n" + base, `:1: key psk: holds a literal secret but the file is readable by everyone (mode 0644): chmod 600 `},
		{"psk syntax", "psk = \"" + pskValue + "\n" + base, `:1: key psk: syntax error (not shown: it may quote a secret)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "serve.toml", tc.body, 0o644)
			_, err := LoadConfigEnv(path, testEnv)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			prefix := "server: " + path
			if msg := err.Error(); !strings.HasPrefix(msg, prefix+tc.want) {
				t.Fatalf("error\n%s\nwant prefix\n%s%s", msg, prefix, tc.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a *ConfigError", err)
			}
			if strings.Contains(err.Error(), pskValue) {
				t.Fatal("the error shows the psk")
			}
		})
	}
}

// A literal psk is accepted from a private file; a file: secret is read
// relative to the configuration's directory and must be private too.
func TestConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	base := "pool = \"198.51.100.0/24\"\nusers = \"u\"\n"
	c, err := LoadConfigEnv(writeFile(t, dir, "a.toml", "psk = \""+pskValue+"\"\n"+base, 0o600), testEnv)
	if err != nil || string(c.PSK.Bytes()) != pskValue {
		t.Fatalf("literal psk in a private file: %v", err)
	}
	writeFile(t, dir, "psk.public", pskValue+"\n", 0o644)
	_, err = LoadConfigEnv(writeFile(t, dir, "b.toml", "psk = \"file:psk.public\"\n"+base, 0o600), testEnv)
	if err == nil || !strings.Contains(err.Error(), "is readable by everyone (mode 0644): chmod 600 "+filepath.Join(dir, "psk.public")) {
		t.Fatalf("public psk file: %v", err)
	}
	// Plain L2TP without IPsec needs no psk.
	c, err = LoadConfigEnv(writeFile(t, dir, "c.toml", "allow-plain-l2tp = true\n"+base, 0o644), testEnv)
	if err != nil || !c.PSK.IsZero() {
		t.Fatalf("plain-only server: %v", err)
	}
	// The process environment: the variable is gone once read.
	t.Setenv("L2TPVPN_TEST_PSK", pskValue)
	c, err = LoadConfig(writeFile(t, dir, "d.toml", "psk = \"env:L2TPVPN_TEST_PSK\"\n"+base, 0o644))
	if err != nil || string(c.PSK.Bytes()) != pskValue {
		t.Fatalf("LoadConfig env: %v", err)
	}
	if _, ok := os.LookupEnv("L2TPVPN_TEST_PSK"); ok {
		t.Fatal("the psk variable is still in the environment")
	}
	// Printing the config shows no secret.
	c.L2TPSecret = c.PSK
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "cfg", c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", c, c, c), log.String()} {
		if strings.Contains(s, pskValue) {
			t.Fatalf("printed config shows the psk: %s", s)
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "server: ") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
	big := writeFile(t, dir, "big.toml", strings.Repeat("#\n", configMaxSize), 0o644)
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("big file: %v", err)
	}
}
