package ppp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseAuthMethods(t *testing.T) {
	for in, want := range map[string][]AuthMethod{
		"pap,chap,mschapv2":  {AuthPAP, AuthCHAPMD5, AuthMSCHAPv2},
		"MSCHAPv2, CHAP-MD5": {AuthMSCHAPv2, AuthCHAPMD5},
		"pap,pap":            {AuthPAP},
		"ms-chapv2":          {AuthMSCHAPv2},
	} {
		got, err := ParseAuthMethods(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseAuthMethods(%q) = %v %v", in, got, err)
		}
	}
	if got, err := ParseAuthMethods(" "); got != nil || err != nil {
		t.Errorf("ParseAuthMethods(\" \") = %v %v, want nil (all)", got, err)
	}
	for _, bad := range []string{"pap,eap", "pap,,chap", "chap,"} {
		_, err := ParseAuthMethods(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "ppp: ") {
			t.Errorf("ParseAuthMethods(%q) = %v", bad, err)
		}
	}
	if _, err := ParseAuthMethods("pap,eap"); !strings.Contains(err.Error(), `"eap"`) {
		t.Errorf("error does not name the word: %v", err)
	}
	if AuthPAP.String() != "pap" || AuthCHAPMD5.String() != "chap" || AuthMSCHAPv2.String() != "mschapv2" || AuthMethod(0).String() != "none" {
		t.Error("AuthMethod.String")
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		err      error
		sentinel error
		text     string
	}{
		{&AuthError{Method: AuthMSCHAPv2, Code: 691}, ErrAuthFailed,
			"ppp: authentication failed: server rejected MS-CHAPv2 (E=691, wrong user name or password)"},
		{&AuthError{Method: AuthPAP, Message: "Bad password"}, ErrAuthFailed,
			`ppp: authentication failed: server rejected PAP: "Bad password"`},
		{&NoAuthMethodError{Requested: "EAP", Allowed: []AuthMethod{AuthPAP, AuthCHAPMD5}}, ErrNoAuthMethod,
			"ppp: lcp: the server demands EAP authentication, but only pap, chap are allowed"},
		{&EchoTimeoutError{Count: 5}, ErrEchoTimeout, "ppp: link dead: 5 LCP echo requests unanswered and nothing else received"},
		{&TerminateError{Reason: "bye"}, ErrPeerTerminated, `ppp: the server terminated the link (LCP Terminate-Request): "bye"`},
		{&TerminateError{}, ErrPeerTerminated, "ppp: the server terminated the link (LCP Terminate-Request)"},
		{&NegotiationError{Protocol: ProtoIPCP, Reason: "no address"}, ErrNegotiation, "ppp: ipcp: negotiation failed: no address"},
	} {
		wrapped := fmt.Errorf("vpn: %w", tc.err)
		if !errors.Is(wrapped, tc.sentinel) || tc.err.Error() != tc.text {
			t.Errorf("%T: %q (Is %v)", tc.err, tc.err, errors.Is(wrapped, tc.sentinel))
		}
	}
}

func TestPeerText(t *testing.T) {
	if printable([]byte("Admin shutdown\x00\x00")) != "Admin shutdown" || printable([]byte{1, 2, 3}) != "" || printable(nil) != "" {
		t.Error("printable")
	}
	if sanitize([]byte("a\nb\xff")) != "a?b?" || len(sanitize(make([]byte, 500))) != 0 || len(sanitize([]byte(strings.Repeat("x", 500)))) != 200 {
		t.Error("sanitize")
	}
}
