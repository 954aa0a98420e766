package ike

// Loading the credential of certificate authentication from files:
// certificates in PEM (a file may hold a chain) or DER, private keys in
// PKCS#8, PKCS#1 (RSA) or SEC1 (EC), PEM or DER, PKCS#12 bundles, and CA
// certificates from a file or a directory. Errors name the file and the
// problem, never any key material. Whether a key file is readable by
// others is the caller's check (cmd checks secret files).

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/secret"
	"software.sslmate.com/src/go-pkcs12"
)

// LoadCredential reads our certificate (certFile: PEM, possibly followed by
// the intermediates, or DER), its private key (keyFile) and the CAs that
// the server's certificate must chain to (caPath, see LoadCAs).
func LoadCredential(certFile, keyFile, caPath string) (*Credential, error) {
	chain, err := readCertFile(certFile)
	if err != nil {
		return nil, err
	}
	key, err := readKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	if err := keyMatches(key, chain[0], keyFile, certFile); err != nil {
		return nil, err
	}
	cas, err := LoadCAs(caPath)
	if err != nil {
		return nil, err
	}
	return &Credential{Chain: chain, Key: key, CAs: cas, CertSource: certFile, CASource: caPath}, nil
}

// LoadPKCS12 reads our certificate, its key and intermediates from a
// PKCS#12 (.p12, .pfx) file protected by password, and the CAs from caPath
// (see LoadCAs). A CA certificate in the bundle (self-signed) is not sent
// but trusted only if caPath is empty.
func LoadPKCS12(file string, password secret.Secret, caPath string) (*Credential, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ike: certificate bundle: %w", err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return nil, fmt.Errorf("ike: certificate bundle %s: a PEM file, not PKCS#12: use it as cert and key instead", file)
	}
	k, leaf, extra, err := pkcs12.DecodeChain(b, string(password.Bytes()))
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
			return nil, fmt.Errorf("ike: certificate bundle %s: wrong password", file)
		}
		return nil, fmt.Errorf("ike: certificate bundle %s: not a readable PKCS#12 file with one key and certificate: %v", file, err)
	}
	key, err := signerOf(k, file)
	if err != nil {
		return nil, err
	}
	if err := keyMatches(key, leaf, file, file); err != nil {
		return nil, err
	}
	c := &Credential{Chain: []*x509.Certificate{leaf}, Key: key, CertSource: file, CASource: caPath}
	var anchors []*x509.Certificate
	for _, ca := range extra {
		if bytes.Equal(ca.RawSubject, ca.RawIssuer) && ca.CheckSignatureFrom(ca) == nil {
			anchors = append(anchors, ca)
			continue
		}
		c.Chain = append(c.Chain, ca)
	}
	if caPath == "" {
		if len(anchors) == 0 {
			return nil, fmt.Errorf("ike: certificate bundle %s holds no CA certificate: set ca to the CA of the server's certificate", file)
		}
		c.CAs, c.CASource = anchors, file
		return c, nil
	}
	if c.CAs, err = LoadCAs(caPath); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCAs reads CA certificates from path: a file with one or more PEM
// certificates or one DER certificate, or a directory, of which every
// *.pem, *.crt, *.cer and *.der file is read.
func LoadCAs(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, errors.New("ike: no CA certificate (ca) to verify the server's certificate with")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ike: CA certificates: %w", err)
	}
	if !fi.IsDir() {
		return readCertFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("ike: CA certificates: %w", err)
	}
	var cas []*x509.Certificate
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".pem", ".crt", ".cer", ".der"}, ext) {
			continue
		}
		certs, err := readCertFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		cas = append(cas, certs...)
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("ike: CA certificates: no *.pem, *.crt, *.cer or *.der file in the directory %s", path)
	}
	return cas, nil
}

// readCertFile reads the certificates of a PEM file (every CERTIFICATE
// block, in order) or a DER file (one certificate).
func readCertFile(file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ike: certificate: %w", err)
	}
	var certs []*x509.Certificate
	rest, sawPEM := b, false
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		sawPEM = true
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ike: certificate %s: certificate %d is unreadable: %v", file, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if !sawPEM {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("ike: certificate %s: not a certificate (neither PEM nor DER X.509)", file)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("ike: certificate %s: no CERTIFICATE block in the PEM file", file)
	}
	return certs, nil
}

// readKeyFile reads a private key: PEM or DER, PKCS#8, PKCS#1 or SEC1.
func readKeyFile(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ike: private key: %w", err)
	}
	defer clear(b)
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		if strings.Contains(blk.Type, "ENCRYPTED") || blk.Headers["Proc-Type"] != "" {
			return nil, fmt.Errorf("ike: private key %s is encrypted: store it unencrypted (openssl pkey -in %s -out new.key) "+
				"and protect the file with its permissions, or use a PKCS#12 bundle", file, filepath.Base(file))
		}
		der = blk.Bytes
	}
	var k any
	if k, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if k, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			k, err = x509.ParseECPrivateKey(der)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ike: private key %s: not a PKCS#8, PKCS#1 or SEC1 private key (PEM or DER)", file)
	}
	return signerOf(k, file)
}

// signerOf accepts RSA and ECDSA keys.
func signerOf(k any, file string) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if _, err := keyAuthMethod(&k.PublicKey); err != nil {
			return nil, fmt.Errorf("ike: private key %s: %v", file, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("ike: private key %s: unsupported key type %T (use RSA or ECDSA)", file, k)
}

// keyMatches checks that key is the private key of cert.
func keyMatches(key crypto.Signer, cert *x509.Certificate, keyFile, certFile string) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); ok && pub.Equal(cert.PublicKey) {
		return nil
	}
	return fmt.Errorf("ike: the private key in %s does not match the certificate %s in %s",
		keyFile, formatDN(cert.RawSubject), certFile)
}
