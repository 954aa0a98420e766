//go:build integration

package integration

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// The serve lab: our own server in l2v-sv-s (192.0.2.113) and our client in
// l2v-sv-c (192.0.2.114), joined by a veth; both namespaces belong to the
// test and are deleted at its end.
const (
	serveNS, serveClientNS = "l2v-sv-s", "l2v-sv-c"
	serveAddr, serveClient = "192.0.2.113", "192.0.2.114"
	// a second client namespace on a second server address
	serveClientNS2           = "l2v-sv-d"
	serveAddr2, serveClient2 = "192.0.2.129", "192.0.2.130"
	serveGW                  = "198.51.100.161" // the server's PPP address
	servePSK                 = "l2v-serve-psk"
)

func serveLab(t *testing.T) {
	t.Helper()
	for _, ns := range []string{serveNS, serveClientNS, serveClientNS2} {
		exec.Command("ip", "netns", "del", ns).Run() // a killed earlier run's
	}
	steps := [][]string{
		{"netns", "add", serveNS}, {"netns", "add", serveClientNS},
		{"link", "add", "l2v-sv-s0", "netns", serveNS, "type", "veth", "peer", "name", "l2v-sv-c0", "netns", serveClientNS},
		{"-n", serveNS, "addr", "add", serveAddr + "/28", "dev", "l2v-sv-s0"},
		{"-n", serveClientNS, "addr", "add", serveClient + "/28", "dev", "l2v-sv-c0"},
		{"-n", serveNS, "link", "set", "l2v-sv-s0", "up"}, {"-n", serveClientNS, "link", "set", "l2v-sv-c0", "up"},
		{"-n", serveNS, "link", "set", "lo", "up"}, {"-n", serveClientNS, "link", "set", "lo", "up"},
		{"netns", "add", serveClientNS2},
		{"link", "add", "l2v-sv-s1", "netns", serveNS, "type", "veth", "peer", "name", "l2v-sv-d0", "netns", serveClientNS2},
		{"-n", serveNS, "addr", "add", serveAddr2 + "/28", "dev", "l2v-sv-s1"},
		{"-n", serveClientNS2, "addr", "add", serveClient2 + "/28", "dev", "l2v-sv-d0"},
		{"-n", serveNS, "link", "set", "l2v-sv-s1", "up"}, {"-n", serveClientNS2, "link", "set", "l2v-sv-d0", "up"},
		{"-n", serveClientNS2, "link", "set", "lo", "up"},
	}
	t.Cleanup(func() {
		for _, ns := range []string{serveNS, serveClientNS, serveClientNS2} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, a := range steps {
		if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", a, err, out)
		}
	}
}

func ntHash(pw string) string {
	h := md4.New()
	for _, u := range utf16.Encode([]rune(pw)) {
		h.Write([]byte{byte(u), byte(u >> 8)})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startServe writes the config and users files and starts `l2tpvpn serve
// --json` in the server namespace; it returns once serve.up is out.
func startServe(t *testing.T, extra string) (*client, string) {
	t.Helper()
	return startServeIn(t, t.TempDir(), `listen = ["`+serveAddr+`"]`+"\n"+extra, "")
}

// serveUsers is the users file: alice with an NT hash, bob with a
// password, and more.
func serveUsers(more string) string {
	return "[users.alice]\nnt-hash = \"" + ntHash(password) + "\"\n\n[users.bob]\npassword = \"" + password + "\"\n" + more
}

func writeServeFiles(t *testing.T, dir, extra, moreUsers string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "users.toml"), []byte(serveUsers(moreUsers)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `psk = "env:L2V_SERVE_PSK"
pool = "198.51.100.160/27"
server-ip = "` + serveGW + `"
dns = ["198.51.100.161"]
interface = "l2v-srv0"
users = "users.toml"
` + extra
	path := filepath.Join(dir, "serve.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startServeIn(t *testing.T, dir, extra, moreUsers string) (*client, string) {
	t.Helper()
	path := writeServeFiles(t, dir, extra, moreUsers)
	cmd := exec.Command("ip", "netns", "exec", serveNS, bin, "serve", path, "--json")
	cmd.Env = append(os.Environ(), "L2V_SERVE_PSK="+servePSK, "L2TPVPN_STATE_DIR="+filepath.Join(dir, "state"))
	s := runClient(t, cmd)
	s.waitEvent("serve.up", 20*time.Second)
	return s, filepath.Join(dir, "state")
}

// serveCmd runs `l2tpvpn serve ARGS` (status, disconnect, ...) against the
// server whose state directory is state.
func serveCmd(t *testing.T, state string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", serveNS, bin, "serve"}, args...)...)
	cmd.Env = append(os.Environ(), "L2TPVPN_STATE_DIR="+state)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// serveConnect starts our client against the serve lab.
func serveConnect(t *testing.T, who, pw string, args ...string) *client {
	t.Helper()
	return serveConnectFrom(t, serveClientNS, serveAddr, who, pw, args...)
}

func serveConnectFrom(t *testing.T, ns, addr, who, pw string, args ...string) *client {
	t.Helper()
	full := append([]string{"netns", "exec", ns, bin, "connect", "--json", "--server", addr, "--user", who,
		"--password-env", "L2V_TEST_PASSWORD", "--interface", "l2v-tun0", "--route", serveGW + "/32", "--reconnect=false"}, args...)
	cmd := exec.Command("ip", full...)
	cmd.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+pw, "L2V_SERVE_PSK="+servePSK)
	return runClient(t, cmd)
}

// Issue 14: our client against `l2tpvpn serve`, with IPsec (MS-CHAPv2 from
// an NT hash) and plain L2TP (CHAP-MD5 from a password): the client comes
// up with a pool address, traffic flows both ways through the server's TUN
// device, the server's events and status name the client, a wrong password
// is an auth failure on both sides, and disconnects are reported.
func TestServeOwnClient(t *testing.T) {
	serveLab(t)
	srv, state := startServe(t, "allow-plain-l2tp = true\n")

	c := serveConnect(t, "alice", password, "--psk-env", "L2V_SERVE_PSK")
	up := c.waitEvent("up", 30*time.Second)
	if !strings.HasPrefix(up.IP, "198.51.100.") || up.Auth != "mschapv2" {
		t.Errorf("client up: ip %q auth %q", up.IP, up.Auth)
	}
	sup := srv.waitEvent("client.up", 10*time.Second)
	if sup.User != "alice" || sup.Inner != up.IP || sup.IPsec == "" || !strings.HasPrefix(sup.Outer, serveClient+":") {
		t.Errorf("server's client.up: %+v", sup)
	}
	if out, err := inNS(serveClientNS, "ping", "-c", "2", "-W", "3", serveGW); err != nil {
		t.Errorf("client → server through the tunnel: %v\n%s", err, out)
	}
	if out, err := inNS(serveNS, "ping", "-c", "2", "-W", "3", up.IP); err != nil {
		t.Errorf("server → client through the tunnel: %v\n%s", err, out)
	}
	out, err := serveCmd(t, state, "status", "--json")
	var st struct {
		Clients []struct{ User, Inner, IPsec, IKE string } `json:"clients"`
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || len(st.Clients) != 1 || st.Clients[0].User != "alice" || st.Clients[0].Inner != up.IP || st.Clients[0].IKE == "" {
		t.Errorf("serve status: %v\n%s", err, out)
	}
	c.disconnect()
	if down := srv.waitEvent("client.down", 10*time.Second); down.User != "alice" || down.Reason != "client" {
		t.Errorf("server's client.down: %+v", down)
	}

	// Plain L2TP, CHAP-MD5 from bob's cleartext password.
	c = serveConnect(t, "bob", password, "--ipsec=off", "--auth", "chap")
	up = c.waitEvent("up", 30*time.Second)
	if sup := srv.waitEvent("client.up", 10*time.Second); sup.User != "bob" || sup.IPsec != "" || sup.Inner != up.IP {
		t.Errorf("server's client.up (plain): %+v", sup)
	}
	if out, err := inNS(serveClientNS, "ping", "-c", "2", "-W", "3", serveGW); err != nil {
		t.Errorf("plain: client → server: %v\n%s", err, out)
	}
	c.disconnect()
	srv.waitEvent("client.down", 10*time.Second)

	// A wrong password: auth failure on both sides.
	c = serveConnect(t, "alice", "not-the-password", "--psk-env", "L2V_SERVE_PSK")
	if code := c.wait(); code != 5 {
		t.Errorf("wrong password: client exit %d, want 5", code)
	}
	if down := srv.waitEvent("client.down", 10*time.Second); down.Reason != "auth" {
		t.Errorf("wrong password: server's client.down %+v", down)
	}

	srv.cmd.Process.Signal(syscall.SIGINT)
	if code := srv.wait(); code != 0 {
		t.Errorf("serve after SIGINT: exit %d", code)
	}
	if out, err := inNS(serveNS, "ip", "link", "show", "l2v-srv0"); err == nil {
		t.Errorf("the server's TUN device is still there:\n%s", out)
	}
}

// Issue 14: several clients at once on two server addresses (each hears
// back from the address it sent to), bob's fixed address from the users
// file, an administrative disconnect of one client that leaves the other
// up, a users file reloaded on SIGHUP without dropping anyone, and a
// users file others may read refused at start.
func TestServeManyClients(t *testing.T) {
	serveLab(t)
	dir := t.TempDir()
	const bobAddr = "198.51.100.170"
	srv, state := startServeIn(t, dir, `listen = ["`+serveAddr+`", "`+serveAddr2+`"]`+"\n", "address = \""+bobAddr+"\"\n")

	a := serveConnect(t, "alice", password, "--psk-env", "L2V_SERVE_PSK")
	aup := a.waitEvent("up", 30*time.Second)
	b := serveConnectFrom(t, serveClientNS2, serveAddr2, "CORP\\bob", password, "--psk-env", "L2V_SERVE_PSK")
	bup := b.waitEvent("up", 30*time.Second)
	if bup.IP != bobAddr {
		t.Errorf("bob (as CORP\\bob) got %s, want his fixed address %s", bup.IP, bobAddr)
	}
	if aup.IP == bup.IP {
		t.Errorf("both clients got %s", aup.IP)
	}
	for _, c := range []struct{ ns, ip string }{{serveClientNS, aup.IP}, {serveClientNS2, bup.IP}} {
		if out, err := inNS(c.ns, "ping", "-c", "1", "-W", "3", serveGW); err != nil {
			t.Errorf("%s → server: %v\n%s", c.ns, err, out)
		}
		if out, err := inNS(serveNS, "ping", "-c", "1", "-W", "3", c.ip); err != nil {
			t.Errorf("server → %s: %v\n%s", c.ip, err, out)
		}
	}
	out, err := serveCmd(t, state, "status")
	if err != nil || !strings.Contains(out, "2 client(s)") || !strings.Contains(out, bobAddr) || !strings.Contains(out, serveClient2+":") {
		t.Errorf("serve status: %v\n%s", err, out)
	}

	// The administrator disconnects bob; alice stays.
	dc := exec.Command("ip", "netns", "exec", serveNS, bin, "disconnect", "--client", bobAddr)
	dc.Env = append(os.Environ(), "L2TPVPN_STATE_DIR="+state)
	if out, err := dc.CombinedOutput(); err != nil || !strings.Contains(string(out), "disconnecting 1 client(s)") {
		t.Fatalf("disconnect --client %s: %v\n%s", bobAddr, err, out)
	}
	b.wait()
	if down := b.last("down"); down.Reason == "none" || down.Reason == "" {
		t.Errorf("bob's client after the disconnect: down %+v", down)
	}
	if out, err := inNS(serveClientNS, "ping", "-c", "1", "-W", "3", serveGW); err != nil {
		t.Errorf("alice lost the tunnel when bob was disconnected: %v\n%s", err, out)
	}

	// carol is not a user yet; after SIGHUP she is, and alice stays up.
	c := serveConnectFrom(t, serveClientNS2, serveAddr2, "carol", password, "--psk-env", "L2V_SERVE_PSK")
	if code := c.wait(); code != 5 {
		t.Errorf("carol before the reload: exit %d, want 5 (auth)", code)
	}
	users := serveUsers("address = \"" + bobAddr + "\"\n\n[users.carol]\nnt-hash = \"" + ntHash(password) + "\"\n")
	if err := os.WriteFile(filepath.Join(dir, "users.toml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Process.Signal(syscall.SIGHUP)
	srv.waitEvent("users.reloaded", 10*time.Second)
	c = serveConnectFrom(t, serveClientNS2, serveAddr2, "carol", password, "--psk-env", "L2V_SERVE_PSK")
	c.waitEvent("up", 30*time.Second)
	if out, err := inNS(serveClientNS, "ping", "-c", "1", "-W", "3", serveGW); err != nil {
		t.Errorf("alice lost the tunnel over the reload: %v\n%s", err, out)
	}
	c.disconnect()
	a.disconnect()
	srv.cmd.Process.Signal(syscall.SIGINT)
	srv.wait()

	// A users file others may read: refused at start, with the fix.
	if err := os.Chmod(filepath.Join(dir, "users.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", serveNS, bin, "serve", filepath.Join(dir, "serve.toml"))
	cmd.Env = append(os.Environ(), "L2V_SERVE_PSK="+servePSK, "L2TPVPN_STATE_DIR="+state)
	outb, err := cmd.CombinedOutput()
	if code := exitCodeOf(t, err); code != 2 || !strings.Contains(string(outb), "chmod 600") {
		t.Errorf("serve with a users file of mode 0644: exit %d, want 2 naming chmod 600:\n%s", code, outb)
	}
}

// Issue 14: two clients behind one NAT (a router namespace masquerading
// out of l2v-sv-c): the server tells them apart by address and port, both
// are up with their own address, and traffic flows for each.
func TestServeTwoBehindOneNAT(t *testing.T) {
	serveLab(t)
	const router = serveClientNS // masquerades out of l2v-sv-c0 (192.0.2.114)
	nets := []struct{ ns, veth, rveth, raddr, caddr string }{
		{"l2v-sv-n1", "l2v-sv-n1c", "l2v-sv-n1r", "203.0.113.97", "203.0.113.98"},
		{"l2v-sv-n2", "l2v-sv-n2c", "l2v-sv-n2r", "203.0.113.113", "203.0.113.114"},
	}
	for _, n := range nets {
		exec.Command("ip", "netns", "del", n.ns).Run()
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n.ns).Run() })
		for _, a := range [][]string{
			{"netns", "add", n.ns},
			{"link", "add", n.rveth, "netns", router, "type", "veth", "peer", "name", n.veth, "netns", n.ns},
			{"-n", router, "addr", "add", n.raddr + "/28", "dev", n.rveth},
			{"-n", n.ns, "addr", "add", n.caddr + "/28", "dev", n.veth},
			{"-n", router, "link", "set", n.rveth, "up"}, {"-n", n.ns, "link", "set", n.veth, "up"},
			{"-n", n.ns, "link", "set", "lo", "up"},
			{"-n", n.ns, "route", "add", "default", "via", n.raddr},
		} {
			if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v\n%s", a, err, out)
			}
		}
	}
	for _, args := range [][]string{
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"nft", "add", "table", "ip", "l2vnat"},
		{"nft", "add", "chain", "ip", "l2vnat", "post", "{ type nat hook postrouting priority srcnat; }"},
		{"nft", "add", "rule", "ip", "l2vnat", "post", "oifname", "l2v-sv-c0", "masquerade"},
	} {
		if out, err := inNS(router, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	srv, state := startServe(t, "")
	var ups []event
	for i, n := range nets {
		who := []string{"alice", "bob"}[i]
		full := []string{"netns", "exec", n.ns, bin, "connect", "--json", "--server", serveAddr, "--user", who,
			"--password-env", "L2V_TEST_PASSWORD", "--psk-env", "L2V_SERVE_PSK", "--interface", "l2v-tun0",
			"--route", serveGW + "/32", "--reconnect=false", "--name", "l2v-nat-" + who}
		cmd := exec.Command("ip", full...)
		cmd.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+password, "L2V_SERVE_PSK="+servePSK)
		c := runClient(t, cmd)
		ups = append(ups, c.waitEvent("up", 30*time.Second))
		t.Cleanup(func() { c.disconnect() })
	}
	outers := map[string]bool{}
	for i := 0; i < 2; i++ {
		ev := srv.waitEvent("client.up", 10*time.Second)
		if !strings.HasPrefix(ev.Outer, serveClient+":") {
			t.Errorf("client.up from %q, want the NAT's address %s", ev.Outer, serveClient)
		}
		outers[ev.Outer] = true
	}
	if len(outers) != 2 || ups[0].IP == ups[1].IP {
		t.Errorf("two clients behind one NAT: outer %v, addresses %s %s", outers, ups[0].IP, ups[1].IP)
	}
	for i, n := range nets {
		if out, err := inNS(n.ns, "ping", "-c", "2", "-W", "3", serveGW); err != nil {
			t.Errorf("%s → server: %v\n%s", n.ns, err, out)
		}
		if out, err := inNS(serveNS, "ping", "-c", "1", "-W", "3", ups[i].IP); err != nil {
			t.Errorf("server → %s: %v\n%s", ups[i].IP, err, out)
		}
	}
	if out, err := serveCmd(t, state, "status"); err != nil || !strings.Contains(out, "2 client(s)") {
		t.Errorf("serve status: %v\n%s", err, out)
	}
}

// Issue 14: serve --background detaches once serving (the PSK from env:
// reaches the detached half through a pipe), answers status, serves a
// client, and 'serve stop' ends it and removes its TUN device.
func TestServeBackground(t *testing.T) {
	serveLab(t)
	dir := t.TempDir()
	path := writeServeFiles(t, dir, `listen = ["`+serveAddr+`"]`+"\n", "")
	state := filepath.Join(dir, "state")
	cmd := exec.Command("ip", "netns", "exec", serveNS, bin, "serve", path, "--background")
	cmd.Env = append(os.Environ(), "L2V_SERVE_PSK="+servePSK, "L2TPVPN_STATE_DIR="+state)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "serving (pid ") {
		t.Fatalf("serve --background: %v\n%s", err, out)
	}
	t.Cleanup(func() { serveCmd(t, state, "stop") })
	if out, err := serveCmd(t, state, "status"); err != nil || !strings.Contains(out, "0 client(s)") {
		t.Errorf("status of the detached server: %v\n%s", err, out)
	}
	c := serveConnect(t, "alice", password, "--psk-env", "L2V_SERVE_PSK")
	c.waitEvent("up", 30*time.Second)
	if out, err := inNS(serveClientNS, "ping", "-c", "1", "-W", "3", serveGW); err != nil {
		t.Errorf("through the detached server: %v\n%s", err, out)
	}
	c.disconnect()
	if out, err := serveCmd(t, state, "stop"); err != nil {
		t.Fatalf("serve stop: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := serveCmd(t, state, "status")
		if code := exitCodeOf(t, err); code == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the detached server still answers 15 s after serve stop")
		}
		time.Sleep(200 * time.Millisecond) // polling a process we do not wait for
	}
	if out, err := inNS(serveNS, "ip", "link", "show", "l2v-srv0"); err == nil {
		t.Errorf("the TUN device outlived the server:\n%s", out)
	}
	log, err := os.ReadFile(filepath.Join(state, "serve.log"))
	if err != nil || strings.Contains(string(log), servePSK) || strings.Contains(string(log), "DATA RACE") {
		t.Errorf("serve.log: %v (holds the PSK or a race report?)\n%s", err, log)
	}
}

// Issue 14, nat = true: the clients reach a network behind the server
// that has no route back to the pool (l2v-sv-o, 192.0.2.178), because the
// server masquerades them out of l2v-sv-s2; its nftables table exists
// while it runs and is gone after, and forwarding is restored.
func TestServeNAT(t *testing.T) {
	serveLab(t)
	const outNS, outAddr, srvAddr = "l2v-sv-o", "192.0.2.178", "192.0.2.177"
	exec.Command("ip", "netns", "del", outNS).Run()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", outNS).Run() })
	for _, a := range [][]string{
		{"netns", "add", outNS},
		{"link", "add", "l2v-sv-s2", "netns", serveNS, "type", "veth", "peer", "name", "l2v-sv-o0", "netns", outNS},
		{"-n", serveNS, "addr", "add", srvAddr + "/28", "dev", "l2v-sv-s2"},
		{"-n", outNS, "addr", "add", outAddr + "/28", "dev", "l2v-sv-o0"},
		{"-n", serveNS, "link", "set", "l2v-sv-s2", "up"}, {"-n", outNS, "link", "set", "l2v-sv-o0", "up"},
	} {
		if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", a, err, out)
		}
	}
	fwdBefore, _ := inNS(serveNS, "sysctl", "-n", "net.ipv4.ip_forward")
	srv, _ := startServe(t, "nat = true\nnat-out = \"l2v-sv-s2\"\n")
	if out, err := inNS(serveNS, "nft", "list", "table", "ip", "l2tpvpn_serve"); err != nil || !strings.Contains(out, "masquerade") {
		t.Errorf("the NAT table while serving: %v\n%s", err, out)
	}
	c := serveConnect(t, "alice", password, "--psk-env", "L2V_SERVE_PSK", "--route", outAddr+"/32")
	c.waitEvent("up", 30*time.Second)
	if out, err := inNS(serveClientNS, "ping", "-c", "2", "-W", "3", outAddr); err != nil {
		t.Errorf("client → the network behind the server (masqueraded): %v\n%s", err, out)
	}
	c.disconnect()
	srv.cmd.Process.Signal(syscall.SIGINT)
	srv.wait()
	if out, err := inNS(serveNS, "nft", "list", "table", "ip", "l2tpvpn_serve"); err == nil {
		t.Errorf("the NAT table outlived the server:\n%s", out)
	}
	if fwd, _ := inNS(serveNS, "sysctl", "-n", "net.ipv4.ip_forward"); fwd != fwdBefore {
		t.Errorf("ip_forward %q after the server, %q before", fwd, fwdBefore)
	}
}

// Issue 14, rekey: with esp-lifetime = "20s" the child SA is replaced
// before it ends (by the server, or by our client, whichever is first at
// 85-90 % of it): the client reports a second phase 2 with rekey set, and
// traffic goes on through the new SA.
func TestServeRekey(t *testing.T) {
	serveLab(t)
	startServe(t, "esp-lifetime = \"20s\"\n")
	c := serveConnect(t, "alice", password, "--psk-env", "L2V_SERVE_PSK")
	c.waitEvent("up", 30*time.Second)
	deadline := time.After(40 * time.Second)
	for rekeyed := false; !rekeyed; {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatalf("client ended (%d) before a rekey", c.wait())
			}
			rekeyed = ev.Event == "ike.phase2.up" && ev.Rekey
		case <-deadline:
			t.Fatal("no child SA rekey within 40 s of a 20 s lifetime")
		}
	}
	if out, err := inNS(serveClientNS, "ping", "-c", "3", "-W", "3", serveGW); err != nil {
		t.Errorf("after the rekey: %v\n%s", err, out)
	}
	c.disconnect()
}

// Issue 14, a defect: the client's first LCP Configure-Request follows its
// ICCN at once and could be read before the server had made the session;
// it was dropped and the client waited out its PPP restart timer, so
// about half the connects took 3 s more. The server now keeps such early
// data until the session is ready: every connect is up well within the
// restart timer.
func TestServeConnectTime(t *testing.T) {
	serveLab(t)
	startServe(t, "allow-plain-l2tp = true\n")
	for i := range 6 {
		args := []string{"--psk-env", "L2V_SERVE_PSK"}
		if i%2 == 1 {
			args = []string{"--ipsec=off"}
		}
		c := serveConnect(t, "alice", password, args...)
		up := c.waitEvent("up", 30*time.Second)
		if up.ElapsedMS >= 1500 {
			t.Errorf("connect %d (%v): up after %d ms, want well below the 3 s PPP restart timer", i, args, up.ElapsedMS)
		}
		c.disconnect()
	}
}
