package ppp

// The authenticatee refusing a method it is not allowed to use (vpn allows
// PAP only inside IPsec by default): it Naks the server's request towards
// each allowed method in turn, and never sends the password in clear.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// l2tpns asks for PAP and accepts a Nak towards CHAP-MD5 only: the Nak
// towards MS-CHAPv2 is ignored, the one towards CHAP-MD5 taken.
func TestLinkRefusedPAPNakTowardsCHAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startLink(t, l2tpnsProfile(), Config{Auth: []AuthMethod{AuthMSCHAPv2, AuthCHAPMD5}})
		info := r.waitUp()
		if info.Auth != AuthCHAPMD5 {
			t.Errorf("authenticated with %v, want chap", info.Auth)
		}
		r.closeLink()
		if len(r.srv.papRequests) != 0 {
			t.Errorf("sent %d PAP requests (the password in clear)", len(r.srv.papRequests))
		}
	})
}

// A server that can do nothing but PAP gets Naks until Max-Failure, then a
// NoAuthMethodError naming PAP; no PAP request is ever sent.
func TestLinkRefusedPAPServerInsists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.supports = []AuthMethod{AuthPAP}
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2, AuthCHAPMD5}})
		err := r.wait()
		var ne *NoAuthMethodError
		if !errors.As(err, &ne) || !errors.Is(err, ErrNoAuthMethod) || ne.Method != AuthPAP || ne.Requested != "PAP" {
			t.Fatalf("Run = %v, want NoAuthMethodError for PAP", err)
		}
		if want := "ppp: lcp: the server demands PAP authentication, but only mschapv2, chap are allowed"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if len(r.srv.papRequests) != 0 {
			t.Errorf("sent %d PAP requests (the password in clear)", len(r.srv.papRequests))
		}
	})
}

// A method we do not implement has no Method.
func TestLinkNoAuthMethodUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{0} // EAP only
		p.supports = nil
		r := startLink(t, p, Config{})
		err := r.wait()
		var ne *NoAuthMethodError
		if !errors.As(err, &ne) || ne.Method != 0 || ne.Requested != "EAP" {
			t.Fatalf("Run = %v, want NoAuthMethodError for EAP without a Method", err)
		}
	})
}

func TestConfigRedactsPassword(t *testing.T) {
	c := Config{User: "alice", Password: secret.FromString("Xyzzy-pw")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "Xyzzy") || strings.Contains(s, fmt.Sprintf("%x", "Xyzzy")) {
			t.Errorf("Sprintf(%q, Config) = %s", verb, s)
		}
	}
}

// The suggestion moves on only while the peer asks again for the same method.
func TestLCPSuggestAuthInTurn(t *testing.T) {
	h := testLink(Config{Auth: []AuthMethod{AuthCHAPMD5, AuthMSCHAPv2}}).lcpL
	for i, tc := range []struct{ req, nak string }{
		{"0304c023", "0305c22381"}, // PAP: MS-CHAPv2
		{"0304c023", "0305c22305"}, // PAP again: CHAP-MD5
		{"0304c023", "0305c22381"}, // and round again
		{"0304c227", "0305c22381"}, // EAP, a new request: the strongest first
		{"0304c227", "0305c22305"},
	} {
		code, reply, err := h.checkRequest(unhex(tc.req), false, nil)
		if err != nil || code != CodeConfigureNak || hex.EncodeToString(reply) != tc.nak {
			t.Errorf("%d: %s: %v %x %v, want Nak %s", i, tc.req, code, reply, err, tc.nak)
		}
	}
}
