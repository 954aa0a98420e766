package ike

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// qmLab wires a Phase2Probe to our own Responder through the wire bytes.
type qmLab struct {
	p      *Phase2Probe
	r      *Responder
	mu     sync.Mutex
	up     int // child SAs the responder installed
	down   int // and withdrew
	sent   int // messages the probe sent
	cancel context.CancelFunc
	runErr chan error
}

var qmClient = netip.MustParseAddr("192.0.2.10")

func newQMLab(t *testing.T, psk string, rc ResponderConfig, mode esp.Mode) *qmLab {
	t.Helper()
	l := &qmLab{runErr: make(chan error, 1)}
	rc.PSK = secret.New(testPSK)
	rc.Send = func(to netip.AddrPort, natt bool, b []byte) error {
		l.p.Input(b, natt)
		return nil
	}
	rc.OnChildSA = func(ResponderChild) { l.mu.Lock(); l.up++; l.mu.Unlock() }
	rc.OnChildDeleted = func(ResponderChild) { l.mu.Lock(); l.down++; l.mu.Unlock() }
	r, err := NewResponder(rc)
	if err != nil {
		t.Fatal(err)
	}
	l.r = r
	ike, _ := ParseIKEProposals("aes256-sha256-modp2048")
	p, err := NewPhase2Probe(Config{PSK: secret.New([]byte(psk)), IKE: ike, Mode: mode, Local: qmClient, Remote: srvAddr,
		RetransmitTimeout: 2 * time.Second, Retransmits: 1,
		Send: func(b []byte, natt bool) error {
			l.mu.Lock()
			l.sent++
			l.mu.Unlock()
			from, to := netip.AddrPortFrom(qmClient, 500), srv500
			if natt {
				from, to = netip.AddrPortFrom(qmClient, 4500), srv4500
			}
			r.Input(from, to, natt, b)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	l.p = p
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go r.Run(ctx)
	go func() { l.runErr <- p.Run(ctx) }()
	return l
}

// Every ESP transform we implement is offered alone: exactly the
// responder's list is accepted (in the mode asked), the rest refused with
// NO-PROPOSAL-CHOSEN; PFS is accepted as well as no PFS; every accepted
// pair is deleted at the server, and so is the kept one at the end.
func TestPhase2ProbeMatchesResponder(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		synctest.Test(t, func(t *testing.T) {
			accept, err := ParseESPProposals("aes128gcm16,aes256-sha1,3des-md5")
			if err != nil {
				t.Fatal(err)
			}
			l := newQMLab(t, string(testPSK), ResponderConfig{ESP: accept, ESPRekeyMargin: -1, DPDDelay: -1}, mode)
			ctx := context.Background()
			select {
			case <-l.p.Up():
			case <-l.p.Done():
				t.Fatalf("phase 1: %v", l.p.Err())
			}
			if got := l.p.Info().Proposal.String(); got != "aes256-sha256-modp2048" {
				t.Errorf("phase 1 %s", got)
			}
			var got []ESPProposal
			for _, prop := range ProbeESPProposals() {
				r, err := l.p.QuickMode(ctx, prop, false)
				if err != nil {
					t.Fatal(err)
				}
				switch r.Outcome {
				case Phase1Accepted:
					got = append(got, prop)
				case Phase1Refused:
					if !errors.Is(r.Kind, ErrNoProposalChosen) {
						t.Errorf("%s refused: %v %s", prop, r.Kind, r.Reason)
					}
				default:
					t.Errorf("%s: no answer", prop)
				}
			}
			if !slices.Equal(got, accept) {
				t.Errorf("%s mode: accepted %s, want %s", mode, FormatESPProposals(got), FormatESPProposals(accept))
			}
			pfs := accept[1]
			pfs.Group = MODP2048
			r, err := l.p.QuickMode(ctx, pfs, true)
			if err != nil || r.Outcome != Phase1Accepted || r.Child == nil || r.Child.Mode != mode {
				t.Fatalf("with PFS: %+v %v", r, err)
			}
			synctest.Wait()
			l.mu.Lock()
			up, down := l.up, l.down
			l.mu.Unlock()
			if up != len(accept)+1 || down != len(accept) {
				t.Errorf("responder: %d pairs up, %d deleted; want %d and %d", up, down, len(accept)+1, len(accept))
			}
			l.cancel()
			if err := <-l.runErr; err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.down != l.up {
				t.Errorf("after the end: %d pairs up, %d deleted", l.up, l.down)
			}
			if n := len(l.r.Peers()); n != 0 {
				t.Errorf("responder still holds %d peers", n)
			}
		})
	}
}

// A wrong pre-shared key ends phase 1 with ErrAuthentication, and the key
// is in no error.
func TestPhase2ProbeWrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newQMLab(t, "not-the-key-0123", ResponderConfig{}, esp.Transport)
		defer l.cancel()
		err := <-l.runErr
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("err %v, want ErrAuthentication", err)
		}
		if s := err.Error(); strings.Contains(s, "not-the-key-0123") || s == "" {
			t.Errorf("error %q", s)
		}
		if _, err := l.p.QuickMode(context.Background(), DefaultESPProposals()[0], false); err == nil {
			t.Error("QuickMode after the end: no error")
		}
	})
}
