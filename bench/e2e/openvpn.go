package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// makeCerts writes a throwaway CA and a server and a client certificate
// (P-256, valid for two days) into dir with openssl.
func makeCerts(dir string) error {
	ext := "keyUsage = critical, digitalSignature, keyAgreement\n"
	if err := os.WriteFile(filepath.Join(dir, "server.ext"), []byte(ext+"extendedKeyUsage = serverAuth\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "client.ext"), []byte(ext+"extendedKeyUsage = clientAuth\n"), 0o600); err != nil {
		return err
	}
	ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	steps := [][]string{
		append(append([]string{"req", "-x509"}, ec...), "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=l2v-bench-ca"),
		append(append([]string{"req"}, ec...), "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=l2v-bench-server"),
		append(append([]string{"req"}, ec...), "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=l2v-bench-client"),
		{"x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "2", "-days", "2", "-extfile", "server.ext", "-out", "server.crt"},
		{"x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "3", "-days", "2", "-extfile", "client.ext", "-out", "client.crt"},
	}
	for _, a := range steps {
		cmd := exec.Command("openssl", a...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("openssl %v: %v: %s", a, err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// ovpnCipher finds the data channel cipher in OpenVPN's log: 2.6's P2P
// negotiation line, or the older "Data Channel: cipher" line.
var ovpnCipher = regexp.MustCompile(`NCP negotiation result: .*cipher=([A-Za-z0-9-]+)|Data Channel: cipher '([^']+)'`)

// startOpenVPN runs an OpenVPN point-to-point pair in TLS mode with
// AES-128-GCM as the only data cipher, in userspace (DCO off).
func startOpenVPN(e *env) (t *tunnel, err error) {
	t = &tunnel{clientIf: "l2vbovc", serverIf: "l2vbovs", stopSig: syscall.SIGTERM, notes: map[string]string{}}
	if _, err := exec.LookPath("openvpn"); err != nil {
		return t, fmt.Errorf("openvpn is not installed (apt-get install openvpn)")
	}
	defer func() {
		if err != nil {
			t.stop()
		}
	}()
	dir := filepath.Join(e.dir, "openvpn")
	if _, err := os.Stat(filepath.Join(dir, "client.crt")); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return t, err
		}
		if err := makeCerts(dir); err != nil {
			return t, err
		}
	}
	common := []string{"openvpn", "--dev-type", "tun", "--proto", "udp", "--port", "1194",
		"--data-ciphers", "AES-128-GCM", "--cipher", "AES-128-GCM", "--tun-mtu", fmt.Sprint(tunnelMTU),
		"--disable-dco", "--ca", filepath.Join(dir, "ca.crt"), "--verb", "3", "--ping", "10", "--ping-exit", "120"}
	srv := append(append([]string{}, common...), "--dev", t.serverIf, "--local", underServer, "--tls-server", "--dh", "none",
		"--cert", filepath.Join(dir, "server.crt"), "--key", filepath.Join(dir, "server.key"),
		"--ifconfig", innerServer, innerClient, "--remote", underClient)
	cli := append(append([]string{}, common...), "--dev", t.clientIf, "--local", underClient, "--tls-client",
		"--remote-cert-tls", "server", "--cert", filepath.Join(dir, "client.crt"), "--key", filepath.Join(dir, "client.key"),
		"--ifconfig", innerClient, innerServer, "--remote", underServer)
	if t.server, err = startIn(nsServer, "openvpn (server)", nil, srv...); err != nil {
		return t, err
	}
	if t.client, err = startIn(nsClient, "openvpn (client)", nil, cli...); err != nil {
		return t, err
	}
	for _, p := range []*proc{t.server, t.client} {
		if _, err := p.waitLine("Initialization Sequence Completed", "Exiting due to fatal error", 30*time.Second); err != nil {
			return t, err
		}
	}
	if m := ovpnCipher.FindStringSubmatch(t.client.output(200)); m != nil {
		t.notes["cipher"] = m[1] + m[2]
	}
	if t.notes["cipher"] != "AES-128-GCM" {
		return t, fmt.Errorf("openvpn's data channel cipher is %q, want AES-128-GCM; it printed:\n%s", t.notes["cipher"], t.client.output(30))
	}
	return t, waitPing(nsClient, innerServer, 10*time.Second)
}
