package l2tp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

var testSecret = []byte("s3cret-tunnel-key")

// We challenge the server (SCCRQ Challenge, SCCRP Challenge Response) and the
// server challenges us (SCCRP Challenge, SCCCN Challenge Response), 5.1.1.
func TestTunnelAuthBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{Secret: secret.New(testSecret)})
		rq, res := f.startEstablish()
		ch, ok := rq.Find(AVPChallenge)
		if !ok || len(ch.Value) != 16 || !ch.Mandatory {
			t.Fatalf("SCCRQ Challenge %+v", ch)
		}
		resp := ChallengeResponse(SCCRP, testSecret, ch.Value)
		lnsChallenge := []byte("the server's own challenge")
		f.deliver(f.sccrp(BytesAVP(AVPChallengeResponse, true, resp[:]), BytesAVP(AVPChallenge, true, lnsChallenge)))
		cn := f.expect(SCCCN)
		got, ok := cn.Find(AVPChallengeResponse)
		want := ChallengeResponse(SCCCN, testSecret, lnsChallenge)
		if !ok || !bytes.Equal(got.Value, want[:]) || !got.Mandatory {
			t.Errorf("SCCCN Challenge Response %x, want %x", got.Value, want)
		}
		r := <-res
		if r.err != nil || !r.v.Authenticated {
			t.Errorf("Establish: %+v %v", r.v, r.err)
		}
		f.cancel()
		f.runResult()
	})
}

// The server challenges us (l2tpns and xl2tpd with a secret do) and we have
// no secret: ErrTunnelAuth, and a StopCCN tells the server.
func TestServerChallengeWithoutSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		rq, res := f.startEstablish()
		if _, ok := rq.Find(AVPChallenge); ok {
			t.Error("SCCRQ carries a Challenge without a secret")
		}
		f.deliver(f.sccrp(BytesAVP(AVPChallenge, true, []byte("0123456789abcdef"))))
		r := <-res
		if !errors.Is(r.err, ErrTunnelAuth) || !strings.Contains(r.err.Error(), "requires a tunnel secret") {
			t.Errorf("Establish: %v", r.err)
		}
		stop := f.expect(StopCCN)
		if res := resultOf(t, &stop); res.Code != 2 || res.ErrorCode != 6 {
			t.Errorf("StopCCN result %+v", res)
		}
		if stop.Header.Nr != 1 || avpU16(t, &stop, AVPAssignedTunnelID) != f.peer {
			t.Errorf("StopCCN %+v", stop.Header)
		}
		f.zlb()
		if err := f.runResult(); err != r.err {
			t.Errorf("Run: %v, want %v", err, r.err)
		}
	})
}

// The server's Challenge Response is wrong, or missing: ErrTunnelAuth, StopCCN
// result 4 (not authorized).
func TestWrongChallengeResponse(t *testing.T) {
	for _, tt := range []struct {
		name string
		avp  []AVP
		want string
	}{
		{"wrong", []AVP{BytesAVP(AVPChallengeResponse, true, make([]byte, 16))}, "tunnel secrets differ"},
		{"short", []AVP{BytesAVP(AVPChallengeResponse, true, []byte{1})}, "tunnel secrets differ"},
		{"missing", nil, "sent no Challenge Response"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				f := newLNS(t, Config{Secret: secret.New(testSecret), Logger: log})
				_, res := f.startEstablish()
				f.deliver(f.sccrp(tt.avp...))
				r := <-res
				if !errors.Is(r.err, ErrTunnelAuth) || !strings.Contains(r.err.Error(), tt.want) {
					t.Errorf("Establish: %v", r.err)
				}
				stop := f.expect(StopCCN)
				if res := resultOf(t, &stop); res != (Result{Code: 4}) {
					t.Errorf("StopCCN result %+v", res)
				}
				f.zlb()
				if err := f.runResult(); !errors.Is(err, ErrTunnelAuth) {
					t.Errorf("Run: %v", err)
				}
				if strings.Contains(r.err.Error(), string(testSecret)) || strings.Contains(logs.String(), string(testSecret)) {
					t.Error("the secret leaked into an error or a log line")
				}
			})
		})
	}
}

// The server hides AVPs (4.3): revealed with the shared secret.
func TestHiddenAVPsFromServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{Secret: secret.New(testSecret)})
		rq, res := f.startEstablish()
		ch, _ := rq.Find(AVPChallenge)
		resp := ChallengeResponse(SCCRP, testSecret, ch.Value)
		m := f.sccrp(BytesAVP(AVPChallengeResponse, true, resp[:]))
		m.Hide(testSecret, []byte("0123456789abcdef"), AVPAssignedTunnelID, AVPVendorName, AVPChallengeResponse)
		f.deliver(m)
		f.expect(SCCCN)
		r := <-res
		if r.err != nil || r.v.PeerID != f.id || r.v.PeerVendor != "fake" || !r.v.Authenticated {
			t.Errorf("Establish: %+v %v", r.v, r.err)
		}
		f.cancel()
		f.runResult()
	})
}

// Debug logging: one line per control message, charon style, no secret.
func TestDebugLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		f := newLNS(t, Config{Secret: secret.New(testSecret), Logger: log})
		rq, res := f.startEstablish()
		ch, _ := rq.Find(AVPChallenge)
		resp := ChallengeResponse(SCCRP, testSecret, ch.Value)
		f.deliver(f.sccrp(BytesAVP(AVPChallengeResponse, true, resp[:])))
		f.expect(SCCCN)
		<-res
		f.zlb()
		go f.tun.Close(context.Background())
		f.expect(StopCCN)
		f.zlb()
		f.runResult()
		out := logs.String()
		for _, want := range []string{
			`sending SCCRQ [Ns=0 Nr=0] tunnel 0 → peer [ version 1.0 host \"l2tpvpn\"`,
			`challenge ]`,
			`received SCCRP [Ns=0 Nr=1] from tunnel 7453 [ version 1.0 framing-capabilities sync host \"fake-lns\" vendor \"fake\" tunnel-id 7453 window 8 challenge-response ]`,
			`sending SCCCN [Ns=1 Nr=1] tunnel 7453 → peer"`,
			`received ZLB [Ns=1 Nr=2] from tunnel 7453"`,
			`sending StopCCN [Ns=2 Nr=1] tunnel 7453 → peer [ tunnel-id`,
			`msg="tunnel established"`,
			`msg="tunnel closed"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %s", want)
			}
		}
		if strings.Contains(out, string(testSecret)) || strings.Contains(out, "s3cret") {
			t.Error("the secret is in the log")
		}
		if t.Failed() {
			t.Log(out)
		}
	})
}
