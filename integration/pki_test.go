//go:build integration

package integration

// A throwaway PKI for the certificate tests, made with crypto/x509: a CA,
// the sw responder's certificate (its address as subjectAltName, EKU
// serverAuth and IKE intermediate, as LAB.md describes for Windows-style
// setups) and the client's. Written as PEM files in a swanctl directory
// layout (x509ca, x509, private) so "lab.sh swload" loads them with the conf.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// oidIKEIntermediate is id-kp-ipsecIKE's predecessor 1.3.6.1.5.5.8.2.2
// ("IP Security IKE Intermediate"), which Windows wants in server certs.
var oidIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}

type pkiKey string

const (
	rsa2048 pkiKey = "rsa2048"
	rsa4096 pkiKey = "rsa4096"
	p256    pkiKey = "p256"
)

func newKey(t *testing.T, k pkiKey) crypto.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch k {
	case rsa2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case rsa4096:
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case p256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// pkiCA is a CA that issues certificates.
type pkiCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	kind pkiKey
}

var serial int64 = 1

func newCA(t *testing.T, name string, kind pkiKey) *pkiCA {
	t.Helper()
	key := newKey(t, kind)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{Country: []string{"ZZ"}, Organization: []string{"l2tpvpn lab"}, CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &pkiCA{cert: cert, key: key, kind: kind}
}

// issue makes an end-entity certificate; ip, if set, goes into the SAN.
func (ca *pkiCA) issue(t *testing.T, cn string, ip net.IP, server bool, notAfter time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := newKey(t, ca.kind)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{Country: []string{"ZZ"}, Organization: []string{"l2tpvpn lab"}, CommonName: cn},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidIKEIntermediate}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t *testing.T, path string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

// labPKI is one PKI for the sw responder and our client.
type labPKI struct {
	dir                   string // swanctl directory: swanctl.conf goes here
	ca                    *pkiCA
	caFile                string
	clientCert, clientKey string
	clientCertObj         *x509.Certificate
	clientKeyObj          crypto.Signer
	serverCertObj         *x509.Certificate
	serverSubject         string // "C=ZZ, O=l2tpvpn lab, CN=..." as strongSwan prints it
}

// newLabPKI writes the CA, the server's certificate (serverNotAfter) and
// key into the swanctl layout under a fresh directory, and the client's
// certificate and key beside it.
func newLabPKI(t *testing.T, kind pkiKey, serverCA *pkiCA, serverNotAfter time.Time) *labPKI {
	t.Helper()
	dir := t.TempDir()
	ca := newCA(t, "l2tpvpn lab CA", kind)
	if serverCA == nil {
		serverCA = ca
	}
	p := &labPKI{dir: dir, ca: ca, caFile: filepath.Join(dir, "client", "ca.pem")}
	sc, sk := serverCA.issue(t, "vpn.lab.example", net.ParseIP(labSW.server), true, serverNotAfter)
	p.serverCertObj = sc
	p.serverSubject = "C=ZZ, O=l2tpvpn lab, CN=vpn.lab.example"
	writePEM(t, filepath.Join(dir, "x509ca", "ca.pem"), "CERTIFICATE", ca.cert.Raw)
	writePEM(t, filepath.Join(dir, "x509", "server.pem"), "CERTIFICATE", sc.Raw)
	writeKey(t, filepath.Join(dir, "private", "server.key"), sk)
	cc, ck := ca.issue(t, "alice@lab.example", nil, false, time.Now().Add(24*time.Hour))
	p.clientCertObj, p.clientKeyObj = cc, ck
	p.clientCert, p.clientKey = filepath.Join(dir, "client", "alice.pem"), filepath.Join(dir, "client", "alice.key")
	writePEM(t, p.caFile, "CERTIFICATE", ca.cert.Raw)
	writePEM(t, p.clientCert, "CERTIFICATE", cc.Raw)
	writeKey(t, p.clientKey, ck)
	return p
}
