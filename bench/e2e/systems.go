package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// tunnelMTU is every tunnel's MTU, so that TCP segments and the UDP test's
// packets are the same size on every system.
const tunnelMTU = 1400

// A system is one tunnel under test: start brings up both ends, with the
// server end answering at innerServer inside the tunnel.
type system struct {
	ID    string `json:"id"`
	Desc  string `json:"description"`
	start func(e *env) (*tunnel, error)
}

// env is what every system's start needs: binaries and a private directory.
type env struct {
	dir          string // private temporary directory, removed at the end
	l2tpvpn, wgo string // binaries built for this run
}

// tunnel is a running system: the process at each end and its interface.
type tunnel struct {
	client, server     *proc
	clientIf, serverIf string
	stopSig            syscall.Signal
	notes              map[string]string // what was negotiated, for the JSON
}

func (t *tunnel) stop() {
	if t.client != nil {
		t.client.stop(t.stopSig, 10*time.Second)
	}
	if t.server != nil {
		t.server.stop(t.stopSig, 10*time.Second)
	}
}

var allSystems = []system{
	{ID: "wireguard-go", Desc: "wireguard-go pair (golang.zx2c4.com/wireguard, configured with wg)", start: startWireGuard},
	{ID: "l2tpvpn-gcm", Desc: "l2tpvpn connect ↔ l2tpvpn serve, L2TP/IPsec ESP aes128gcm16, NAT-T", start: l2tpvpnStarter("aes128gcm16")},
	{ID: "l2tpvpn-cbc", Desc: "l2tpvpn connect ↔ l2tpvpn serve, L2TP/IPsec ESP aes128-sha1 (AES-128-CBC + HMAC-SHA1-96), NAT-T", start: l2tpvpnStarter("aes128-sha1")},
	{ID: "l2tpvpn-plain", Desc: "l2tpvpn connect --ipsec=off ↔ l2tpvpn serve allow-plain-l2tp = true (plain L2TP, no encryption; stands in for l2tpns)", start: l2tpvpnStarter("")},
	{ID: "openvpn", Desc: "OpenVPN 2.6 pair (Debian), TLS mode, AES-128-GCM, UDP, no DCO", start: startOpenVPN},
}

func writePrivate(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// startWireGuard runs wireguard-go at both ends (foreground) and configures
// them with wg over their UAPI sockets.
func startWireGuard(e *env) (t *tunnel, err error) {
	t = &tunnel{clientIf: "l2vbwgc", serverIf: "l2vbwgs", stopSig: syscall.SIGTERM, notes: map[string]string{}}
	defer func() {
		if err != nil {
			t.stop()
		}
	}()
	keys := map[string]string{}
	for _, side := range []string{"c", "s"} {
		priv, err := inNS(nsClient, "wg", "genkey")
		if err != nil {
			return t, err
		}
		priv = strings.TrimSpace(priv)
		path := filepath.Join(e.dir, "wg-"+side+".key")
		if err := writePrivate(path, priv+"\n"); err != nil {
			return t, err
		}
		pub, err := inNS(nsClient, "sh", "-c", "wg pubkey < "+path)
		if err != nil {
			return t, err
		}
		keys[side] = strings.TrimSpace(pub)
	}
	if t.server, err = startIn(nsServer, "wireguard-go (server)", nil, e.wgo, "-f", t.serverIf); err != nil {
		return t, err
	}
	if t.client, err = startIn(nsClient, "wireguard-go (client)", nil, e.wgo, "-f", t.clientIf); err != nil {
		return t, err
	}
	for _, s := range []struct{ ns, ifc, key, port, peer, allowed, endpoint, local, remote string }{
		{nsServer, t.serverIf, "wg-s.key", "51820", keys["c"], innerClient + "/32", underClient + ":51821", innerServer, innerClient},
		{nsClient, t.clientIf, "wg-c.key", "51821", keys["s"], innerServer + "/32", underServer + ":51820", innerClient, innerServer},
	} {
		sock := "/var/run/wireguard/" + s.ifc + ".sock"
		if err := waitFile(sock, 10*time.Second); err != nil {
			return t, err
		}
		steps := [][]string{
			{"wg", "set", s.ifc, "listen-port", s.port, "private-key", filepath.Join(e.dir, s.key),
				"peer", s.peer, "allowed-ips", s.allowed, "endpoint", s.endpoint},
			{"ip", "addr", "add", s.local, "peer", s.remote, "dev", s.ifc},
			{"ip", "link", "set", s.ifc, "mtu", fmt.Sprint(tunnelMTU), "up"},
		}
		for _, a := range steps {
			if _, err := inNS(s.ns, a...); err != nil {
				return t, err
			}
		}
	}
	return t, waitPing(nsClient, innerServer, 10*time.Second)
}

func waitFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	benchUser = "bench"
	benchPW   = "l2v-bench-password"
	benchPSK  = "l2v-bench-psk"
)

// profileDir, when set (-profile), receives CPU profiles of our processes.
var profileDir string

// profileEnv asks an l2tpvpn process for a CPU profile named after the
// system and its role, when -profile is set.
func profileEnv(esp, role string) []string {
	if profileDir == "" {
		return nil
	}
	if esp == "" {
		esp = "plain"
	}
	return []string{"L2TPVPN_CPUPROFILE=" + filepath.Join(profileDir, esp+"-"+role)}
}

// l2tpvpnStarter returns the start of `l2tpvpn serve` and our client with
// one ESP proposal, or plain L2TP when esp is empty.
func l2tpvpnStarter(esp string) func(e *env) (*tunnel, error) {
	return func(e *env) (t *tunnel, err error) {
		t = &tunnel{clientIf: "l2vbcli0", serverIf: "l2vbsrv0", stopSig: syscall.SIGINT, notes: map[string]string{}}
		defer func() {
			if err != nil {
				t.stop()
			}
		}()
		dir, err := os.MkdirTemp(e.dir, "serve-")
		if err != nil {
			return t, err
		}
		cfg := fmt.Sprintf(`listen = [%q]
psk = "env:L2VB_PSK"
pool = "198.51.100.0/24"
server-ip = %q
interface = %q
mtu = %d
users = "users.toml"
`, underServer, innerServer, t.serverIf, tunnelMTU)
		if esp != "" {
			cfg += fmt.Sprintf("esp-proposals = [%q]\n", esp)
		} else {
			cfg += "allow-plain-l2tp = true\n"
		}
		if err := writePrivate(filepath.Join(dir, "serve.toml"), cfg); err != nil {
			return t, err
		}
		users := fmt.Sprintf("[users.%s]\npassword = %q\n", benchUser, benchPW)
		if err := writePrivate(filepath.Join(dir, "users.toml"), users); err != nil {
			return t, err
		}
		t.server, err = startIn(nsServer, "l2tpvpn serve", append([]string{"L2VB_PSK=" + benchPSK, "L2TPVPN_STATE_DIR=" + filepath.Join(dir, "sstate")}, profileEnv(esp, "serve")...),
			e.l2tpvpn, "serve", filepath.Join(dir, "serve.toml"), "--json")
		if err != nil {
			return t, err
		}
		if _, err := t.server.waitLine(`"serve.up"`, `"serve.down"`, 20*time.Second); err != nil {
			return t, err
		}
		args := []string{e.l2tpvpn, "connect", "--json", "--server", underServer, "--user", benchUser,
			"--password-env", "L2VB_PASSWORD", "--interface", t.clientIf, "--route", innerServer + "/32", "--reconnect=false"}
		if esp != "" {
			args = append(args, "--psk-env", "L2VB_PSK", "--esp", esp)
		} else {
			args = append(args, "--ipsec=off")
		}
		t.client, err = startIn(nsClient, "l2tpvpn connect", append([]string{"L2VB_PSK=" + benchPSK, "L2VB_PASSWORD=" + benchPW,
			"L2TPVPN_STATE_DIR=" + filepath.Join(dir, "cstate")}, profileEnv(esp, "client")...), args...)
		if err != nil {
			return t, err
		}
		// The phase 2 event names the ESP transform; "up" the address.
		for {
			l, err := t.client.waitLine(`"event":`, `"event":"down"`, 40*time.Second)
			if err != nil {
				return t, err
			}
			var ev struct{ Event, ESP, IP, Auth string }
			if json.Unmarshal([]byte(l), &ev) != nil {
				continue
			}
			if ev.ESP != "" {
				t.notes["esp"] = ev.ESP
			}
			if ev.Event == "up" {
				t.notes["client_ip"], t.notes["auth"] = ev.IP, ev.Auth
				break
			}
		}
		if esp != "" && t.notes["esp"] != esp {
			return t, fmt.Errorf("client negotiated ESP %q, want %q", t.notes["esp"], esp)
		}
		return t, waitPing(nsClient, innerServer, 10*time.Second)
	}
}
