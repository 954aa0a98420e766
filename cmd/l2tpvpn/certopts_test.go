package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// certFiles writes a CA, a client certificate and its key (mode 0600) and a
// PKCS#12 bundle with password "p12-pass"; it returns their paths.
func certFiles(t *testing.T) (ca, cert, key, p12 string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unit CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "alice"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, caCert, k.Public(), caKey)
	leaf, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	ca, cert, key, p12 = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "alice.pem"), filepath.Join(dir, "alice.key"), filepath.Join(dir, "alice.p12")
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	write(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	bundle, err := pkcs12.Modern.Encode(k, leaf, []*x509.Certificate{caCert}, "p12-pass")
	if err != nil {
		t.Fatal(err)
	}
	write(p12, bundle)
	return ca, cert, key, p12
}

func certConfigOf(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Setenv("L2TPVPN_STATE_DIR", t.TempDir())
	t.Setenv("L2V_UNIT_PW", "s3cret-value")
	t.Setenv("L2V_UNIT_PSK", "psk-value")
	t.Setenv("L2V_UNIT_P12", "p12-pass")
	base := []string{"--server", "192.0.2.1", "--user", "a", "--password-env", "L2V_UNIT_PW", "--dry-run"}
	o, err := parseConnect(append(base, args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(&bytes.Buffer{}, nil, nil)
	if err != nil {
		return "", err
	}
	if cfg.Cert == nil {
		t.Fatal("no credential loaded")
	}
	var lines []string
	for _, s := range effectiveSettings(o, cfg) {
		lines = append(lines, s.key+" "+s.value)
	}
	return strings.Join(lines, "\n"), nil
}

func TestCertOptions(t *testing.T) {
	ca, cert, key, p12 := certFiles(t)
	out, err := certConfigOf(t, "--cert", cert, "--key", key, "--ca", ca)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "certificate CN=alice (issuer CN=unit CA") || strings.Contains(out, "psk ") {
		t.Errorf("dry run:\n%s", out)
	}
	out, err = certConfigOf(t, "--pkcs12", p12, "--pkcs12-password", "env:L2V_UNIT_P12", "--ca", ca)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "pkcs12-password [redacted]") || strings.Contains(out, "p12-pass") {
		t.Errorf("dry run shows the PKCS#12 password or not where it comes from:\n%s", out)
	}
}

func TestCertOptionErrors(t *testing.T) {
	ca, cert, key, p12 := certFiles(t)
	open := filepath.Join(t.TempDir(), "open.key")
	b, _ := os.ReadFile(key)
	os.WriteFile(open, b, 0o644)
	os.Chmod(open, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cert", cert, "--key", open, "--ca", ca}, "--key: file " + open + " is readable by everyone (mode 0644): chmod 600"},
		{[]string{"--cert", cert, "--key", key}, "--ca: is required with certificates"},
		{[]string{"--cert", cert, "--ca", ca}, "--key: is required with cert"},
		{[]string{"--cert", cert, "--key", key, "--ca", ca, "--psk-env", "L2V_UNIT_PSK"}, "--psk: give either psk or a certificate"},
		{[]string{"--pkcs12", p12, "--pkcs12-password", "env:L2V_UNIT_PW", "--ca", ca}, "--pkcs12: "},
		{[]string{"--cert", key, "--key", key, "--ca", ca}, "--cert: "},
		{[]string{"--ca", ca, "--psk-env", "L2V_UNIT_PSK"}, "--ca: is used only with cert or pkcs12"},
	} {
		_, err := certConfigOf(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret-value") || strings.Contains(err.Error(), "p12-pass")) {
			t.Errorf("a secret in %q", err)
		}
	}
}
