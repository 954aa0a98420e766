package ppp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The server's CHAP Success is lost (10 % loss in the lab) and the server,
// like l2tpns, moves on to IPCP without answering a repeated Response: its
// IPCP Configure-Request shows it has authenticated us. Before the fix the
// link stayed in the Authenticate phase, dropped every IPCP request and
// failed after its authentication timeout.
func TestLinkCHAPSuccessLostImplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := l2tpnsProfile()
		p.authOffers = []AuthMethod{AuthCHAPMD5}
		p.loseSuccess, p.ignoreRepeat = 1, true
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthCHAPMD5}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ipi, err := r.link.WaitUp(ctx)
		if err != nil {
			t.Fatalf("WaitUp with the CHAP Success lost: %v", err)
		}
		if ipi.Auth != AuthCHAPMD5 || ipi.Local != addr4(p.assign) {
			t.Errorf("up as %+v", ipi)
		}
		r.cancel()
		r.wait()
	})
}

// A server that answers a repeated Response (RFC 1994 4.1) gets one after
// the Restart timer: the lost MS-CHAPv2 Success, with its authenticator
// response, arrives again and is checked.
func TestLinkMSCHAPv2SuccessLostRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{AuthMSCHAPv2}
		p.loseSuccess = 1
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := r.link.WaitUp(ctx); err != nil {
			t.Fatalf("WaitUp with the MS-CHAPv2 Success lost once: %v (%d responses)\n%s", err, len(r.srv.chapReplies), strings.Join(r.srv.seen, "\n"))
		}
		if n := len(r.srv.chapReplies); n != 2 {
			t.Errorf("%d Responses sent, want 2 (one repeated)", n)
		}
		r.cancel()
		r.wait()
	})
}

// MS-CHAPv2's Success proves the server knows the password: an IPCP
// request instead of it does not stand in for it.
func TestLinkMSCHAPv2NoImpliedSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{AuthMSCHAPv2}
		p.loseSuccess, p.ignoreRepeat = 1, true
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2}})
		err := r.wait()
		if !errors.Is(err, ErrAuthTimeout) {
			t.Fatalf("Run = %v, want the authentication timeout", err)
		}
	})
}
