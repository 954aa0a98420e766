package ike

// Certificate authentication for the fake server of responder_test.go and
// fakeinit_test.go, and throwaway PKIs for the tests. The fake signs and
// verifies with crypto/rsa and crypto/ecdsa directly, in the encodings
// strongSwan uses (PKCS#1 v1.5 without DigestInfo; ECDSA r|s over an HMAC
// with the SHA-2 of the curve), not with the package's sigauth.go.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"hash"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testCert is a certificate and its key.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// Validity of the test certificates: wide enough for both the real clock
// and the synctest one (which starts in 2000).
var (
	testNotBefore = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	testNotAfter  = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

var (
	rsaKeysOnce sync.Once
	rsaKeys     []*rsa.PrivateKey
)

// testRSAKey returns one of a few RSA 2048 keys made once per run (making
// them is slow).
func testRSAKey(t testing.TB, i int) *rsa.PrivateKey {
	rsaKeysOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	return rsaKeys[i%len(rsaKeys)]
}

func testECKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64 = 1000

// issue makes a certificate for subject with key, signed by parent (self
// signed if nil). edit may change the template.
func issue(t testing.TB, parent *testCert, cn string, key crypto.Signer, ca bool, edit func(*x509.Certificate)) *testCert {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Country: []string{"US"}, Organization: []string{"Example"}, CommonName: cn},
		NotBefore:    testNotBefore, NotAfter: testNotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	if edit != nil {
		edit(tmpl)
	}
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

// testPKI is a CA with a server and a client certificate.
type testPKI struct {
	ca, server, client *testCert
}

// newTestPKI makes a PKI with RSA or ECDSA P-256 keys.
func newTestPKI(t testing.TB, ecdsaKeys bool, name string) *testPKI {
	key := func(i int) crypto.Signer {
		if ecdsaKeys {
			return testECKey(t, elliptic.P256())
		}
		return testRSAKey(t, i)
	}
	ca := issue(t, nil, name+" CA", key(0), true, nil)
	return &testPKI{
		ca: ca,
		server: issue(t, ca, "vpn.example.com", key(1), false, func(c *x509.Certificate) {
			c.DNSNames = []string{"vpn.example.com"}
			c.IPAddresses = []net.IP{net.IP(testRemote.AsSlice())}
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}),
		client: issue(t, ca, "alice", key(2), false, func(c *x509.Certificate) {
			c.EmailAddresses = []string{"alice@example.com"}
		}),
	}
}

func credential(c *testCert, cas ...*testCert) *Credential {
	cr := &Credential{Chain: []*x509.Certificate{c.cert}, Key: c.key}
	for _, ca := range cas {
		cr.CAs = append(cr.CAs, ca.cert)
	}
	return cr
}

// acceptsAuth: the fake takes a PSK without a credential, a signature
// method with one.
func (r *fakeResponder) acceptsAuth(a authMethod) bool {
	if r.cfg.Cert == nil {
		return a == authPSK
	}
	return a == r.fakeAuth()
}

// fakeAuth is the fake's own authentication method.
func (r *fakeResponder) fakeAuth() authMethod {
	if r.cfg.Cert == nil {
		return authPSK
	}
	switch k := r.cfg.Cert.Key.Public().(type) {
	case *ecdsa.PublicKey:
		return map[int]authMethod{256: authECDSA256, 384: authECDSA384, 521: authECDSA521}[k.Curve.Params().BitSize]
	}
	return authRSASig
}

func (r *fakeResponder) phase1Keys(sa *fakeIKE, gxy []byte) Phase1Keys {
	keyLen, _ := sa.prop.Enc.KeyLen(sa.prop.KeyBits)
	h := sa.prop.Hash
	if sa.auth == authPSK {
		return derivePhase1(h, sa.prop.Enc, keyLen, r.cfg.PSK, sa.ni, sa.nr, gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
	}
	m := hmac.New(h.New, append(bytes.Clone(sa.ni), sa.nr...))
	m.Write(gxy)
	return phase1Keys(h, sa.prop.Enc, keyLen, m.Sum(nil), gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
}

// noteCRs keeps the session's CR payloads.
func (r *fakeResponder) noteCRs(ps []Payload) []*CertRequest {
	var crs []*CertRequest
	for _, p := range ps {
		if cr, ok := p.(*CertRequest); ok {
			crs = append(crs, &CertRequest{Encoding: cr.Encoding, Authority: bytes.Clone(cr.Authority)})
		}
	}
	return crs
}

// certRequests are the fake's CRs, naming its CAs.
func (r *fakeResponder) certRequests() []Payload {
	if r.cfg.Cert == nil {
		return nil
	}
	var ps []Payload
	for _, ca := range r.cfg.Cert.CAs {
		ps = append(ps, &CertRequest{Encoding: CertX509Signature, Authority: ca.RawSubject})
	}
	return ps
}

// ownID is the fake's identity: ServerID, else its certificate's subject or
// its address.
func (r *fakeResponder) ownID() *Identification {
	switch {
	case !r.cfg.ServerID.IsZero():
		return r.cfg.ServerID.payload()
	case r.cfg.Cert != nil:
		return &Identification{IDType: IDDERASN1DN, Data: r.cfg.Cert.Chain[0].RawSubject}
	}
	return IDAddr(r.remote, 17, 500)
}

// fakeHash is HASH_I (initiator) or HASH_R, with the prf of the method.
func fakeHash(sa *fakeIKE, initiator bool, idb []byte) []byte {
	var h func() hash.Hash = sa.prop.Hash.New
	switch sa.auth {
	case authECDSA256:
		h = sha256.New
	case authECDSA384:
		h = sha512.New384
	case authECDSA521:
		h = sha512.New
	}
	m := hmac.New(h, sa.keys.SKEYID)
	if initiator {
		for _, b := range [][]byte{sa.gxi, sa.gxr, sa.ckyI[:], sa.ckyR[:], sa.saib, idb} {
			m.Write(b)
		}
	} else {
		for _, b := range [][]byte{sa.gxr, sa.gxi, sa.ckyR[:], sa.ckyI[:], sa.saib, idb} {
			m.Write(b)
		}
	}
	return m.Sum(nil)
}

// ownAuth is the fake's ID and HASH or CERT and SIG.
func (r *fakeResponder) ownAuth(sa *fakeIKE, id *Identification, initiator bool) []Payload {
	hash := fakeHash(sa, initiator, id.AppendBody(nil))
	if sa.auth == authPSK {
		return []Payload{id, &Hash{Data: hash}}
	}
	key := r.cfg.Cert.Key
	if r.cfg.SignWith != nil {
		key = r.cfg.SignWith
	}
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, _ = rsa.SignPKCS1v15(rand.Reader, k, 0, hash)
	case *ecdsa.PrivateKey:
		rr, ss, err := ecdsa.Sign(rand.Reader, k, hash)
		if err != nil {
			r.t.Errorf("fake: %v", err)
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*n)
		rr.FillBytes(sig[:n])
		ss.FillBytes(sig[n:])
	}
	ps := []Payload{id}
	for _, c := range r.cfg.Cert.Chain {
		ps = append(ps, &Cert{Encoding: CertX509Signature, Data: c.Raw})
	}
	return append(ps, &Signature{Data: sig})
}

// mm6Auth is the fake's ID and proof in its Main Mode message 6.
func (r *fakeResponder) mm6Auth(sa *fakeIKE, id *Identification) []Payload {
	if r.cfg.Cert != nil || !r.cfg.ServerID.IsZero() {
		id = r.ownID()
	}
	return r.ownAuth(sa, id, false)
}

func (r *fakeResponder) verifyMM5(sa *fakeIKE, ps []Payload) (*Identification, bool) {
	return r.verifyAuth(sa, ps, true)
}

// verifyAuth checks the session's ID and HASH, or its certificate (against
// the fake's CAs) and SIG. It records what it saw.
func (r *fakeResponder) verifyAuth(sa *fakeIKE, ps []Payload, initiator bool) (*Identification, bool) {
	id, ok := FindPayload[*Identification](ps)
	if !ok {
		return nil, false
	}
	hash := fakeHash(sa, initiator, id.AppendBody(nil))
	if sa.auth == authPSK {
		hp, ok := FindPayload[*Hash](ps)
		return id, ok && hmac.Equal(hp.Data, hash)
	}
	sa.peerID = IDOf(id)
	var certs []*x509.Certificate
	var sig *Signature
	for _, p := range ps {
		switch p := p.(type) {
		case *Cert:
			c, err := x509.ParseCertificate(p.Data)
			if err != nil {
				r.t.Errorf("fake: the session sent an unreadable certificate: %v", err)
				return nil, false
			}
			certs = append(certs, c)
		case *Signature:
			sig = p
		}
	}
	sa.peerCerts = len(certs)
	if len(certs) == 0 || sig == nil {
		return nil, false
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range r.cfg.Cert.CAs {
		roots.AddCert(c)
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, false // the server does not trust our certificate: silence
	}
	switch k := certs[0].PublicKey.(type) {
	case *rsa.PublicKey:
		return id, rsa.VerifyPKCS1v15(k, 0, hash, sig.Data) == nil
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig.Data) != 2*n {
			r.t.Errorf("fake: ECDSA signature of %d bytes, want r|s of %d", len(sig.Data), 2*n)
			return nil, false
		}
		rr, ss := new(big.Int).SetBytes(sig.Data[:n]), new(big.Int).SetBytes(sig.Data[n:])
		return id, ecdsa.Verify(k, hash, rr, ss)
	}
	return nil, false
}
