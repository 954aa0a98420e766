package ike

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/secret"
	"software.sslmate.com/src/go-pkcs12"
)

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemOf(typ string, ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	return out
}

func TestLoadCredentialFormats(t *testing.T) {
	dir := t.TempDir()
	rsaPKI := newTestPKI(t, false, "Load RSA")
	ecPKI := newTestPKI(t, true, "Load EC")
	inter := issue(t, ecPKI.ca, "Load Intermediate", testECKey(t, elliptic.P256()), true, nil)
	leaf := issue(t, inter, "carol", testECKey(t, elliptic.P384()), false, nil)

	rsaKey := rsaPKI.client.key.(*rsa.PrivateKey)
	ecKey := leaf.key.(*ecdsa.PrivateKey)
	pkcs8RSA, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	pkcs8EC, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKey)

	rsaCA := writeFile(t, dir, "rsa-ca.pem", pemOf("CERTIFICATE", rsaPKI.ca.cert.Raw))
	ecCA := writeFile(t, dir, "ec-ca.der", ecPKI.ca.cert.Raw)
	rsaCertPEM := writeFile(t, dir, "rsa.pem", pemOf("CERTIFICATE", rsaPKI.client.cert.Raw))
	rsaCertDER := writeFile(t, dir, "rsa.der", rsaPKI.client.cert.Raw)
	chainPEM := writeFile(t, dir, "chain.pem", pemOf("CERTIFICATE", leaf.cert.Raw, inter.cert.Raw))

	for _, tc := range []struct {
		name, cert, key, ca string
		chain               int
		auth                authMethod
	}{
		{"pkcs8 pem rsa", rsaCertPEM, writeFile(t, dir, "k1", pemOf("PRIVATE KEY", pkcs8RSA)), rsaCA, 1, authRSASig},
		{"pkcs8 der rsa", rsaCertDER, writeFile(t, dir, "k2", pkcs8RSA), rsaCA, 1, authRSASig},
		{"pkcs1 pem", rsaCertPEM, writeFile(t, dir, "k3", pemOf("RSA PRIVATE KEY", pkcs1)), rsaCA, 1, authRSASig},
		{"pkcs1 der", rsaCertDER, writeFile(t, dir, "k4", pkcs1), rsaCA, 1, authRSASig},
		{"sec1 pem chain", chainPEM, writeFile(t, dir, "k5", pemOf("EC PRIVATE KEY", sec1)), ecCA, 2, authECDSA384},
		{"sec1 der chain", chainPEM, writeFile(t, dir, "k6", sec1), ecCA, 2, authECDSA384},
		{"pkcs8 pem ec", chainPEM, writeFile(t, dir, "k7", pemOf("PRIVATE KEY", pkcs8EC)), ecCA, 2, authECDSA384},
		{"ca directory", rsaCertPEM, writeFile(t, dir, "k8", pkcs1), dir, 1, authRSASig},
	} {
		c, err := LoadCredential(tc.cert, tc.key, tc.ca)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(c.Chain) != tc.chain || len(c.CAs) == 0 || c.CertSource != tc.cert || c.CASource != tc.ca {
			t.Errorf("%s: chain %d CAs %d sources %q %q", tc.name, len(c.Chain), len(c.CAs), c.CertSource, c.CASource)
		}
		if m, err := checkCredential(c); err != nil || m != tc.auth {
			t.Errorf("%s: %v %v, want %v", tc.name, m, err, tc.auth)
		}
	}
	// The directory holds both CAs (rsa-ca.pem, ec-ca.der), the chain and
	// the client certificates; the key files k* are not read.
	if cas, err := LoadCAs(dir); err != nil || len(cas) != 6 {
		t.Errorf("LoadCAs(dir) = %d certificates, %v", len(cas), err)
	}
}

func TestLoadCredentialErrors(t *testing.T) {
	dir := t.TempDir()
	p := newTestPKI(t, true, "Err")
	other := testECKey(t, elliptic.P256())
	sec1, _ := x509.MarshalECPrivateKey(p.client.key.(*ecdsa.PrivateKey))
	otherDER, _ := x509.MarshalECPrivateKey(other)
	cert := writeFile(t, dir, "c.pem", pemOf("CERTIFICATE", p.client.cert.Raw))
	key := writeFile(t, dir, "k.pem", pemOf("EC PRIVATE KEY", sec1))
	ca := writeFile(t, dir, "ca.pem", pemOf("CERTIFICATE", p.ca.cert.Raw))
	p224, _ := x509.MarshalPKCS8PrivateKey(testECKey(t, elliptic.P224()))
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{
		"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte("opaque")})
	for _, tc := range []struct {
		name, cert, key, ca string
		want                []string
	}{
		{"cert missing", filepath.Join(dir, "nope.pem"), key, ca, []string{"nope.pem", "no such file"}},
		{"not a cert", key, key, ca, []string{"k.pem: no CERTIFICATE block"}},
		{"garbage cert", writeFile(t, dir, "g.crt", []byte("hello")), key, ca, []string{"g.crt: not a certificate"}},
		{"key mismatch", cert, writeFile(t, dir, "o.key", otherDER), ca, []string{"the private key in", "o.key does not match the certificate C=US, O=Example, CN=alice"}},
		{"encrypted key", cert, writeFile(t, dir, "e.key", encrypted), ca, []string{"e.key is encrypted"}},
		{"encrypted pkcs8", cert, writeFile(t, dir, "e8.key", pemOf("ENCRYPTED PRIVATE KEY", []byte("x"))), ca, []string{"e8.key is encrypted"}},
		{"not a key", cert, cert, ca, []string{"c.pem: not a PKCS#8, PKCS#1 or SEC1 private key"}},
		{"unsupported curve", cert, writeFile(t, dir, "224.key", p224), ca, []string{"224.key", "unsupported ECDSA curve P-224"}},
		{"no ca", cert, key, "", []string{"no CA certificate"}},
		{"ca missing", cert, key, filepath.Join(dir, "none"), []string{"none: no such file"}},
		{"empty ca dir", cert, key, t.TempDir(), []string{"no *.pem, *.crt, *.cer or *.der file"}},
	} {
		_, err := LoadCredential(tc.cert, tc.key, tc.ca)
		if err == nil {
			t.Errorf("%s: loaded", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "opaque") || strings.Contains(err.Error(), string(sec1[:8])) {
			t.Errorf("%s: key material in %q", tc.name, err)
		}
	}
}

func TestLoadPKCS12(t *testing.T) {
	dir := t.TempDir()
	p := newTestPKI(t, false, "P12")
	inter := issue(t, p.ca, "P12 Intermediate", testRSAKey(t, 3), true, nil)
	leaf := issue(t, inter, "dave", testRSAKey(t, 2), false, nil)
	pw := secret.FromString("bundle password")
	bundle, err := pkcs12.Modern.Encode(leaf.key, leaf.cert, []*x509.Certificate{inter.cert, p.ca.cert}, "bundle password")
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, dir, "dave.p12", bundle)
	ca := writeFile(t, dir, "ca.pem", pemOf("CERTIFICATE", p.ca.cert.Raw))

	c, err := LoadPKCS12(file, pw, ca)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Chain) != 2 || !c.Chain[1].Equal(inter.cert) || len(c.CAs) != 1 || c.CASource != ca {
		t.Errorf("chain %d, CAs %d from %q", len(c.Chain), len(c.CAs), c.CASource)
	}
	if _, err := checkCredential(c); err != nil {
		t.Error(err)
	}
	// Without ca, the bundle's self-signed CA is the trust anchor.
	c, err = LoadPKCS12(file, pw, "")
	if err != nil || len(c.CAs) != 1 || !c.CAs[0].Equal(p.ca.cert) || len(c.Chain) != 2 {
		t.Errorf("without ca: %v", err)
	}
	legacy, err := pkcs12.Legacy.Encode(leaf.key, leaf.cert, nil, "bundle password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPKCS12(writeFile(t, dir, "legacy.pfx", legacy), pw, ca); err != nil {
		t.Errorf("legacy bundle: %v", err)
	}
	for name, tc := range map[string]struct {
		file string
		pw   secret.Secret
		ca   string
		want string
	}{
		"wrong password": {file, secret.FromString("guess"), ca, "dave.p12: wrong password"},
		"missing":        {filepath.Join(dir, "x.p12"), pw, ca, "x.p12: no such file"},
		"pem":            {ca, pw, ca, "ca.pem: a PEM file, not PKCS#12"},
		"garbage":        {writeFile(t, dir, "g.p12", []byte{0x30, 0x03, 1, 2, 3}), pw, ca, "g.p12: not a readable PKCS#12 file"},
		"no anchor":      {writeFile(t, dir, "l2.pfx", legacy), pw, "", "holds no CA certificate"},
	} {
		_, err := LoadPKCS12(tc.file, tc.pw, tc.ca)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "bundle password") {
			t.Errorf("%s: the password is in %q", name, err)
		}
	}
}
