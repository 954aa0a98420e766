//go:build integration

package integration

// Certificate authentication against the real strongSwan responder (issue
// 11, acceptance 1 and 2): RSA with PEM files and with PKCS#12, RSA 4096
// with IKE fragmentation forced both ways, ECDSA P-256; and the failures
// with their exit codes.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// certConf is the responder's conn: pubkey both ways, its certificate from
// the swanctl directory, tunnel mode to l2tpns.
func certConf(fragmentation string) string {
	return "connections {" + swConn("certs", "fragmentation = "+fragmentation,
		"auth = pubkey\ncerts = server.pem", "auth = pubkey", "aes128-sha1,aes128gcm16") + "\n}\n"
}

// swLoadPKI writes conf into the PKI's swanctl directory and loads it with
// the credentials beside it.
func swLoadPKI(t *testing.T, p *labPKI, conf string) {
	t.Helper()
	path := filepath.Join(p.dir, "swanctl.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	script(t, nil, "swload", path)
	t.Cleanup(func() { script(t, nil, "swconf", "", "") })
}

func certArgs(p *labPKI, extra ...string) []string {
	return append([]string{"--ipsec=on", "--esp-mode", "tunnel", "--cert", p.clientCert, "--key", p.clientKey, "--ca", p.caFile}, extra...)
}

// certSession is a whole session (transfer included) with certificates;
// it checks the identities both ways.
func certSession(t *testing.T, p *labPKI, env []string, args []string) (p1 event) {
	t.Helper()
	start := time.Now()
	evs := session(t, labSW, "pap", env, args...)
	p1, _ = ikeEvents(t, evs, "tunnel")
	if want := "dn:" + p.serverSubject; p1.PeerID != want {
		t.Errorf("peer id %q, want %q", p1.PeerID, want)
	}
	if !strings.HasPrefix(p1.LocalID, "dn:") || !strings.Contains(p1.LocalID, "CN=alice@lab.example") {
		t.Errorf("local id %q, want our certificate's DN", p1.LocalID)
	}
	t.Logf("certificate session in %v (phase 1 at %d ms)", time.Since(start).Round(time.Millisecond), p1.ElapsedMS)
	return p1
}

func TestStrongSwanCertificates(t *testing.T) {
	labSW.up(t)
	t.Run("RSA-PEM", func(t *testing.T) {
		p := newLabPKI(t, rsa2048, nil, time.Now().Add(24*time.Hour))
		swLoadPKI(t, p, certConf("no"))
		certSession(t, p, nil, certArgs(p, "--remote-id", "dn:"+p.serverSubject))
	})
	t.Run("RSA-PKCS12", func(t *testing.T) {
		p := newLabPKI(t, rsa2048, nil, time.Now().Add(24*time.Hour))
		swLoadPKI(t, p, certConf("no"))
		bundle, err := pkcs12.Modern.Encode(p.clientKeyObj, p.clientCertObj, nil, "l2v-p12-pass")
		if err != nil {
			t.Fatal(err)
		}
		p12 := filepath.Join(p.dir, "client", "alice.p12")
		if err := os.WriteFile(p12, bundle, 0o600); err != nil {
			t.Fatal(err)
		}
		certSession(t, p, []string{"L2V_TEST_P12=l2v-p12-pass"}, []string{"--ipsec=on", "--esp-mode", "tunnel",
			"--pkcs12", p12, "--pkcs12-password", "env:L2V_TEST_P12", "--ca", p.caFile})
	})
	t.Run("RSA4096-Fragmented", func(t *testing.T) {
		p := newLabPKI(t, rsa4096, nil, time.Now().Add(24*time.Hour))
		swLoadPKI(t, p, certConf("force"))
		cap := startCapture(t, labSW.clientNS, "l2v-sw-c0")
		certSession(t, p, nil, certArgs(p, "--ike-fragmentation", "force"))
		cap.stop(t)
		ours, theirs := fragmentsIn(t, cap.file)
		t.Logf("IKE fragments on the wire: %d from us, %d from the server", ours, theirs)
		if ours == 0 || theirs == 0 {
			t.Errorf("IKE fragments: %d sent, %d received; want both (4096-bit certificates, fragmentation forced)", ours, theirs)
		}
	})
	t.Run("ECDSA-P256", func(t *testing.T) {
		p := newLabPKI(t, p256, nil, time.Now().Add(24*time.Hour))
		swLoadPKI(t, p, certConf("no"))
		certSession(t, p, nil, certArgs(p))
	})

	// Failures: the server's certificate is untrusted (16), expired (16),
	// names another identity than remote-id (16); ours is refused (11).
	other := newCA(t, "some other CA", rsa2048)
	for _, tc := range []struct {
		name     string
		serverCA *pkiCA
		notAfter time.Time
		args     []string
		code     int
		text     string
	}{
		{"ServerFromOtherCA", other, time.Now().Add(24 * time.Hour), nil, 16, "not among the trusted CAs"},
		{"ServerExpired", nil, time.Now().Add(-time.Hour), nil, 16, "expired on"},
		{"RemoteIDMismatch", nil, time.Now().Add(24 * time.Hour), []string{"--remote-id", "fqdn:other.lab.example"}, 16, "not the expected remote-id fqdn:other.lab.example"},
		{"OurCertRefused", nil, time.Now().Add(24 * time.Hour), nil, 11, "did not accept our certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newLabPKI(t, rsa2048, tc.serverCA, tc.notAfter)
			if tc.name == "OurCertRefused" {
				// The server trusts only a CA that did not issue ours.
				writePEM(t, filepath.Join(p.dir, "x509ca", "ca.pem"), "CERTIFICATE", other.cert.Raw)
				writePEM(t, p.caFile, "CERTIFICATE", p.ca.cert.Raw)
			}
			swLoadPKI(t, p, certConf("no"))
			ikeFailure(t, labSW, nil, certArgs(p, tc.args...), tc.code, tc.text)
		})
	}
}

// fragmentsIn counts the IKE fragment messages (ISAKMP next payload 132)
// in a capture: sent by the client and by the server.
func fragmentsIn(t *testing.T, file string) (ours, theirs int) {
	t.Helper()
	dir := t.TempDir()
	out := tshark(t, dir, "-r", file, "-Y", "isakmp.nextpayload == 132", "-T", "fields", "-e", "ip.src")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch strings.TrimSpace(l) {
		case labSW.client:
			ours++
		case labSW.server:
			theirs++
		}
	}
	if ours+theirs == 0 {
		t.Logf("capture summary:\n%s", tshark(t, dir, "-r", file))
	}
	return ours, theirs
}
