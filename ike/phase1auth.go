package ike

// The authentication of Main Mode messages 5 and 6, in either role (RFC
// 2409 5.1 with signatures, 5.4 with a pre-shared key):
//
//	pre-shared key:  ID, HASH_I / HASH_R
//	signatures:      ID, CERT..., SIG_I / SIG_R
//
// HASH_I always carries the initiator's ID and HASH_R the responder's; ikeSA
// keeps the exchange in the initiator's terms, so which one is ours follows
// from sa.responder.

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"
)

// errBadHash: a pre-shared key HASH that does not verify. Callers drop the
// message (anyone who saw the cookies could have sent it).
var errBadHash = errors.New("ike: hash does not verify")

// authHash is HASH_I (initiator true) or HASH_R of sa for the ID payload
// body idb, computed with the prf of the authentication method.
func authHash(sa *ikeSA, initiator bool, idb []byte) []byte {
	h := authPRF(sa.auth, sa.prop.Hash)
	if initiator {
		return hashI(h, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ckyI[:], sa.ckyR[:], sa.saib, idb)
	}
	return hashR(h, sa.keys.SKEYID, sa.gxr, sa.gxi, sa.ckyR[:], sa.ckyI[:], sa.saib, idb)
}

// skeyid is SKEYID of sa for the Diffie-Hellman secret gxy.
func (s *Session) skeyid(sa *ikeSA, gxy []byte) []byte {
	if sa.auth.signature() {
		return skeyidSig(sa.prop.Hash, sa.ni, sa.nr, gxy)
	}
	return prf(sa.prop.Hash, s.cfg.PSK.Bytes(), sa.ni, sa.nr)
}

// ourAuth is our ID and its proof for Main Mode message 5 (as initiator)
// or 6 (as responder).
func (s *Session) ourAuth(sa *ikeSA) ([]Payload, error) {
	id := s.cfg.LocalID.payload()
	hash := authHash(sa, !sa.responder, id.AppendBody(nil))
	if !sa.auth.signature() {
		return []Payload{id, &Hash{Data: hash}}, nil
	}
	sig, err := signAuth(s.cfg.Cert.Key, sa.auth, s.rand, hash)
	if err != nil {
		return nil, fmt.Errorf("signing with our key: %v", err)
	}
	ps := append([]Payload{id}, certPayloads(s.cfg.Cert)...)
	return append(ps, &Signature{Data: sig}), nil
}

// checkPeerAuth verifies the peer's ID and its proof in Main Mode message 6
// (as initiator) or 5 (as responder) and that the ID is Config.RemoteID if
// set. It returns the peer's ID, or errBadHash, or an *Error.
func (s *Session) checkPeerAuth(sa *ikeSA, ps []Payload, now time.Time) (ID, error) {
	a := findPeerAuth(ps)
	if a.id == nil {
		return ID{}, failf(ErrRejected, "Main Mode: the server's authentication message lacks the ID payload: %s", summary(ps))
	}
	hash := authHash(sa, sa.responder, a.id.AppendBody(nil))
	got := IDOf(a.id)
	if sa.auth.signature() {
		_, err := verifyPeerCert(s.cfg.Cert, a, sa.auth, hash, s.cfg.RemoteID, now)
		return got, err
	}
	hp, ok := FindPayload[*Hash](ps)
	if !ok {
		return ID{}, failf(ErrRejected, "Main Mode: the server's authentication message lacks the HASH payload: %s", summary(ps))
	}
	if !hmac.Equal(hash, hp.Data) {
		return ID{}, errBadHash
	}
	if !s.cfg.RemoteID.IsZero() && !matchID(s.cfg.RemoteID, got) {
		return got, failf(ErrServerIdentity, "the server identified itself as %s, not the expected remote-id %s: "+
			"set remote-id to %s if that is the right server", got, s.cfg.RemoteID, got)
	}
	return got, nil
}

// authHint is what to check when the server does not accept our message 5.
func (s *Session) authHint() string {
	if s.cfg.Cert == nil {
		h := "the pre-shared key is most likely wrong (check --psk-env / --psk-file against the server's key)"
		if t := s.cfg.LocalID.Type; t != IDReserved && t != IDIPv4Addr && t != IDIPv6Addr {
			// Main Mode's message 5 is encrypted with a key made from the
			// PSK, so a server has to choose the PSK before it sees our
			// ID: by our address, or its first matching config.
			h += fmt.Sprintf("; a Main Mode server cannot choose the pre-shared key by our local-id %s (it is "+
				"encrypted with it): if the server selects the group by that ID, use ike-mode = aggressive", s.cfg.LocalID)
		}
		return h
	}
	cert := s.cfg.Cert.CertSource
	if cert == "" {
		cert = formatDN(s.cfg.Cert.Chain[0].RawSubject)
	}
	return fmt.Sprintf("the server did not accept our certificate or signature (check that the server trusts the CA "+
		"that issued cert = %s (issuer %s), and its identity rules for our identity %s)",
		cert, formatDN(s.cfg.Cert.Chain[0].RawIssuer), s.cfg.LocalID)
}

// checkCredential checks the certificate configuration of a Session and
// returns its authentication method; warns when LocalID is not named by
// our certificate (most servers will then refuse it).
func checkCredential(c *Credential) (authMethod, error) {
	if len(c.Chain) == 0 || c.Key == nil {
		return 0, errors.New("ike: certificate authentication needs a certificate and its private key")
	}
	if len(c.CAs) == 0 {
		return 0, errors.New("ike: certificate authentication needs the CA certificate (ca) that issued the server's certificate")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := c.Key.Public().(equaler); !ok || !pub.Equal(c.Chain[0].PublicKey) {
		return 0, fmt.Errorf("ike: the private key does not match the certificate %s", formatDN(c.Chain[0].RawSubject))
	}
	m, err := keyAuthMethod(c.Key.Public())
	if err != nil {
		return 0, fmt.Errorf("ike: certificate %s: %v", formatDN(c.Chain[0].RawSubject), err)
	}
	return m, nil
}

// certID is the default identity with a certificate: its subject DN.
func certID(c *Credential) ID {
	return ID{Type: IDDERASN1DN, Data: bytes.Clone(c.Chain[0].RawSubject)}
}
