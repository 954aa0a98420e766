package ike

import (
	"crypto"
	"crypto/x509"
)

// Credential is what certificate authentication needs: our certificate
// chain and key, and the CAs the server's certificate must chain to.
// LoadCredential, LoadPKCS12 and LoadCAs (pki.go) make one from files.
type Credential struct {
	// Chain is our certificate first, then any intermediates to send.
	Chain []*x509.Certificate
	// Key is the private key of Chain[0] (RSA or ECDSA).
	Key crypto.Signer
	// CAs are the trust anchors for the server's certificate; their
	// subjects are named in our CR payloads.
	CAs []*x509.Certificate
	// CertSource and CASource say where Chain and CAs came from (file
	// names), for error messages; they may be empty.
	CertSource, CASource string
}
