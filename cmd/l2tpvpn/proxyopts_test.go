package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/proxy"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// proxyOptsConfig is ikeOptsConfig that also returns the dry run's lines.
func proxyOptsConfig(t *testing.T, args ...string) (vpn.Config, string, error) {
	t.Helper()
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	t.Setenv("L2V_UNIT_PROXY", "proxy-s3cret")
	base := []string{"--server", "192.0.2.1", "--user", "a", "--password-env", "L2V_UNIT_PW", "--psk-env", "L2V_UNIT_PSK"}
	o, err := parseConnect(append(base, args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(&bytes.Buffer{}, nil, nil)
	if err != nil {
		return cfg, "", err
	}
	var lines []string
	for _, s := range effectiveSettings(o, cfg) {
		lines = append(lines, s.key+" "+s.value)
	}
	return cfg, strings.Join(lines, "\n"), nil
}

func TestProxyOptions(t *testing.T) {
	cfg, dry, err := proxyOptsConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != vpn.ModeTUN || cfg.ProxyListen != "" || !strings.Contains(dry, "mode tun") || !strings.Contains(dry, "interface ") {
		t.Fatalf("default: mode %v listen %q\n%s", cfg.Mode, cfg.ProxyListen, dry)
	}
	cfg, dry, err = proxyOptsConfig(t, "--proxy", "--proxy-user", "bob", "--proxy-password", "env:L2V_UNIT_PROXY",
		"--forward", "tcp:8080=intranet.corp:80", "--reverse", "tcp:2222=22", "--max-conns", "50",
		"--ready-check", "tcp://10.0.0.1:443", "--ready-check", "icmp://10.0.0.1", "--ready-check", "dns://intranet.corp")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != vpn.ModeProxy || cfg.ProxyListen != defaultProxyListen || len(cfg.ReadyChecks) != 3 || cfg.Interface != "" {
		t.Fatalf("proxy: mode %v listen %q checks %d interface %q", cfg.Mode, cfg.ProxyListen, len(cfg.ReadyChecks), cfg.Interface)
	}
	for _, want := range []string{"mode proxy", "proxy-listen 127.0.0.1:1080 (SOCKS5 and HTTP)", "proxy-user bob",
		"proxy-password [redacted] (from env:L2V_UNIT_PROXY)", "forward tcp:127.0.0.1:8080=intranet.corp:80", "reverse tcp:2222=127.0.0.1:22",
		"max-conns 50", "ready-check tcp://10.0.0.1:443, icmp://10.0.0.1, dns://intranet.corp", "routing none (proxy mode"} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry)
		}
	}
	if strings.Contains(dry, "proxy-s3cret") || strings.Contains(dry, "\ninterface ") || strings.Contains(dry, "\ndns ") {
		t.Errorf("dry run shows the proxy password or TUN settings:\n%s", dry)
	}
	if cfg, _, err := proxyOptsConfig(t, "--mode", "proxy", "--proxy-listen", "[::1]:9050"); err != nil || cfg.Mode != vpn.ModeProxy || cfg.ProxyListen != "[::1]:9050" {
		t.Fatalf("--mode proxy: %v %v %q", err, cfg.Mode, cfg.ProxyListen)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--forward", "tcp:8080=h:80"}, "--forward: needs mode proxy"},
		{[]string{"--ready-check", "http://x"}, "--ready-check: ready-check \"http://x\""},
		{[]string{"--mode", "socks"}, "--mode: \"socks\" is not tun or proxy"},
		{[]string{"--proxy", "--mode", "tun"}, "contradicts --proxy"},
		{[]string{"--proxy", "--ipsec", "strongswan"}, "strongswan needs root"},
		{[]string{"--proxy", "--proxy-listen", "localhost:1080"}, "--proxy-listen: \"localhost:1080\" is not ADDR:PORT"},
		{[]string{"--proxy", "--proxy-user", "bob"}, "go together"},
		{[]string{"--proxy", "--max-conns", "-1"}, "--max-conns: -1 is negative"},
		{[]string{"--proxy", "--forward", "8080:h:80"}, "--forward: forward \"8080:h:80\""},
		{[]string{"--proxy", "--reverse", "tcp:0=22"}, "--reverse: reverse \"tcp:0=22\""},
		{[]string{"--proxy", "--ready-check", "http://x"}, "--ready-check: ready-check \"http://x\""},
		{[]string{"--proxy", "--ready-check", "tcp://10.0.0.1"}, "want tcp://HOST:PORT"},
	} {
		if _, _, err := proxyOptsConfig(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// Ready checks work in TUN mode too (through the device).
func TestReadyCheckTUNMode(t *testing.T) {
	cfg, _, err := proxyOptsConfig(t, "--ready-check", "icmp://10.0.0.1", "--ready-check", "tcp://10.0.0.1:22")
	if err != nil || cfg.Mode != vpn.ModeTUN || len(cfg.ReadyChecks) != 2 {
		t.Errorf("tun mode with two ready checks: %v, mode %v, %d checks", err, cfg.Mode, len(cfg.ReadyChecks))
	}
}

// A ready check's failure is exit code 17.
func TestReadyCheckExitCode(t *testing.T) {
	err := &vpn.Error{Phase: "ready check", Reason: vpn.ReasonReadyCheck, Err: errors.New("tcp:10.0.0.1:443: refused")}
	if code := exitCode(err); code != exitReadyCheck || exitReadyCheck != 17 {
		t.Fatalf("exit code %d, want 17", code)
	}
	cfg, _, perr := proxyOptsConfig(t, "--proxy", "--ready-check", "dns://intranet.corp")
	if perr != nil || len(cfg.ReadyChecks) != 1 {
		t.Fatalf("%v, %d checks", perr, len(cfg.ReadyChecks))
	}
	// A stack without DNS servers: the check fails cleanly, naming itself.
	if err := cfg.ReadyChecks[0](context.Background(), &vpn.Net{}); err == nil || !strings.Contains(err.Error(), "dns://intranet.corp") {
		t.Fatalf("check without DNS servers: %v", err)
	}
}

// Root keeps its state in /run/l2tpvpn; another user in
// $XDG_RUNTIME_DIR/l2tpvpn unless /run/l2tpvpn is its own or shared for
// users; without XDG_RUNTIME_DIR the error says what to set.
func TestUserStateDir(t *testing.T) {
	rootPrivate := runDir{exists: true, uid: 0, mode: fs.ModeDir | 0o700}
	shared := runDir{exists: true, uid: 0, mode: fs.ModeDir | fs.ModeSticky | 0o777}
	for _, tc := range []struct {
		euid int
		xdg  string
		run  runDir
		want string
	}{
		{0, "", runDir{}, "/run/l2tpvpn"},
		{0, "/run/user/0", rootPrivate, "/run/l2tpvpn"},
		{1000, "/run/user/1000", runDir{}, "/run/user/1000/l2tpvpn"},
		{1000, "/run/user/1000", rootPrivate, "/run/user/1000/l2tpvpn"}, // root's: no way in
		{1000, "/run/user/1000", shared, "/run/l2tpvpn"},
		{1000, "", runDir{exists: true, uid: 1000, mode: fs.ModeDir | 0o700}, "/run/l2tpvpn"},
		{65534, "", runDir{}, ""},
		{65534, "relative/dir", runDir{}, ""},
	} {
		if got := userStateDir(tc.euid, tc.xdg, tc.run); got != tc.want {
			t.Errorf("uid %d, XDG_RUNTIME_DIR %q, %+v: %q, want %q", tc.euid, tc.xdg, tc.run, got, tc.want)
		}
	}
	if _, err := privateStateDir("", true); !errors.Is(err, errNoStateDir) || !strings.Contains(err.Error(), "L2TPVPN_STATE_DIR") {
		t.Fatalf("no state directory: %v", err)
	}
	// Created 0700 where it is missing.
	dir := filepath.Join(t.TempDir(), "l2tpvpn")
	if got, err := privateStateDir(dir, true); err != nil || got != dir {
		t.Fatalf("privateStateDir: %q, %v", got, err)
	}
}

// The proxy password reaches the detached half of --background, like the
// other secrets, through the pipe only.
func TestSecretsWireProxyPassword(t *testing.T) {
	var b bytes.Buffer
	s := &resolvedSecrets{}
	s.ProxyPassword = secret.FromString("proxy-s3cret")
	if err := writeSecrets(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"proxy_password"`) {
		t.Fatalf("wire %s has no proxy_password", b.String())
	}
}

// The up line and status name proxy mode and where the proxy listens.
func TestProxyOutput(t *testing.T) {
	up := humanLine(vpn.Event{Event: vpn.EventUp, IP: "10.8.0.2", Interface: "netstack (proxy mode)", Routing: "proxy", IPv6Mode: "not changed", Proxy: "127.0.0.1:1080"})
	if !strings.Contains(up, "routing: proxy mode, no host routes; SOCKS5 and HTTP proxy on 127.0.0.1:1080") {
		t.Errorf("up line: %q", up)
	}
	var b bytes.Buffer
	printStatus(&b, vpn.Status{Name: "work", State: "up", Mode: "proxy", Proxy: "127.0.0.1:1080", Routing: "proxy"})
	if !strings.Contains(b.String(), "proxy       mode proxy; SOCKS5 and HTTP on 127.0.0.1:1080") {
		t.Errorf("status:\n%s", b.String())
	}
	b.Reset()
	printStatus(&b, vpn.Status{Name: "work", State: "up", Mode: "tun", Routing: "full"})
	if strings.Contains(b.String(), "proxy") {
		t.Errorf("tun mode status mentions the proxy:\n%s", b.String())
	}
}

// A profile keeps its proxy settings in tun mode (unused) and --proxy
// switches to them; mode = "proxy" in the profile needs no flag.
func TestProxyProfile(t *testing.T) {
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	dir := t.TempDir()
	write := func(name, extra string) string {
		p := filepath.Join(dir, name+".toml")
		body := "server = \"192.0.2.1\"\nuser = \"a\"\npassword = \"env:L2V_UNIT_PW\"\nipsec = \"off\"\n" +
			"proxy-listen = \"127.0.0.1:1081\"\nready-check = [\"tcp://10.0.0.1:443\"]\n" + extra
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{write("tun", "")}, []string{"mode tun", "\ninterface l2tp"}},
		{[]string{write("tun2", ""), "--proxy"}, []string{"mode proxy", "proxy-listen 127.0.0.1:1081", "ready-check tcp://10.0.0.1:443"}},
		{[]string{write("px", "mode = \"proxy\"\n")}, []string{"mode proxy", "proxy-listen 127.0.0.1:1081"}},
	} {
		t.Setenv("L2V_UNIT_PW", "s3cret-value") // read once, then removed
		var out, errOut bytes.Buffer
		if code := run(append([]string{"connect", "--dry-run"}, tc.args...), &out, &errOut); code != exitOK {
			t.Fatalf("%q: exit %d, stderr %q", tc.args, code, errOut.String())
		}
		var lines []string
		for l := range strings.Lines(out.String()) {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		dry := strings.Join(lines, "\n")
		for _, w := range tc.want {
			if !strings.Contains(dry, w) {
				t.Errorf("%q: dry run lacks %q:\n%s", tc.args, w, dry)
			}
		}
	}
}

// Without a stack (nil, before the first connection and after the end) the
// proxy refuses requests: the nil *vpn.Net reaches it as a nil proxy.Net,
// not as an interface holding a nil pointer that would be dialled.
func TestProxyServerWithoutNet(t *testing.T) {
	srv, err := newProxyServer(proxy.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := srv.(proxyOf).p
	srv.SetNet(nil)
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "CONNECT 10.0.0.1:80 HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.Contains(line, " 200 ") {
		t.Fatalf("CONNECT without a stack: %q, %v; want a refusal", line, err)
	}
	if n := p.Stats().Refused[proxy.ReasonNotConnected]; n != 1 {
		t.Errorf("refused as not connected %d times, want 1 (%v)", n, p.Stats().Refused)
	}
}
