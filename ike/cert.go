package ike

// The Certificate (RFC 2408 3.9), Certificate Request (3.10) and Signature
// (3.12) payloads. They are decoded generically: the certificate encoding byte
// and the raw data; nothing here parses X.509.
//
//	CERT:    Cert Encoding (1) | Certificate Data
//	CR:      Cert Type (1)     | Certificate Authority
//	SIG:     Signature Data

import "strconv"

// CertEncoding is the certificate encoding / type (RFC 2408 3.9).
type CertEncoding uint8

// Certificate encodings.
const (
	CertNone            CertEncoding = 0
	CertPKCS7           CertEncoding = 1
	CertPGP             CertEncoding = 2
	CertDNSSigned       CertEncoding = 3
	CertX509Signature   CertEncoding = 4
	CertX509KeyExchange CertEncoding = 5
	CertKerberos        CertEncoding = 6
	CertCRL             CertEncoding = 7
	CertARL             CertEncoding = 8
	CertSPKI            CertEncoding = 9
	CertX509Attribute   CertEncoding = 10
)

var certNames = [...]string{
	"NONE", "PKCS7", "PGP", "DNS_SIGNED_KEY", "X509_SIGNATURE", "X509_KEY_EXCHANGE",
	"KERBEROS", "CRL", "ARL", "SPKI", "X509_ATTRIBUTE",
}

func (c CertEncoding) String() string {
	if int(c) < len(certNames) {
		return certNames[c]
	}
	return "CERT_ENCODING(" + strconv.Itoa(int(c)) + ")"
}

// Cert is the CERT payload. Data aliases the input when decoded.
type Cert struct {
	Encoding CertEncoding
	Data     []byte
}

// Type returns PayloadCert.
func (p *Cert) Type() PayloadType { return PayloadCert }

// AppendBody appends the encoding and the certificate data.
func (p *Cert) AppendBody(b []byte) []byte { return append(append(b, byte(p.Encoding)), p.Data...) }

func parseCert(b []byte) (*Cert, error) {
	if len(b) < 1 {
		return nil, malformed(PayloadCert, "no certificate encoding")
	}
	return &Cert{Encoding: CertEncoding(b[0]), Data: b[1:]}, nil
}

// CertRequest is the CR payload. Authority aliases the input when decoded;
// it may be empty (any CA).
type CertRequest struct {
	Encoding  CertEncoding
	Authority []byte
}

// Type returns PayloadCR.
func (p *CertRequest) Type() PayloadType { return PayloadCR }

// AppendBody appends the certificate type and the authority.
func (p *CertRequest) AppendBody(b []byte) []byte {
	return append(append(b, byte(p.Encoding)), p.Authority...)
}

func parseCertRequest(b []byte) (*CertRequest, error) {
	if len(b) < 1 {
		return nil, malformed(PayloadCR, "no certificate type")
	}
	return &CertRequest{Encoding: CertEncoding(b[0]), Authority: b[1:]}, nil
}

// Signature is the SIG payload. Data aliases the input when decoded.
type Signature struct {
	Data []byte
}

// Type returns PayloadSig.
func (p *Signature) Type() PayloadType { return PayloadSig }

// AppendBody appends the signature data.
func (p *Signature) AppendBody(b []byte) []byte { return append(b, p.Data...) }

func parseSignature(b []byte) (*Signature, error) {
	if len(b) == 0 {
		return nil, malformed(PayloadSig, "empty signature")
	}
	return &Signature{Data: b}, nil
}
