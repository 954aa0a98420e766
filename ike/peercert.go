package ike

// The certificate side of Main Mode with signatures (RFC 2409 5.1, RFC 4945
// for the profile): the CR payloads we send and read, our CERT payloads,
// and the checks of the peer's: its chain to our CAs, its signature, and
// that its ID payload is the identity we expect and is named by its
// certificate.

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// certRequests are our CR payloads: one X.509-signature CR per trusted CA,
// naming its subject (RFC 4945 3.2.5), or one empty CR (any CA).
func certRequests(c *Credential) []Payload {
	var ps []Payload
	for _, ca := range c.CAs {
		ps = append(ps, &CertRequest{Encoding: CertX509Signature, Authority: ca.RawSubject})
	}
	if len(ps) == 0 {
		ps = append(ps, &CertRequest{Encoding: CertX509Signature})
	}
	return ps
}

// certPayloads are our CERT payloads: our certificate, then each
// intermediate. We always send them (as Windows does), asked or not.
func certPayloads(c *Credential) []Payload {
	ps := make([]Payload, 0, len(c.Chain))
	for _, cert := range c.Chain {
		ps = append(ps, &Cert{Encoding: CertX509Signature, Data: cert.Raw})
	}
	return ps
}

// noteCertRequests logs the CAs the peer's CR payloads name and, with a
// credential c, warns when none of them issued our chain (we send our
// certificate anyway).
func noteCertRequests(log *slog.Logger, c *Credential, ps []Payload) {
	var names []string
	var known bool
	any := false
	for _, p := range ps {
		cr, ok := p.(*CertRequest)
		if !ok {
			continue
		}
		any = true
		if cr.Encoding != CertX509Signature {
			log.Debug("ike: the server asks for a certificate of type " + cr.Encoding.String())
			continue
		}
		if len(cr.Authority) == 0 {
			known = true
			names = append(names, "(any CA)")
			continue
		}
		names = append(names, formatDN(cr.Authority))
		if c == nil {
			continue
		}
		for _, cert := range c.Chain {
			if sameDN(cr.Authority, cert.RawIssuer) {
				known = true
			}
		}
	}
	if !any {
		return
	}
	log.Debug("ike: the server requests a certificate from: " + strings.Join(names, "; "))
	if c != nil && !known && len(c.Chain) > 0 {
		log.Warn("ike: none of the CAs the server asks for issued our certificate; sending it anyway",
			"requested", strings.Join(names, "; "), "our_issuer", formatDN(c.Chain[len(c.Chain)-1].RawIssuer))
	}
}

// peerAuth is what a peer sent to authenticate with signatures: its ID,
// certificates (end entity first) and signature.
type peerAuth struct {
	id    *Identification
	certs []*Cert
	sig   *Signature
}

func findPeerAuth(ps []Payload) peerAuth {
	var a peerAuth
	for _, p := range ps {
		switch p := p.(type) {
		case *Identification:
			if a.id == nil {
				a.id = p
			}
		case *Cert:
			a.certs = append(a.certs, p)
		case *Signature:
			if a.sig == nil {
				a.sig = p
			}
		}
	}
	return a
}

// verifyPeerCert checks the peer's certificates, signature and identity:
// its certificate chains to one of c.CAs at now, its signature over hash
// verifies with the certificate's key, and its ID is want (if set) and is
// named by the certificate. The error says what did not match and what
// to change; it is *Error of kind ErrCertificate (ErrAuthentication for a
// remote-id mismatch).
func verifyPeerCert(c *Credential, a peerAuth, m authMethod, hash []byte, want ID, now time.Time) (*x509.Certificate, error) {
	// The end entity is the first certificate that is not a CA (most
	// peers send it first; some send their chain in another order).
	var leaf *x509.Certificate
	var certs, inters []*x509.Certificate
	for _, p := range a.certs {
		if p.Encoding != CertX509Signature {
			continue
		}
		cert, err := x509.ParseCertificate(p.Data)
		if err != nil {
			return nil, failf(ErrServerIdentity, "the server sent a certificate we cannot read: %v", err)
		}
		certs = append(certs, cert)
		if leaf == nil && !cert.IsCA {
			leaf = cert
		}
	}
	if leaf == nil && len(certs) > 0 {
		leaf = certs[0]
	}
	inter := x509.NewCertPool()
	for _, cert := range certs {
		if cert != leaf {
			inter.AddCert(cert)
			inters = append(inters, cert)
		}
	}
	if leaf == nil {
		return nil, failf(ErrServerIdentity, "the server sent no X.509 certificate (we asked for one with a CR payload; "+
			"we cannot look up its certificate by identity): configure the server to send its certificate")
	}
	subject := formatDN(leaf.RawSubject)
	if err := checkValidity("the server's certificate "+subject, leaf, now); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, ca := range c.CAs {
		roots.AddCert(ca)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, chainError(c, leaf, inters, err, now)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, failf(ErrServerIdentity, "the server's certificate %s lacks the key usage digitalSignature "+
			"(RFC 4945 5.1.3.2): the server needs a certificate issued for signing", subject)
	}
	if err := checkServerEKU(leaf); err != nil {
		return nil, err
	}
	if a.sig == nil {
		return nil, failf(ErrServerIdentity, "the server sent no signature (SIG payload) with its certificate")
	}
	if err := verifyAuth(leaf.PublicKey, m, hash, a.sig.Data); err != nil {
		return nil, failf(ErrServerIdentity, "the server's signature does not verify with the key of its certificate %s: %v", subject, err)
	}
	got := IDOf(a.id)
	if !want.IsZero() && !matchID(want, got) {
		return nil, failf(ErrServerIdentity, "the server identified itself as %s, not the expected remote-id %s: "+
			"set remote-id to %s if that is the right server", got, want, got)
	}
	if !certNamesID(leaf, got) {
		return nil, failf(ErrServerIdentity, "the server identified itself as %s, which its certificate does not name "+
			"(subject %s%s): the server's identity and certificate do not belong together", got, subject, sanList(leaf))
	}
	return leaf, nil
}

// Extended key usages that make a certificate fit for an IPsec server:
// id-kp-ipsecIKE (RFC 4945 5.1.3.12) and the "IP security IKE
// intermediate" usage Windows issues for IKE, besides serverAuth, the
// older IPsec usages and anyExtendedKeyUsage.
var (
	oidIPsecIKE        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 17}
	oidIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}
)

// checkServerEKU accepts a server certificate without extended key usages,
// or with one of those above; otherwise it was issued for something else
// (a client or e-mail certificate), which Windows clients refuse too.
func checkServerEKU(leaf *x509.Certificate) error {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return nil
	}
	var names []string
	for _, u := range leaf.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageAny, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageIPSECEndSystem,
			x509.ExtKeyUsageIPSECTunnel, x509.ExtKeyUsageIPSECUser:
			return nil
		}
		names = append(names, ekuName(u))
	}
	for _, o := range leaf.UnknownExtKeyUsage {
		if o.Equal(oidIPsecIKE) || o.Equal(oidIKEIntermediate) {
			return nil
		}
		names = append(names, o.String())
	}
	return failf(ErrServerIdentity, "the server's certificate %s has the extended key usages %s but none for an IPsec "+
		"server (serverAuth, ipsecIKE 1.3.6.1.5.5.7.3.17 or IKE intermediate 1.3.6.1.5.5.8.2.2): the server needs a "+
		"certificate issued for that", formatDN(leaf.RawSubject), strings.Join(names, ", "))
}

func ekuName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	case x509.ExtKeyUsageTimeStamping:
		return "timeStamping"
	case x509.ExtKeyUsageOCSPSigning:
		return "OCSPSigning"
	}
	return fmt.Sprintf("EKU(%d)", u)
}

// checkValidity checks the validity period of cert at now.
func checkValidity(what string, cert *x509.Certificate, now time.Time) error {
	const day = "2006-01-02"
	if now.After(cert.NotAfter) {
		return failf(ErrServerIdentity, "%s expired on %s (now %s): renew it or check the clock",
			what, cert.NotAfter.UTC().Format(day), now.UTC().Format(day))
	}
	if now.Before(cert.NotBefore) {
		return failf(ErrServerIdentity, "%s is not valid before %s (now %s): check the clock",
			what, cert.NotBefore.UTC().Format(day), now.UTC().Format(day))
	}
	return nil
}

// chainError explains why the peer's chain did not verify.
func chainError(c *Credential, leaf *x509.Certificate, inters []*x509.Certificate, err error, now time.Time) error {
	subject := formatDN(leaf.RawSubject)
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		// Name the CA at the top of what the server sent.
		top := leaf
		for range len(inters) {
			next := issuerIn(top, inters)
			if next == nil || next == top {
				break
			}
			if e := checkValidity("the server's intermediate CA certificate "+formatDN(next.RawSubject), next, now); e != nil {
				return e
			}
			top = next
		}
		return failf(ErrServerIdentity, "the server's certificate %s was issued by %s, which is not among the trusted CAs "+
			"(ca = %s): set ca to the CA that issued it", subject, formatDN(top.RawIssuer), caList(c))
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return failf(ErrServerIdentity, "a certificate in the server's chain (%s) is expired or not yet valid at %s: %v",
				formatDN(ci.Cert.RawSubject), now.UTC().Format(time.RFC3339), err)
		case x509.IncompatibleUsage:
			return failf(ErrServerIdentity, "the server's certificate %s lacks the extended key usage its CA allows "+
				"(%v): the server needs a certificate whose extended key usages its CA permits", subject, err)
		case x509.NotAuthorizedToSign:
			return failf(ErrServerIdentity, "the certificate %s in the server's chain is not a CA certificate, "+
				"yet it issued the next one", formatDN(ci.Cert.RawSubject))
		}
	}
	return failf(ErrServerIdentity, "the server's certificate %s does not verify against the trusted CAs (ca = %s): %v",
		subject, caList(c), err)
}

// issuerIn finds the certificate that issued cert among certs.
func issuerIn(cert *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if sameDN(c.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

// caList names the trusted CAs for messages: where they were loaded from
// and their subjects.
func caList(c *Credential) string {
	var names []string
	for _, ca := range c.CAs {
		names = append(names, formatDN(ca.RawSubject))
	}
	list := strings.Join(names, "; ")
	if c.CASource != "" {
		return c.CASource + ": " + list
	}
	return list
}

func sanList(cert *x509.Certificate) string {
	var sans []string
	for _, d := range cert.DNSNames {
		sans = append(sans, "fqdn:"+d)
	}
	for _, e := range cert.EmailAddresses {
		sans = append(sans, "user-fqdn:"+e)
	}
	for _, ip := range cert.IPAddresses {
		sans = append(sans, "ip:"+ip.String())
	}
	if len(sans) == 0 {
		return ", no subject alternative names"
	}
	return ", alternative names " + strings.Join(sans, ", ")
}

// certNamesID reports whether cert names id: a DN equal to its subject, or
// an FQDN, email address or IP address among its subject alternative names
// (RFC 4945 3.1).
func certNamesID(cert *x509.Certificate, id ID) bool {
	switch id.Type {
	case IDDERASN1DN:
		return sameDN(id.Data, cert.RawSubject)
	case IDFQDN:
		for _, d := range cert.DNSNames {
			if matchID(id, ID{Type: IDFQDN, Data: []byte(d)}) {
				return true
			}
		}
	case IDUserFQDN:
		for _, e := range cert.EmailAddresses {
			if matchID(id, ID{Type: IDUserFQDN, Data: []byte(e)}) {
				return true
			}
		}
	case IDIPv4Addr, IDIPv6Addr:
		a, ok := id.payload().Addr()
		for _, ip := range cert.IPAddresses {
			if ok && ip.Equal(net.IP(a.AsSlice())) {
				return true
			}
		}
	}
	return false
}
