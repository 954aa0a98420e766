package ppp

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"
	"testing/synctest"
)

// RFC 2759 section 9.2, and the same exchange with a Windows domain and
// with a realm: the challenge hash covers the user name without "DOMAIN\"
// (RFC 2759 section 8.2; Windows strips only that prefix), so a domain
// changes nothing, while "user@realm" is hashed whole, as sent.
func TestMSCHAPv2DomainVectors(t *testing.T) {
	const wantNT = "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df"
	const wantAuth = "407a5589115fd0d6209f510fe9c04566932cda56"
	for _, user := range []string{"User", `DOMAIN\User`, `EXAMPLE.COM\User`, `a\b\User`} {
		nt := generateNTResponse(&rfc3079AuthChallenge, &rfc3079PeerChallenge, user, "clientPass")
		if got := hex.EncodeToString(nt[:]); got != wantNT {
			t.Errorf("%q: NT-Response %s, want %s", user, got, wantNT)
		}
		ar := generateAuthenticatorResponse("clientPass", &nt, &rfc3079PeerChallenge, &rfc3079AuthChallenge, user)
		if got := hex.EncodeToString(ar[:]); got != wantAuth {
			t.Errorf("%q: authenticator response %s, want %s", user, got, wantAuth)
		}
	}
	for _, user := range []string{"User@realm", "User@EXAMPLE.COM"} {
		nt := generateNTResponse(&rfc3079AuthChallenge, &rfc3079PeerChallenge, user, "clientPass")
		if hex.EncodeToString(nt[:]) == wantNT {
			t.Errorf("%q: NT-Response equals the bare user's: the realm was stripped", user)
		}
		// Recomputed by hand over the full name.
		h := sha1.New()
		h.Write(rfc3079PeerChallenge[:])
		h.Write(rfc3079AuthChallenge[:])
		h.Write([]byte(user))
		want := challengeResponse([8]byte(h.Sum(nil)[:8]), ntPasswordHash("clientPass"))
		if nt != want {
			t.Errorf("%q: NT-Response %x, want %x (over the full name)", user, nt, want)
		}
	}
	// The realm vector, fixed so that a change of behaviour shows.
	nt := generateNTResponse(&rfc3079AuthChallenge, &rfc3079PeerChallenge, "User@realm", "clientPass")
	if got, want := hex.EncodeToString(nt[:]), realmNT; got != want {
		t.Errorf("User@realm: NT-Response %s, want %s", got, want)
	}
}

// TestMSCHAPv2DomainOnTheWire: the Response's Name field is the user name
// as configured, domain included (what Windows sends); only the hash drops
// the domain.
func TestMSCHAPv2DomainOnTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{AuthMSCHAPv2}
		p.user = `CORP\pfuser` // the fake server checks Name and the hash
		r := startLink(t, p, Config{})
		info := r.waitUp()
		synctest.Wait()
		r.closeLink()
		if info.Auth != AuthMSCHAPv2 {
			t.Fatalf("auth %v", info.Auth)
		}
		for _, s := range r.srv.seen {
			if strings.Contains(s, "pfpass") {
				t.Fatalf("password in a debug line: %s", s)
			}
		}
	})
}

// realmNT is the NT-Response for "User@realm" in the RFC 2759 9.2 exchange,
// checked against the by-hand computation above.
const realmNT = "a19b29ca505b546c75dd72282db3760b0db0fcbc239539e8"
