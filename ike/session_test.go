package ike

// Session tests against the fake responder of responder_test.go. Everything
// runs inside a testing/synctest bubble: timers fire as soon as every
// goroutine is blocked, so retransmissions, rekeys and DPD take no real time,
// and the bubble fails the test if a goroutine is left behind.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

var (
	testLocal  = netip.MustParseAddr("10.1.2.3")
	testRemote = netip.MustParseAddr("203.0.113.5")
	testPSK    = []byte("correct horse battery staple")
)

type harness struct {
	t      *testing.T
	s      *Session
	r      *fakeResponder
	events chan Event
	seen   []Event
	cancel context.CancelFunc
	start  time.Time
}

func mustIKE(t testing.TB, s string) []IKEProposal {
	t.Helper()
	p, err := ParseIKEProposals(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustESP(t testing.TB, s string) []ESPProposal {
	t.Helper()
	p, err := ParseESPProposals(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newHarness starts a session against a fake responder. cfg needs only the
// proposals and the knobs of the test; rc.PSK defaults to the session's.
func newHarness(t *testing.T, cfg Config, rc respConfig) *harness {
	t.Helper()
	if cfg.PSK.IsZero() {
		cfg.PSK = secret.New(testPSK)
	}
	if rc.PSK == nil {
		rc.PSK = cfg.PSK.Bytes()
	}
	if rc.AcceptIKE == nil {
		rc.AcceptIKE = cfg.IKE
	}
	if rc.AcceptESP == nil {
		rc.AcceptESP = cfg.ESP
	}
	if !cfg.Local.IsValid() {
		cfg.Local, cfg.Remote = testLocal, testRemote
	}
	r := newFakeResponder(t, rc, cfg.Local, cfg.Remote)
	h := &harness{t: t, r: r, events: make(chan Event, 256), start: time.Now()}
	cfg.Send = r.send
	user := cfg.Events // a test's own observer, called first
	cfg.Events = func(e Event) {
		if user != nil {
			user(e)
		}
		select {
		case h.events <- e:
		default:
			t.Errorf("event queue full")
		}
	}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s, r.s = s, s
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { _ = s.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// stop cancels the session and waits for Run to return.
func (h *harness) stop() {
	h.cancel()
	<-h.s.Done()
}

// event waits (in fake time) for the next event of kind k.
func (h *harness) event(k EventKind, within time.Duration) Event {
	h.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-h.events:
			h.seen = append(h.seen, e)
			if e.Kind == k {
				return e
			}
		case <-h.s.Done():
			h.t.Fatalf("session ended waiting for event %d: %v", k, h.s.Err())
		case <-deadline:
			h.t.Fatalf("no event %d within %s", k, within)
		}
	}
}

// noEvent fails if an event of kind k arrives within d.
func (h *harness) noEvent(k EventKind, d time.Duration) {
	h.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-h.events:
			h.seen = append(h.seen, e)
			if e.Kind == k {
				h.t.Fatalf("unexpected event %d: %+v", k, e)
			}
		case <-deadline:
			return
		}
	}
}

// done waits for Run to end and returns its error.
func (h *harness) done(within time.Duration) error {
	h.t.Helper()
	select {
	case <-h.s.Done():
		return h.s.Err()
	case <-time.After(within):
		h.t.Fatalf("session still running after %s", within)
		return nil
	}
}

// waitFor polls cond every 100 ms of fake time.
func (h *harness) waitFor(what string, within time.Duration, cond func() bool) {
	h.t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(100 * time.Millisecond)
	}
}

// checkESP seals a packet with one SA and opens it with the other.
func checkESP(t *testing.T, what string, seal, open *esp.SA, nh byte) {
	t.Helper()
	payload := []byte("\x06\xa5\x06\xa5\x00\x10\x00\x00l2tp data for " + what)
	buf := make([]byte, seal.Headroom()+len(payload)+seal.Tailroom())
	off := seal.Headroom()
	copy(buf[off:], payload)
	pkt, err := seal.Seal(buf, off, len(payload), nh)
	if err != nil {
		t.Fatalf("%s: seal: %v", what, err)
	}
	got, gotNH, err := open.Open(pkt)
	if err != nil {
		t.Fatalf("%s: open: %v", what, err)
	}
	if !bytes.Equal(got, payload) || gotNH != nh {
		t.Fatalf("%s: opened %x/%d, want %x/%d", what, got, gotNH, payload, nh)
	}
}

// checkInterop checks that a session child and the fake's pair talk.
func checkInterop(t *testing.T, r *fakeResponder, c *ChildSA) {
	t.Helper()
	q := r.childFor(c)
	if q == nil {
		t.Fatalf("the fake has no pair for child in=%08x out=%08x", c.In.SPI(), c.Out.SPI())
	}
	nh := byte(17)
	if c.Mode == esp.Tunnel {
		nh = 4
	}
	checkESP(t, "session to server", c.Out, q.in, nh)
	checkESP(t, "server to session", q.out, c.In, nh)
}

func sameID(id *Identification, a netip.Addr, proto uint8, port uint16) bool {
	got, ok := id.Addr()
	return ok && got == a && id.Protocol == proto && id.Port == port
}

func TestSessionHappyPath(t *testing.T) {
	cases := []struct {
		name      string
		ike, esp  string
		acceptIKE string // "" = all offered
		acceptESP string
		mode      esp.Mode
		draft     bool
		zeroID    bool
		encap     uint16
	}{
		{name: "aes128-sha1-modp2048/aes128-sha1", ike: "aes128-sha1-modp2048", esp: "aes128-sha1",
			mode: esp.Transport, encap: EncapUDPTransport},
		{name: "aes256-sha256-ecp256/aes256gcm16 tunnel", ike: "aes256-sha256-modp2048,aes256-sha256-ecp256",
			acceptIKE: "aes256-sha256-ecp256", esp: "aes128-sha1,aes256gcm16", acceptESP: "aes256gcm16",
			mode: esp.Tunnel, encap: EncapUDPTunnel},
		{name: "3des-md5-modp1024/3des-md5 draft", ike: "3des-md5-modp1024", esp: "3des-md5",
			mode: esp.Transport, draft: true, zeroID: true, encap: EncapUDPTransportDraft},
		{name: "pfs aes128-sha256-modp2048 draft tunnel", ike: "aes128-sha256-modp2048", esp: "aes128-sha256-modp2048",
			mode: esp.Tunnel, draft: true, encap: EncapUDPTunnelDraft},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rc := respConfig{DraftOnly: tc.draft, ZeroID: tc.zeroID}
				if tc.acceptIKE != "" {
					rc.AcceptIKE = mustIKE(t, tc.acceptIKE)
				}
				if tc.acceptESP != "" {
					rc.AcceptESP = mustESP(t, tc.acceptESP)
				}
				h := newHarness(t, Config{IKE: mustIKE(t, tc.ike), ESP: mustESP(t, tc.esp), Mode: tc.mode, DPDDelay: -1}, rc)
				p1 := h.event(Phase1Up, time.Second)
				up := h.event(ChildUp, time.Second)
				// Up closes right after the ChildUp callback returns.
				select {
				case <-h.s.Up():
				case <-time.After(time.Second):
					t.Fatal("Up not closed after ChildUp")
				}
				wantIKE := rc.AcceptIKE
				if tc.acceptIKE == "" {
					wantIKE = mustIKE(t, tc.ike)
				}
				if p1.Phase1.Proposal != wantIKE[0] {
					t.Errorf("phase 1 %v, want %v", p1.Phase1.Proposal, wantIKE[0])
				}
				wantNATT, wantPeer := "rfc3947", "ip:"+testRemote.String()
				if tc.draft {
					wantNATT = "draft"
				}
				if tc.zeroID {
					wantPeer = "ip:0.0.0.0"
				}
				if p1.Phase1.NATT != wantNATT || p1.Phase1.PeerID != wantPeer || p1.Phase1.LocalID != "ip:"+testLocal.String() {
					t.Errorf("phase 1 info %+v, want NAT-T %s peer %s", p1.Phase1, wantNATT, wantPeer)
				}
				c := up.Child
				if up.Rekey || !c.Initiator || c.Mode != tc.mode || c.Encap != tc.encap {
					t.Errorf("child %+v rekey=%v, want mode %v encap %d", c, up.Rekey, tc.mode, tc.encap)
				}
				checkInterop(t, h.r, c)

				h.r.lock(func() {
					sa := h.r.order[0]
					if sa.mm1Natt || sa.mm3Natt || !sa.mm5Natt {
						t.Errorf("natt flags MM1 %v MM3 %v MM5 %v, want false false true", sa.mm1Natt, sa.mm3Natt, sa.mm5Natt)
					}
					if !sa.initialContact {
						t.Error("no INITIAL-CONTACT in MM5")
					}
					if len(sa.natd) != 2 {
						t.Fatalf("%d NAT-D payloads", len(sa.natd))
					}
					hh := sa.prop.Hash
					if sa.natd[0].Draft != tc.draft || sa.natd[1].Draft != tc.draft {
						t.Errorf("NAT-D draft flags %v %v", sa.natd[0].Draft, sa.natd[1].Draft)
					}
					if !bytes.Equal(sa.natd[0].Hash, testNATD(hh, sa.ckyI, sa.ckyR, testRemote, 500)) {
						t.Error("first NAT-D is not the hash of the server's address and port 500")
					}
					for _, port := range []uint16{500, 4500} {
						if bytes.Equal(sa.natd[1].Hash, testNATD(hh, sa.ckyI, sa.ckyR, testLocal, port)) {
							t.Errorf("our NAT-D matches Local:%d: encapsulation would not be forced", port)
						}
					}
					q := h.r.children[0]
					if !q.natt {
						t.Error("QM1 not sent to port 4500")
					}
					for _, tr := range q.offered {
						a, ok := tr.Attribute(AttrEncapsulationMode)
						if v, _ := a.Uint(); !ok || v != uint64(tc.encap) {
							t.Errorf("offered transform %d encapsulation %d, want %d", tr.Number, v, tc.encap)
						}
					}
					if len(q.ids) != 2 || !sameID(q.ids[0], testLocal, 17, L2TPPort) || !sameID(q.ids[1], testRemote, 17, L2TPPort) {
						t.Errorf("traffic selectors %v", q.ids)
					}
					if tc.mode == esp.Transport {
						if len(q.natoa) != 2 || q.natoa[0].Addr != testLocal || q.natoa[1].Addr != testRemote ||
							q.natoa[0].Draft != tc.draft {
							t.Errorf("NAT-OA %v, want %v and %v", q.natoa, testLocal, testRemote)
						}
					} else if len(q.natoa) != 0 {
						t.Errorf("NAT-OA in tunnel mode: %v", q.natoa)
					}
				})
				if info := h.s.Info(); info.Proposal != wantIKE[0] {
					t.Errorf("Info %+v", info)
				}
			})
		})
	}
}

func TestSessionWrongPSK(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1")},
				respConfig{PSK: []byte("another key")})
			err := h.done(time.Minute)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrAuthentication) {
				t.Fatalf("err = %v, want *Error ErrAuthentication", err)
			}
			if !strings.Contains(err.Error(), "pre-shared key") || strings.Contains(err.Error(), string(testPSK)) {
				t.Errorf("message %q", err)
			}
			h.r.lock(func() {
				if h.r.badMM5 != DefaultRetransmits+1 {
					t.Errorf("MM5 sent %d times, want %d", h.r.badMM5, DefaultRetransmits+1)
				}
			})
		})
	})
	t.Run("payload-malformed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1")},
				respConfig{PSK: []byte("another key"), MalformedOnBadMM5: true})
			err := h.done(time.Second)
			if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "pre-shared key") {
				t.Fatalf("err = %v, want ErrAuthentication mentioning the pre-shared key", err)
			}
		})
	})
}

func TestSessionNoProposalChosen(t *testing.T) {
	offerIKE := "aes256-sha256-modp2048,aes128-sha1-modp2048,3des-sha1-modp1024"
	offerESP := "aes256gcm16,aes128-sha1"
	t.Run("main mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, offerIKE), ESP: mustESP(t, offerESP)},
				respConfig{AcceptIKE: mustIKE(t, "aes256-sha512-ecp384")})
			err := h.done(time.Second)
			if !errors.Is(err, ErrNoProposalChosen) {
				t.Fatalf("err = %v, want ErrNoProposalChosen", err)
			}
			for _, p := range strings.Split(offerIKE, ",") {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("message %q does not list %s", err, p)
				}
			}
		})
	})
	t.Run("quick mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, offerIKE), ESP: mustESP(t, offerESP)},
				respConfig{AcceptESP: mustESP(t, "aes256-sha512")})
			h.event(Phase1Up, time.Second)
			err := h.done(time.Second)
			if !errors.Is(err, ErrNoProposalChosen) || !strings.Contains(err.Error(), "Quick Mode") {
				t.Fatalf("err = %v, want ErrNoProposalChosen in Quick Mode", err)
			}
			for _, p := range strings.Split(offerESP, ",") {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("message %q does not list %s", err, p)
				}
			}
		})
	})
	t.Run("main mode silent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, offerIKE), ESP: mustESP(t, offerESP)},
				respConfig{AcceptIKE: mustIKE(t, "aes256-sha512-ecp384"), SilentNoProposal: true})
			err := h.done(time.Minute)
			if !errors.Is(err, ErrNoResponse) || !strings.Contains(err.Error(), "3des-sha1-modp1024") {
				t.Fatalf("err = %v, want ErrNoResponse naming the proposals", err)
			}
		})
	})
}

func TestSessionSilentServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			RetransmitTimeout: time.Second, Retransmits: 4}, respConfig{Mute: true})
		err := h.done(time.Minute)
		if !errors.Is(err, ErrNoResponse) {
			t.Fatalf("err = %v, want ErrNoResponse", err)
		}
		if got := time.Since(start); got != 23*time.Second {
			t.Errorf("gave up after %s, want 23s", got)
		}
		h.r.lock(func() {
			want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second}
			if len(h.r.sent) != len(want) {
				t.Fatalf("%d sends, want %d", len(h.r.sent), len(want))
			}
			for i, m := range h.r.sent {
				if m.at.Sub(start) != want[i] || m.natt || !bytes.Equal(m.b, h.r.sent[0].b) {
					t.Errorf("send %d at %s natt %v, want MM1 again at %s on port 500", i, m.at.Sub(start), m.natt, want[i])
				}
			}
		})
	})
}

func TestSessionResponderQuickMode(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha256-modp2048"), ESP: mustESP(t, "aes128-sha256"),
					Mode: mode, DPDDelay: -1}, respConfig{})
				first := h.event(ChildUp, time.Second).Child
				h.r.startQuickMode()
				up := h.event(ChildUp, time.Second)
				if !up.Rekey || up.Child.Initiator || up.Child == first {
					t.Fatalf("second ChildUp %+v rekey=%v", up.Child, up.Rekey)
				}
				checkInterop(t, h.r, up.Child)
				// The server started it, so the server deletes the old pair.
				h.noEvent(ChildDown, time.Minute)
				if d, _, _ := h.r.deletes(ProtoESP); len(d) != 0 {
					t.Errorf("session deleted %d ESP SAs itself", len(d))
				}
				var spi [4]byte
				binary.BigEndian.PutUint32(spi[:], first.Out.SPI())
				h.r.lock(func() {
					h.r.sendInfo(h.r.order[0], &Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{spi[:]}})
				})
				down := h.event(ChildDown, time.Second)
				if down.Child != first {
					t.Errorf("ChildDown for %08x, want the old pair %08x", down.Child.In.SPI(), first.In.SPI())
				}
				h.noEvent(ChildDown, time.Minute)
			})
		})
	}
}

func TestSessionSoftEtherQuickModeAfterMM6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
			respConfig{QMAfterMM6: true, ZeroID: true})
		c := h.event(ChildUp, time.Second).Child
		checkInterop(t, h.r, c)
		c2 := h.event(ChildUp, time.Second).Child
		checkInterop(t, h.r, c2)
		if err := h.s.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSessionRekeyChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			ESPLifetime: time.Minute, DPDDelay: -1}, respConfig{})
		old := h.event(ChildUp, time.Second)
		t0 := time.Now()
		if old.Child.Lifetime != time.Minute {
			t.Fatalf("child lifetime %s", old.Child.Lifetime)
		}
		up := h.event(ChildUp, time.Minute)
		rekeyed := time.Now()
		if !up.Rekey || !up.Child.Initiator || rekeyed.Sub(t0) >= time.Minute || rekeyed.Sub(t0) < 45*time.Second {
			t.Fatalf("rekey ChildUp rekey=%v after %s", up.Rekey, rekeyed.Sub(t0))
		}
		checkInterop(t, h.r, up.Child)
		down := h.event(ChildDown, 10*time.Second)
		if down.Child != old.Child {
			t.Fatalf("ChildDown for %08x, want the old pair %08x", down.Child.In.SPI(), old.Child.In.SPI())
		}
		if d := time.Since(rekeyed); d != supersededGrace {
			t.Errorf("old pair deleted %s after the rekey, want %s", d, supersededGrace)
		}
		dels, _, at := h.r.deletes(ProtoESP)
		if len(dels) != 1 || len(dels[0].SPIs) != 1 || binary.BigEndian.Uint32(dels[0].SPIs[0]) != old.Child.In.SPI() {
			t.Fatalf("deletes %v, want one for %08x", dels, old.Child.In.SPI())
		}
		if at[0] != time.Now() {
			t.Errorf("delete sent at a different time than ChildDown")
		}
	})
}

func TestSessionRekeyPhase1(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			IKELifetime: 2 * time.Minute, DPDDelay: -1}, respConfig{})
		h.event(Phase1Up, time.Second)
		child := h.event(ChildUp, time.Second).Child
		t0 := time.Now()
		rk := h.event(Phase1Rekeyed, 2*time.Minute)
		if d := time.Since(t0); d >= 2*time.Minute || d < 90*time.Second {
			t.Errorf("phase 1 rekeyed after %s", d)
		}
		if rk.Phase1.Lifetime != 2*time.Minute {
			t.Errorf("rekeyed info %+v", rk.Phase1)
		}
		var oldSA, newSA *fakeIKE
		h.r.lock(func() {
			if len(h.r.order) != 2 {
				t.Fatalf("%d ISAKMP SAs at the fake, want 2", len(h.r.order))
			}
			oldSA, newSA = h.r.order[0], h.r.order[1]
			if oldSA.ckyI == newSA.ckyI || !newSA.established || newSA.initialContact {
				t.Errorf("new SA: same cookie %v, established %v, initial contact %v", oldSA.ckyI == newSA.ckyI,
					newSA.established, newSA.initialContact)
			}
		})
		dels, sas, _ := h.r.deletes(ProtoISAKMP)
		if len(dels) != 1 || sas[0] != oldSA || len(dels[0].SPIs) != 1 ||
			!bytes.Equal(dels[0].SPIs[0], append(oldSA.ckyI[:], oldSA.ckyR[:]...)) {
			t.Fatalf("ISAKMP deletes %v (under the old SA: %v)", dels, len(sas) > 0 && sas[0] == oldSA)
		}
		for _, e := range h.seen {
			if e.Kind == ChildDown {
				t.Errorf("child went down in a phase 1 rekey")
			}
		}
		// The next Quick Mode runs under the new ISAKMP SA.
		h.s.Rekey()
		up := h.event(ChildUp, time.Second)
		if !up.Rekey {
			t.Error("manual rekey not flagged as a rekey")
		}
		checkInterop(t, h.r, up.Child)
		h.r.lock(func() {
			if len(newSA.qms) != 1 {
				t.Errorf("%d quick modes under the new SA, want 1", len(newSA.qms))
			}
		})
		_ = child
	})
}

func TestSessionDPD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			DPDDelay: 10 * time.Second}, respConfig{DPD: true})
		p1 := h.event(Phase1Up, time.Second)
		if !p1.Phase1.DPD {
			t.Fatal("DPD not detected")
		}
		h.event(ChildUp, time.Second)
		t0 := time.Now()
		// Two rounds answered.
		h.waitFor("two R-U-THERE", time.Minute, func() bool { n, _ := h.r.notifies(NotifyRUThere); return len(n) >= 2 })
		ns, at := h.r.notifies(NotifyRUThere)
		if d := at[0].Sub(t0); d != 10*time.Second {
			t.Errorf("first R-U-THERE after %s idle, want 10s", d)
		}
		if s0, s1 := binary.BigEndian.Uint32(ns[0].Data), binary.BigEndian.Uint32(ns[1].Data); s1 != s0+1 {
			t.Errorf("sequence numbers %d then %d", s0, s1)
		}
		if h.s.Err() != nil {
			t.Fatalf("session failed although DPD was answered: %v", h.s.Err())
		}
		// The server asks; we answer with the same sequence number.
		h.r.lock(func() {
			sa := h.r.order[0]
			h.r.sendInfo(sa, &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere,
				SPI: append(sa.ckyI[:], sa.ckyR[:]...), Data: []byte{0x12, 0x34, 0x56, 0x78}})
		})
		h.waitFor("R-U-THERE-ACK", time.Second, func() bool { n, _ := h.r.notifies(NotifyRUThereAck); return len(n) == 1 })
		acks, _ := h.r.notifies(NotifyRUThereAck)
		h.r.lock(func() {
			sa := h.r.order[0]
			if !bytes.Equal(acks[0].Data, []byte{0x12, 0x34, 0x56, 0x78}) || !bytes.Equal(acks[0].SPI, append(sa.ckyI[:], sa.ckyR[:]...)) {
				t.Errorf("ack %+v", acks[0])
			}
			h.r.dpdAnswer = false
		})
		err := h.done(2 * time.Minute)
		if !errors.Is(err, ErrPeerGone) {
			t.Fatalf("err = %v, want ErrPeerGone", err)
		}
	})
}

func TestSessionClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1}, respConfig{})
		c := h.event(ChildUp, time.Second).Child
		h.cancel()
		if err := h.done(time.Second); err != nil {
			t.Fatalf("Run returned %v after cancel", err)
		}
		var downs []*ChildSA
		for len(h.events) > 0 {
			if e := <-h.events; e.Kind == ChildDown {
				downs = append(downs, e.Child)
			}
		}
		if len(downs) != 1 || downs[0] != c {
			t.Errorf("ChildDown events %v, want one for the child", downs)
		}
		dels, _, _ := h.r.deletes(ProtoESP)
		if len(dels) != 1 || binary.BigEndian.Uint32(dels[0].SPIs[0]) != c.In.SPI() {
			t.Errorf("ESP deletes %v, want our inbound SPI %08x", dels, c.In.SPI())
		}
		dels, _, _ = h.r.deletes(ProtoISAKMP)
		h.r.lock(func() {
			sa := h.r.order[0]
			if len(dels) != 1 || !bytes.Equal(dels[0].SPIs[0], append(sa.ckyI[:], sa.ckyR[:]...)) {
				t.Errorf("ISAKMP deletes %v", dels)
			}
		})
	})
}

// junkFor returns malformed, truncated, misdirected and corrupted variants
// of reply, plus replays of earlier replies; each reply gets junk once.
func junkFor(corruptMM6 bool) func(reply []byte) [][]byte {
	seen := map[string]bool{}
	var earlier [][]byte
	return func(reply []byte) [][]byte {
		if seen[string(reply)] || len(reply) < HeaderLen {
			return nil
		}
		seen[string(reply)] = true
		out := [][]byte{nil, {0xff}, fakeRand(27), fakeRand(28), fakeRand(200)}
		for _, n := range []int{1, 27, 28, 29, len(reply) / 2, len(reply) - 1} {
			out = append(out, bytes.Clone(reply[:n]))
		}
		mut := func(f func(b []byte)) {
			b := bytes.Clone(reply)
			f(b)
			out = append(out, b)
		}
		mut(func(b []byte) { b[0] ^= 0xff })                                                   // unknown initiator cookie
		mut(func(b []byte) { b[17] = 0x20 })                                                   // version 2
		mut(func(b []byte) { binary.BigEndian.PutUint32(b[24:], uint32(len(b)+8)) })           // length past the datagram
		mut(func(b []byte) { binary.BigEndian.PutUint32(b[24:], HeaderLen-1) })                // length below the header
		mut(func(b []byte) { b[18] = byte(ExchangeAggressive) })                               // exchange we do not run
		mut(func(b []byte) { b[19] = 0; b[16] = 0xee; b = append(b[:28], 0, 0, 0, 4); _ = b }) // garbage payload chain
		encrypted := Flags(reply[19])&FlagEncryption != 0
		mm6 := ExchangeType(reply[18]) == ExchangeIDProt
		if encrypted && (!mm6 || corruptMM6) {
			mut(func(b []byte) { b[len(b)-1] ^= 1 })            // last block: wrong hash or garbage
			mut(func(b []byte) { b[HeaderLen] ^= 0x80 })        // first block
			mut(func(b []byte) { b[20] ^= 0x55 })               // another message ID: wrong IV
			mut(func(b []byte) { b[16] = byte(PayloadNotify) }) // first payload not HASH
		}
		out = append(out, earlier...)
		if ExchangeType(reply[18]) == ExchangeIDProt {
			// Replays of the server's own Quick Mode 1 are left out: see
			// TestSessionDuplicateServerQM1.
			earlier = append(earlier, bytes.Clone(reply))
		}
		return out
	}
}

func TestSessionRobustness(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes256-sha256-ecp256"), ESP: mustESP(t, "aes128-sha256-ecp256"),
					Mode: mode, DPDDelay: 10 * time.Second}, respConfig{DPD: true})
				h.r.lock(func() { h.r.junk = junkFor(false) })
				c := h.event(ChildUp, 10*time.Second).Child
				checkInterop(t, h.r, c)
				// Server-started Quick Mode and DPD, with junk.
				h.r.startQuickMode()
				c2 := h.event(ChildUp, 10*time.Second).Child
				checkInterop(t, h.r, c2)
				h.waitFor("an answered R-U-THERE", time.Minute, func() bool { n, _ := h.r.notifies(NotifyRUThere); return len(n) >= 1 })
				<-time.After(5 * time.Second)
				if err := h.s.Err(); err != nil {
					t.Fatalf("session failed on junk: %v", err)
				}
			})
		})
	}
}

// A forged or corrupted Main Mode message 6 (anyone on the path sees the
// cookies) must not end the session while the real one is on its way.
func TestSessionRobustnessMM6(t *testing.T) {

	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
			respConfig{})
		h.r.lock(func() { h.r.junk = junkFor(true) })
		checkInterop(t, h.r, h.event(ChildUp, 10*time.Second).Child)
	})
}

// FuzzSessionInput feeds bytes to a session that has completed phase 1 and
// its first Quick Mode. kind 0 sends data as a raw message (with the live
// initiator cookie); kinds 1 and 2 wrap it as the payloads (first type
// data[0]) of an authenticated, encrypted Informational or Quick Mode
// message, so the handlers behind the hash check are reached.
func FuzzSessionInput(f *testing.F) {
	spi := []byte{1, 2, 3, 4}
	seed := func(ps ...Payload) []byte { return append([]byte{byte(FirstPayload(ps))}, AppendPayloads(nil, ps)...) }
	f.Add(uint8(1), seed(&Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{spi}}))
	f.Add(uint8(1), seed(&Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{make([]byte, 16)}}))
	f.Add(uint8(1), seed(&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere, SPI: make([]byte, 16), Data: spi}))
	f.Add(uint8(1), seed(&Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen, SPI: spi}))
	tr := ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96}.transform(1, EncapUDPTransport, time.Hour)
	qm := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP,
		SPI: spi, Transforms: []Transform{tr}}}}, &Nonce{Data: make([]byte, 16)},
		IDAddr(testRemote, 17, L2TPPort), IDAddr(testLocal, 17, L2TPPort), &NATOA{Addr: testRemote}, &NATOA{Addr: testLocal}}
	f.Add(uint8(2), seed(qm...))
	f.Add(uint8(2), seed(append(qm[:2:2], &KeyExchange{Data: make([]byte, 65)})...))
	f.Add(uint8(0), plainInfo([8]byte{}, [8]byte{}, ProtoISAKMP, NotifyNoProposalChosen))
	f.Add(uint8(0), (&Message{Header: Header{Exchange: ExchangeQuickMode, Flags: FlagEncryption, MessageID: 7},
		Ciphertext: make([]byte, 32)}).Append(nil))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-ecp256"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
				respConfig{DPD: true})
			h.event(ChildUp, 10*time.Second)
			h.r.lock(func() {
				sa := h.r.order[0]
				switch kind % 3 {
				case 0:
					b := bytes.Clone(data)
					if len(b) >= 8 {
						copy(b, sa.ckyI[:])
					}
					h.s.Input(b, true)
				default:
					exch := ExchangeInformational
					if kind%3 == 2 {
						exch = ExchangeQuickMode
					}
					first, rest := PayloadNone, []byte(nil)
					if len(data) > 0 {
						first, rest = PayloadType(data[0]), data[1:]
					}
					mid := h.r.newMID(sa)
					sa.qms[mid] = &fakeQM{mid: mid, fakeInit: true, done: true} // ignore any answer
					hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)
					pt := appendHashPayload(hash)
					pt[0] = byte(first)
					pt = append(pt, rest...)
					msg, _ := h.r.encryptRaw(sa, exch, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid), pt)
					h.s.Input(msg, true)
				}
			})
			synctest.Wait()
			<-time.After(time.Second)
		})
	})
}

// A duplicated Quick Mode message 1 from the server must cost at most one
// extra QM2, not an endless QM2/QM3 exchange.
func TestSessionDuplicateServerQM1(t *testing.T) {

	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
			respConfig{})
		h.event(ChildUp, time.Second)
		h.r.lock(func() {
			first := true
			h.r.junk = func(reply []byte) [][]byte {
				if first && ExchangeType(reply[18]) == ExchangeQuickMode {
					first = false
					return [][]byte{bytes.Clone(reply)} // the network duplicates QM1
				}
				return nil
			}
		})
		h.r.startQuickMode()
		h.event(ChildUp, time.Second)
		<-time.After(time.Second)
		h.r.lock(func() {
			if h.r.dups > 2 {
				t.Errorf("the session repeated its QM2 %d times", h.r.dups)
			}
		})
	})
}

// A restarted server answers with clear INVALID-SPI notifications for SAs it
// no longer knows. They are unauthenticated: they only bring the next DPD
// probe forward, on a short schedule. A live server's answer keeps the
// session; a server that lost our SAs ends it within seconds, not after
// the DPD delay.
func TestSessionRestartHint(t *testing.T) {
	hint := func() []byte {
		m := Message{Header: Header{InitiatorCookie: [8]byte{9, 9, 9, 9, 9, 9, 9, 9}, Exchange: ExchangeInformational},
			Payloads: []Payload{&Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyInvalidSPI, SPI: []byte{1, 2, 3, 4}}}}
		return m.Append(nil)
	}
	for _, alive := range []bool{true, false} {
		t.Run(fmt.Sprintf("alive=%v", alive), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
					DPDDelay: time.Hour}, respConfig{DPD: true})
				h.event(Phase1Up, time.Second)
				h.event(ChildUp, time.Second)
				h.r.lock(func() { h.r.dpdAnswer = alive })
				t0 := time.Now()
				h.s.Input(hint(), true)
				h.waitFor("an early R-U-THERE", time.Second, func() bool { n, _ := h.r.notifies(NotifyRUThere); return len(n) >= 1 })
				if !alive {
					err := h.done(10 * time.Second)
					if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "restarted") {
						t.Fatalf("err = %v, want ErrPeerGone saying the server restarted", err)
					}
					if d := time.Since(t0); d > 4*time.Second {
						t.Errorf("gave up after %s, want about %s", d, fastProbeInterval*fastProbeTries)
					}
					return
				}
				time.Sleep(10 * time.Second)
				if err := h.s.Err(); err != nil {
					t.Fatalf("a hint ended a session whose server answers DPD: %v", err)
				}
				if n, _ := h.r.notifies(NotifyRUThere); len(n) != 1 {
					t.Errorf("%d probes for one hint, want 1", len(n))
				}
				h.stop()
			})
		})
	}
}
