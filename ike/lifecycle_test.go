package ike

// Tests of the phase 1 lifecycle (lifecycle.go): a failed or forged-away
// phase 1 rekey leaves the child SAs up and is retried with backoff; a
// Delete names the ISAKMP SA it removes; RESPONDER-LIFETIME shortens an
// SA's life; the commit bit holds a pair back until CONNECTED; a server
// that rekeys phase 1 itself is answered.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// mm1Attempt is one Main Mode of the session's, seen at the fake: its
// cookie, when its message 1 was first sent and how often.
type mm1Attempt struct {
	cky   [8]byte
	first time.Time
	sends int
}

// mm1Attempts lists the session's Main Modes in the order they started.
func (r *fakeResponder) mm1Attempts() []mm1Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []mm1Attempt
	idx := map[[8]byte]int{}
	for _, m := range r.sent {
		msg, err := Parse(m.b)
		h := msg.Header
		if err != nil || h.Exchange != ExchangeIDProt || h.ResponderCookie != ([8]byte{}) || h.Flags&FlagEncryption != 0 {
			continue
		}
		if i, ok := idx[h.InitiatorCookie]; ok {
			out[i].sends++
			continue
		}
		idx[h.InitiatorCookie] = len(out)
		out = append(out, mm1Attempt{cky: h.InitiatorCookie, first: m.at, sends: 1})
	}
	return out
}

// An unanswered phase 1 rekey is retried with backoff (5 s, 10 s, 20 s ...
// up to 2 min, plus up to 25%) and a warning per failure. The child SA
// stays installed all along: the old ISAKMP SA until it expires, then the
// child alone until its own lifetime ends, when the session ends with the
// rekey's failure as its error.
func TestSessionPhase1RekeyUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logRecorder{}
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			IKELifetime: 10 * time.Minute, ESPLifetime: 30 * time.Minute, DPDDelay: -1, Logger: slog.New(logs)}, respConfig{})
		h.event(Phase1Up, time.Second)
		child := h.event(ChildUp, time.Second).Child
		t0 := time.Now()
		h.r.lock(func() { h.r.mmMute = true })

		h.noEvent(ChildDown, 30*time.Minute-time.Second)
		select {
		case <-h.s.Done():
			t.Fatalf("session ended before the child SA expired: %v", h.s.Err())
		default:
		}
		down := h.event(ChildDown, 2*time.Second)
		if down.Child != child || time.Since(t0) != 30*time.Minute {
			t.Errorf("ChildDown for %v after %s, want the child at its expiry (30m)", down.Child, time.Since(t0))
		}
		err := h.done(time.Second)
		if !errors.Is(err, ErrNoResponse) || !strings.Contains(err.Error(), "child SAs expired") ||
			!strings.Contains(err.Error(), "phase 1 rekey failed") {
			t.Fatalf("err = %v, want ErrNoResponse: children expired after the phase 1 rekey failed", err)
		}

		atts := h.r.mm1Attempts()[1:] // [0] is the first phase 1
		if len(atts) < 10 {
			t.Fatalf("%d rekey attempts in 30 minutes", len(atts))
		}
		if d := atts[0].first.Sub(t0); d < 8*time.Minute || d > 9*time.Minute {
			t.Errorf("first rekey after %s, want at about 90%% of 10m", d)
		}
		waited := h.s.waited()
		for i := 1; i < len(atts); i++ {
			if atts[i-1].sends != DefaultRetransmits+1 {
				t.Errorf("attempt %d: MM1 sent %d times, want %d", i, atts[i-1].sends, DefaultRetransmits+1)
			}
			base := min(phase1RetryMin<<(i-1), phase1RetryMax)
			gap := atts[i].first.Sub(atts[i-1].first) - waited
			if gap < base || gap > base+base/4 {
				t.Errorf("retry %d came %s after the failure, want %s to %s", i, gap, base, base+base/4)
			}
		}
		if n := logs.count(slog.LevelWarn, "phase 1 rekey failed"); n < len(atts)-1 || n > len(atts) {
			t.Errorf("%d warnings for %d failed attempts", n, len(atts)-1)
		}
		if logs.count(slog.LevelWarn, "ISAKMP SA expired") != 1 {
			t.Error("no warning when the ISAKMP SA expired")
		}
	})
}

// Unencrypted notifications for a rekey Main Mode are unauthenticated:
// they end neither the session nor (if a genuine answer follows) the
// exchange; they only make a silent attempt give up, and retry, sooner.
func TestSessionPhase1RekeyUnauthenticatedNotify(t *testing.T) {
	for _, answered := range []bool{false, true} {
		name := map[bool]string{false: "retry sooner", true: "real answer follows"}[answered]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
					IKELifetime: 10 * time.Minute, DPDDelay: -1}, respConfig{})
				h.event(Phase1Up, time.Second)
				h.event(ChildUp, time.Second)
				h.r.lock(func() { h.r.mmMute = true })
				h.waitFor("the rekey's MM1", 10*time.Minute, func() bool { return len(h.r.mm1Attempts()) == 2 })
				rekey := h.r.mm1Attempts()[1]
				forged := plainInfo(rekey.cky, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, ProtoISAKMP, NotifyNoProposalChosen)
				h.s.Input(forged, true)
				synctest.Wait()
				tn := time.Now()
				if answered {
					// The server's real MM2 arrives after the forgery.
					h.r.lock(func() {
						h.r.mmMute = false
						var mm1 []byte
						for _, m := range h.r.sent {
							if bytes.HasPrefix(m.b, rekey.cky[:]) {
								mm1 = m.b
								break
							}
						}
						msg, _ := Parse(mm1)
						h.r.mainMode1(msg, mm1, true)
					})
					h.event(Phase1Rekeyed, time.Second)
					if n := len(h.r.mm1Attempts()); n != 2 {
						t.Errorf("%d main modes, want the rekey to finish as the first attempt", n)
					}
				} else {
					h.waitFor("the retry", 10*time.Second, func() bool { return len(h.r.mm1Attempts()) == 3 })
					retry := h.r.mm1Attempts()[2]
					if d := retry.first.Sub(tn); d < phase1RetryMin || d > phase1RetryMin*5/4+DefaultRetransmitTimeout {
						t.Errorf("retry %s after the notification, want within %s + %s", d, DefaultRetransmitTimeout, phase1RetryMin*5/4)
					}
					h.r.lock(func() { h.r.mmMute = false })
					h.event(Phase1Rekeyed, 30*time.Second)
				}
				for _, e := range h.seen {
					if e.Kind == ChildDown {
						t.Error("child SA went down")
					}
				}
				if err := h.s.Err(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// deleteISAKMP is a Delete payload for the ISAKMP SA sa, by its cookies.
func deleteISAKMP(sa *fakeIKE) *Delete {
	return &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{append(sa.ckyI[:], sa.ckyR[:]...)}}
}

// A Delete naming the old ISAKMP SA by its cookies, sent under the new one
// after our rekey, removes nothing we use. A Delete for the current one
// still ends it: a new Main Mode follows at once, without INITIAL-CONTACT
// (which would make the server drop the child SAs).
func TestSessionDeleteISAKMPByCookies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			IKELifetime: 2 * time.Minute, DPDDelay: -1}, respConfig{})
		h.event(Phase1Up, time.Second)
		h.event(ChildUp, time.Second)
		h.event(Phase1Rekeyed, 2*time.Minute)
		seen := len(h.seen)
		var oldSA, newSA *fakeIKE
		h.r.lock(func() {
			oldSA, newSA = h.r.order[0], h.r.order[1]
			h.r.sendInfo(newSA, deleteISAKMP(oldSA))
		})
		h.noEvent(Phase1Up, 10*time.Second)
		if n := len(h.r.mm1Attempts()); n != 2 {
			t.Fatalf("%d main modes after a Delete for the old SA, want 2: the new SA was dropped", n)
		}
		h.s.Rekey()
		h.event(ChildUp, time.Second)
		h.r.lock(func() {
			if len(newSA.qms) != 1 {
				t.Errorf("%d quick modes under the new SA, want 1", len(newSA.qms))
			}
		})

		// Now the current one.
		h.r.lock(func() { h.r.sendInfo(newSA, deleteISAKMP(newSA)) })
		rk := h.event(Phase1Rekeyed, time.Second)
		h.r.lock(func() {
			if len(h.r.order) != 3 || h.r.order[2].initialContact {
				t.Errorf("%d SAs at the fake; the third with INITIAL-CONTACT: %v", len(h.r.order),
					len(h.r.order) == 3 && h.r.order[2].initialContact)
			}
		})
		if rk.Phase1.Proposal != mustIKE(t, "aes128-sha1-modp2048")[0] {
			t.Errorf("rekeyed %+v", rk.Phase1)
		}
		for _, e := range h.seen[seen:] {
			if e.Kind == ChildDown || e.Kind == Phase1Up {
				t.Errorf("unexpected event %d", e.Kind)
			}
		}
		if err := h.s.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// RESPONDER-LIFETIME replaces the lifetime we proposed when it is shorter:
// in Main Mode message 6, in an informational message for the ISAKMP SA,
// and in Quick Mode message 2 (the last was handled before this change).
func TestSessionResponderLifetime(t *testing.T) {
	offer := Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
		IKELifetime: 10 * time.Minute, ESPLifetime: 10 * time.Minute, DPDDelay: -1}
	within := func(t *testing.T, d time.Duration) {
		t.Helper()
		if d < 51*time.Second || d > 54*time.Second { // 90% of 1m, less up to 5%
			t.Errorf("rekeyed after %s, want 51s to 54s (from a 1m lifetime)", d)
		}
	}
	t.Run("main mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, offer, respConfig{P1Lifetime: time.Minute})
			p1 := h.event(Phase1Up, time.Second)
			t0 := time.Now()
			if p1.Phase1.Lifetime != time.Minute || h.s.Info().Lifetime != time.Minute {
				t.Errorf("phase 1 lifetime %s, want the responder's 1m", p1.Phase1.Lifetime)
			}
			h.event(Phase1Rekeyed, 2*time.Minute)
			within(t, time.Since(t0))
		})
	})
	t.Run("informational", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, offer, respConfig{})
			h.event(Phase1Up, time.Second)
			h.event(ChildUp, time.Second)
			t0 := time.Now()
			h.r.lock(func() {
				sa := h.r.order[0]
				h.r.sendInfo(sa, lifetimeNotify(ProtoISAKMP, append(sa.ckyI[:], sa.ckyR[:]...), AttrLifeType, AttrLifeDuration, time.Minute))
			})
			h.event(Phase1Rekeyed, 2*time.Minute)
			within(t, time.Since(t0))
		})
	})
	t.Run("quick mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, offer, respConfig{QMLifetime: time.Minute})
			c := h.event(ChildUp, time.Second).Child
			t0 := time.Now()
			if c.Lifetime != time.Minute {
				t.Errorf("child lifetime %s, want the responder's 1m", c.Lifetime)
			}
			h.event(ChildUp, 2*time.Minute)
			within(t, time.Since(t0))
		})
	})
}

// With the commit bit in QM2 the pair's inbound SA is announced after QM3,
// but the pair goes up (and its outbound SA into use) only with CONNECTED;
// without CONNECTED the first Quick Mode fails.
func TestSessionCommitBit(t *testing.T) {
	for _, informational := range []bool{false, true} {
		name := map[bool]string{false: "quick mode 4", true: "informational"}[informational]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
					respConfig{Commit: true, HoldConnected: true})
				in := h.event(ChildInbound, time.Second).Child
				h.noEvent(ChildUp, 5*time.Second)
				select {
				case <-h.s.Up():
					t.Fatal("Up before CONNECTED")
				default:
				}
				h.r.sendConnected(informational)
				up := h.event(ChildUp, time.Second)
				if up.Child != in || up.Rekey {
					t.Errorf("ChildUp %+v, want the announced pair", up)
				}
				checkInterop(t, h.r, up.Child)
				if err := h.s.Err(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
	t.Run("no CONNECTED", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
				respConfig{Commit: true, HoldConnected: true})
			in := h.event(ChildInbound, time.Second).Child
			down := h.event(ChildDown, time.Minute)
			if down.Child != in {
				t.Errorf("ChildDown for %v, want the announced pair", down.Child)
			}
			err := h.done(time.Second)
			if !errors.Is(err, ErrNoResponse) || !strings.Contains(err.Error(), "CONNECTED") {
				t.Fatalf("err = %v, want ErrNoResponse naming CONNECTED", err)
			}
			dels, _, _ := h.r.deletes(ProtoESP)
			if len(dels) != 1 || binary.BigEndian.Uint32(dels[0].SPIs[0]) != in.In.SPI() {
				t.Errorf("ESP deletes %v, want one for the abandoned pair", dels)
			}
		})
	})
	t.Run("not set", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1},
				respConfig{})
			h.event(ChildUp, time.Second)
			for _, e := range h.seen {
				if e.Kind == ChildInbound {
					t.Error("ChildInbound without the commit bit")
				}
			}
		})
	})
}

// A server that rekeys phase 1 itself: its Main Mode is answered, its new
// SA becomes ours (its Quick Modes and our own run under it, DPD too), and
// its Delete for the old SA, under the old SA, leaves the session running.
func TestSessionServerRekeysPhase1(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes256-sha256-modp2048"), ESP: mustESP(t, "aes128-sha256"),
			DPDDelay: 10 * time.Second}, respConfig{DPD: true})
		h.event(Phase1Up, time.Second)
		first := h.event(ChildUp, time.Second).Child
		var oldSA *fakeIKE
		h.r.lock(func() { oldSA = h.r.order[0] })
		newSA := h.r.startMainMode()
		rk := h.event(Phase1Rekeyed, time.Second)
		h.r.lock(func() {
			if !newSA.established {
				t.Fatal("the server's main mode did not finish")
			}
			if len(newSA.natd) != 2 || !bytes.Equal(newSA.natd[0].Hash, testNATD(newSA.prop.Hash, newSA.ckyI, newSA.ckyR, testRemote, 4500)) {
				t.Error("the session's NAT-D does not hash the server's address and port 4500 first")
			}
		})
		if rk.Phase1.Proposal != newSA.prop || !rk.Phase1.DPD {
			t.Errorf("rekeyed %+v", rk.Phase1)
		}
		// The server's Quick Mode under its new SA.
		h.r.startQuickMode()
		up := h.event(ChildUp, time.Second)
		if !up.Rekey || up.Child.Initiator {
			t.Errorf("server's child %+v rekey=%v", up.Child, up.Rekey)
		}
		checkInterop(t, h.r, up.Child)
		// It deletes the old ISAKMP SA under that SA.
		h.r.lock(func() { h.r.sendInfo(oldSA, deleteISAKMP(oldSA)) })
		// DPD runs on the new SA and our own Quick Mode too.
		h.waitFor("R-U-THERE", time.Minute, func() bool { n, _ := h.r.notifies(NotifyRUThere); return len(n) >= 1 })
		h.r.lock(func() {
			for _, im := range h.r.infos {
				if im.sa != newSA {
					t.Errorf("informational %s under an old SA", summary(im.ps))
				}
			}
		})
		h.s.Rekey()
		mine := h.event(ChildUp, time.Second).Child
		checkInterop(t, h.r, mine)
		h.r.lock(func() {
			if len(h.r.order) != 2 {
				t.Errorf("%d ISAKMP SAs at the fake, want 2: the session made its own", len(h.r.order))
			}
			if len(newSA.qms) != 2 {
				t.Errorf("%d quick modes under the new SA, want 2", len(newSA.qms))
			}
		})
		if dels, _, _ := h.r.deletes(ProtoISAKMP); len(dels) != 0 {
			t.Errorf("the session deleted %d ISAKMP SAs", len(dels))
		}
		for _, e := range h.seen {
			if e.Kind == ChildDown && e.Child != first {
				t.Errorf("child %08x went down", e.Child.In.SPI())
			}
		}
		if err := h.s.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// A child rekey whose first message is lost is retransmitted after the
// retransmission timeout, like any request (the exchanges tick starts used
// to wait for the next unrelated timer, here the child's expiry).
func TestSessionRekeyQuickModeRetransmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			ESPLifetime: 10 * time.Minute, DPDDelay: -1}, respConfig{})
		h.event(ChildUp, time.Second)
		h.r.lock(func() { h.r.dropQM1 = 1 })
		h.event(ChildUp, 10*time.Minute)
		var sent []time.Time
		h.r.lock(func() {
			for _, m := range h.r.sent {
				if msg, err := Parse(m.b); err == nil && msg.Header.Exchange == ExchangeQuickMode {
					sent = append(sent, m.at)
				}
			}
		})
		// QM1 and QM3 of the first pair, then the lost QM1, its
		// retransmission and QM3.
		if len(sent) != 5 || sent[3].Sub(sent[2]) != DefaultRetransmitTimeout {
			t.Fatalf("quick mode messages at %v, want the lost QM1 sent again after %s", sent, DefaultRetransmitTimeout)
		}
	})
}

// While phase 1 rekeys fail, dead peer detection still runs on the old
// ISAKMP SA: a server that stops answering it ends the session as before,
// long before the child SAs expire.
func TestSessionPhase1RekeyFailingDPD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			IKELifetime: 10 * time.Minute, ESPLifetime: time.Hour, DPDDelay: 10 * time.Second}, respConfig{DPD: true})
		h.event(ChildUp, time.Second)
		h.r.lock(func() { h.r.mmMute = true })
		h.waitFor("a failed rekey", 11*time.Minute, func() bool { return len(h.r.mm1Attempts()) == 3 })
		if err := h.s.Err(); err != nil {
			t.Fatalf("session ended while the server answers DPD: %v", err)
		}
		t0 := time.Now()
		h.r.lock(func() { h.r.dpdAnswer = false })
		err := h.done(2 * time.Minute)
		if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "dead peer detection") {
			t.Fatalf("err = %v, want ErrPeerGone from dead peer detection", err)
		}
		if d := time.Since(t0); d > time.Minute {
			t.Errorf("DPD gave up after %s", d)
		}
	})
}
