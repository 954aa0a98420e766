package vpn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

func policyConfig(ipsec bool, auth []ppp.AuthMethod, log *slog.Logger) Config {
	c := Config{Server: "192.0.2.1", User: "alice", Password: secret.FromString("Zq9-pw"), IPsec: ipsec, Auth: auth, Logger: log}
	if ipsec {
		c.PSK = secret.FromString("Zq9-psk")
	}
	return c
}

// PAP is allowed by default inside IPsec only; named without IPsec it is
// used, with a warning.
func TestAuthPolicy(t *testing.T) {
	pap, chap, ms := ppp.AuthPAP, ppp.AuthCHAPMD5, ppp.AuthMSCHAPv2
	for _, tc := range []struct {
		name  string
		ipsec bool
		auth  []ppp.AuthMethod
		want  []ppp.AuthMethod
		warn  bool
	}{
		{"plain default", false, nil, []ppp.AuthMethod{ms, chap}, false},
		{"ipsec default", true, nil, nil, false}, // nil: ppp allows all three
		{"plain pap named", false, []ppp.AuthMethod{pap}, []ppp.AuthMethod{pap}, true},
		{"plain pap among others", false, []ppp.AuthMethod{ms, pap}, []ppp.AuthMethod{ms, pap}, true},
		{"plain without pap", false, []ppp.AuthMethod{chap}, []ppp.AuthMethod{chap}, false},
		{"ipsec pap named", true, []ppp.AuthMethod{pap}, []ppp.AuthMethod{pap}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := policyConfig(tc.ipsec, tc.auth, slog.New(slog.NewTextHandler(&logs, nil)))
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Auth, tc.want) || (c.Auth == nil) != (tc.want == nil) {
				t.Errorf("Auth = %v, want %v", c.Auth, tc.want)
			}
			warned := strings.Contains(logs.String(), `level=WARN msg="the password crosses the network unencrypted (PAP without IPsec)"`)
			if warned != tc.warn {
				t.Errorf("warned %v, want %v; log: %q", warned, tc.warn, logs.String())
			}
		})
	}
	// The default list is not shared between configs.
	a, b := policyConfig(false, nil, nil), policyConfig(false, nil, nil)
	a.validate()
	b.validate()
	a.Auth[0] = ppp.AuthPAP
	if b.Auth[0] != ppp.AuthMSCHAPv2 {
		t.Error("the default method list is shared")
	}
}

// A server that insists on PAP over plain L2TP fails with a ppp error that
// says why PAP was refused and how to allow it.
func TestPAPRefusedError(t *testing.T) {
	insists := &ppp.NoAuthMethodError{Requested: "PAP", Method: ppp.AuthPAP, Allowed: []ppp.AuthMethod{ppp.AuthMSCHAPv2, ppp.AuthCHAPMD5}}
	plain := policyConfig(false, nil, nil)
	if err := plain.validate(); err != nil {
		t.Fatal(err)
	}
	err := plain.explainAuth(pppError(insists))
	want := "ppp: lcp: the server demands PAP authentication, but only mschapv2, chap are allowed " +
		`(PAP refused: it sends the password in clear and this connection has no IPsec; to allow it anyway, name it: --auth pap (auth = ["pap"] in a profile), and the password then crosses the network unencrypted)`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	if ReasonOf(err) != ReasonAuth || !errors.Is(err, ppp.ErrNoAuthMethod) {
		t.Errorf("reason %v, Is ErrNoAuthMethod %v", ReasonOf(err), errors.Is(err, ppp.ErrNoAuthMethod))
	}
	// Wrapped further, as a reconnect reports it: still found.
	if err := plain.explainAuth(fmt.Errorf("attempt 2: %w", insists)); ReasonOf(err) != ReasonAuth || !strings.Contains(err.Error(), "PAP refused") {
		t.Errorf("bare error: %v", err)
	}

	// Not this case: the hint stays as it was.
	general := "check the user name and password, and the allowed methods (--auth)"
	ipsec := policyConfig(true, []ppp.AuthMethod{ppp.AuthMSCHAPv2}, nil)
	ipsec.validate()
	chapAsked := &ppp.NoAuthMethodError{Requested: "CHAP-MD5", Method: ppp.AuthCHAPMD5, Allowed: []ppp.AuthMethod{ppp.AuthMSCHAPv2}}
	for name, e := range map[string]error{
		"ipsec":     ipsec.explainAuth(pppError(insists)),
		"chap":      plain.explainAuth(pppError(chapAsked)),
		"wrong pw":  plain.explainAuth(pppError(&ppp.AuthError{Method: ppp.AuthMSCHAPv2, Code: 691})),
		"other err": plain.explainAuth(pppError(ppp.ErrServerAuthInvalid)),
	} {
		var ve *Error
		if !errors.As(e, &ve) || ve.Hint != general {
			t.Errorf("%s: %v", name, e)
		}
	}
	if plain.explainAuth(nil) != nil {
		t.Error("explainAuth(nil) != nil")
	}
}

// The secrets of a Config never show in fmt or slog output.
func TestConfigRedacted(t *testing.T) {
	c := policyConfig(true, nil, nil)
	c.L2TPSecret = secret.FromString("Zq9-l2tp")
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", c, "ptr", &c)
	out := logs.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out += fmt.Sprintf(verb, c) + fmt.Sprintf(verb, &c)
	}
	for _, s := range []string{"Zq9", fmt.Sprintf("%x", "Zq9")} {
		if strings.Contains(out, s) {
			t.Fatalf("a secret shows:\n%s", out)
		}
	}
}
