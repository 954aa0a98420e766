package ppp

// Link tests of the authentication phase against the fake servers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

func TestLinkWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile serverProfile
		auth    AuthMethod
		want    AuthError
		text    string
	}{
		{"pap", l2tpnsProfile(), AuthPAP, AuthError{Method: AuthPAP, Message: "Authentication failure"},
			`ppp: authentication failed: server rejected PAP: "Authentication failure"`},
		{"chap", l2tpnsProfile(), AuthCHAPMD5, AuthError{Method: AuthCHAPMD5, Message: "Authentication failure"},
			`ppp: authentication failed: server rejected CHAP-MD5: "Authentication failure"`},
		{"mschapv2", softEtherProfile(), AuthMSCHAPv2, AuthError{Method: AuthMSCHAPv2, Code: 691, Message: "Authentication failure"},
			`ppp: authentication failed: server rejected MS-CHAPv2 (E=691, wrong user name or password): "Authentication failure"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startLink(t, tc.profile, Config{User: "pfuser", Password: secret.FromString("Xyzzy-pw"), Auth: []AuthMethod{tc.auth}})
				_, werr := r.link.WaitUp(context.Background())
				err := r.wait()
				var ae *AuthError
				if !errors.As(err, &ae) || *ae != tc.want {
					t.Fatalf("Run = %v, want %+v", err, tc.want)
				}
				if !errors.Is(err, ErrAuthFailed) || err.Error() != tc.text {
					t.Errorf("error text %q, want %q", err, tc.text)
				}
				if werr != err {
					t.Errorf("WaitUp = %v, want Run's error", werr)
				}
				if strings.Contains(err.Error(), "Xyzzy") {
					t.Errorf("the password is in the error")
				}
				if r.srv.termRequests == 0 {
					t.Errorf("no Terminate-Request after the failure")
				}
			})
		})
	}
}

func TestLinkServerAuthenticatorInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.badAuthenticator = true
		r := startLink(t, p, Config{})
		if err := r.wait(); !errors.Is(err, ErrServerAuthInvalid) {
			t.Fatalf("Run = %v, want ErrServerAuthInvalid", err)
		}
	})
}

func TestLinkNoAuthMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.authOffers = []AuthMethod{AuthCHAPMD5} // insists on CHAP-MD5
		p.supports = []AuthMethod{AuthCHAPMD5}
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthPAP}})
		err := r.wait()
		var ne *NoAuthMethodError
		if !errors.As(err, &ne) || !errors.Is(err, ErrNoAuthMethod) || ne.Requested != "CHAP-MD5" {
			t.Fatalf("Run = %v, want NoAuthMethodError for CHAP-MD5", err)
		}
		if want := "ppp: lcp: the server demands CHAP-MD5 authentication, but only pap is allowed"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})
}

func TestLinkAuthTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.noChallenge = true
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthCHAPMD5}})
		err := r.wait()
		if !errors.Is(err, ErrAuthTimeout) {
			t.Fatalf("Run = %v, want ErrAuthTimeout", err)
		}
		if d := time.Since(r.start); d < 60*time.Second || d > 70*time.Second {
			t.Errorf("gave up after %v, want 60s + terminate", d)
		}
		if want := "ppp: auth: timed out after 60 s: the server never sent its CHAP-MD5 challenge"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if slices.Contains(r.kinds(), "auth.waiting") {
			t.Errorf("auth.waiting without a request of ours: %v", r.kinds())
		}
	})
}

func TestLinkLogsNoSecret(t *testing.T) {
	for _, m := range []AuthMethod{AuthPAP, AuthCHAPMD5, AuthMSCHAPv2} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var buf bytes.Buffer
				log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
				p := softEtherProfile()
				p.supports = append(p.supports, AuthCHAPMD5)
				p.pass = "s3cr3t-Pw"
				r := startLink(t, p, Config{Auth: []AuthMethod{m}, Logger: log})
				r.waitUp()
				r.closeLink()
				if strings.Contains(buf.String(), "s3cr3t") {
					t.Errorf("password in the log:\n%s", buf.String())
				}
				if !strings.Contains(buf.String(), "ppp: ipcp up") || !strings.Contains(buf.String(), "sending LCP Configure-Request") {
					t.Errorf("log lacks phases or messages:\n%s", buf.String())
				}
			})
		})
	}
}

func TestLinkPAPRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.papIgnore = 2
		r := startLink(t, p, Config{})
		r.waitUp()
		if d := time.Since(r.start); d != 6*time.Second {
			t.Errorf("up after %v, want two Restart timer periods", d)
		}
		r.closeLink()
		if !slices.Equal(r.srv.papRequests, []uint8{1, 2, 3}) {
			t.Errorf("PAP request ids %v", r.srv.papRequests)
		}
	})
}

func TestLinkCHAPRechallenge(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("fail=", fail), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := l2tpnsProfile()
				p.failRechallenge = fail
				r := startLink(t, p, Config{Auth: []AuthMethod{AuthCHAPMD5}})
				r.waitUp()
				r.srv.rechallenge(true)
				synctest.Wait()
				if fail {
					err := r.wait()
					var ae *AuthError
					if !errors.As(err, &ae) || ae.Method != AuthCHAPMD5 || ae.Message != "Re-authentication failed" {
						t.Fatalf("Run = %v", err)
					}
					return
				}
				r.srv.rechallenge(false) // a retransmitted challenge
				synctest.Wait()
				r.closeLink()
				if n := len(r.srv.chapReplies); n != 3 || !bytes.Equal(r.srv.chapReplies[1], r.srv.chapReplies[2]) {
					t.Errorf("%d responses; a retransmitted challenge must get the same response", n)
				}
				if bytes.Equal(r.srv.chapReplies[0], r.srv.chapReplies[1]) {
					t.Errorf("a new challenge got the old response")
				}
			})
		})
	}
}
