package ppp

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// SoftEther neither answers a repeated Response nor starts IPCP itself:
// after a lost MS-CHAPv2 Success only our IPCP probe shows that it has
// moved on. Over IPsec (ServerVerified) that is taken as the Success.
// Before the fix the link waited out the 60 s authentication timeout (one
// run in five of the lab's 10 % loss test against SoftEther).
func TestLinkMSCHAPv2SuccessLostProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{AuthMSCHAPv2}
		p.loseSuccess, p.ignoreRepeat, p.ipcpWaits = 1, true, true
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2}, ServerVerified: true})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ipi, err := r.link.WaitUp(ctx)
		if err != nil {
			t.Fatalf("WaitUp with the MS-CHAPv2 Success lost: %v\n%s", err, strings.Join(r.srv.seen, "\n"))
		}
		if ipi.Auth != AuthMSCHAPv2 || ipi.Local != addr4(p.assign) {
			t.Errorf("up as %+v", ipi)
		}
		// Up after one Restart period (3 s) and the exchange, not the timeout.
		if d := time.Since(r.start); d > 4*time.Second {
			t.Errorf("up after %v, want one Restart period", d)
		}
		if !slices.Contains(r.kinds(), "auth.ok") {
			t.Errorf("events %v: no auth.ok", r.kinds())
		}
		r.cancel()
		r.wait()
	})
}

// Without IPsec nothing but the Success proves that the server knows the
// password: the same lost Success ends the link with ErrServerUnverified
// after a few repeated Responses, not after the authentication timeout. A
// server that starts IPCP itself (l2tpns) gives the same evidence unasked.
func TestLinkMSCHAPv2SuccessLostUnverified(t *testing.T) {
	for _, waits := range []bool{true, false} {
		t.Run(fmt.Sprintf("ipcpWaits=%v", waits), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := softEtherProfile()
				p.authOffers = []AuthMethod{AuthMSCHAPv2}
				p.loseSuccess, p.ignoreRepeat, p.ipcpWaits = 1, true, waits
				r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2}})
				err := r.wait()
				if !errors.Is(err, ErrServerUnverified) {
					t.Fatalf("Run = %v, want ErrServerUnverified", err)
				}
				// The first repeat (and probe) at 3 s, two more at 6 and 9 s.
				if d := time.Since(r.start); d > 13*time.Second {
					t.Errorf("failed after %v, want within four Restart periods", d)
				}
			})
		})
	}
}

// A server that holds its verdict (RADIUS waiting for a push approval) and
// Protocol-Rejects IPCP until then, as SoftEther does: the probes are
// rejected, the link keeps waiting, and the late Success brings it up with
// IPCP negotiated afresh.
func TestLinkMSCHAPv2ProbeWhileVerdictHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := softEtherProfile()
		p.authOffers = []AuthMethod{AuthMSCHAPv2}
		p.ignoreRepeat, p.ipcpWaits, p.verdictDelay = true, true, 20*time.Second
		r := startLink(t, p, Config{Auth: []AuthMethod{AuthMSCHAPv2}, ServerVerified: true})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ipi, err := r.link.WaitUp(ctx)
		if err != nil {
			t.Fatalf("WaitUp with the verdict held 20 s: %v\n%s", err, strings.Join(r.srv.seen, "\n"))
		}
		if ipi.Local != addr4(p.assign) {
			t.Errorf("up as %+v", ipi)
		}
		if d := time.Since(r.start); d < 20*time.Second {
			t.Errorf("up after %v, before the server's verdict", d)
		}
		r.cancel()
		r.wait()
		if r.srv.earlyIPCP < 5 {
			t.Errorf("%d IPCP probes rejected during the 20 s hold, want one per Restart period", r.srv.earlyIPCP)
		}
		if !slices.Contains(r.kinds(), "auth.waiting") {
			t.Errorf("events %v: no auth.waiting", r.kinds())
		}
	})
}
