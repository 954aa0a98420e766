package ike

// Quick Modes started by the Responder (server_rekey.go) against our own
// initiator, which answers them (qmresponder.go): rekeys before the
// client's own, a lost message and a refusal on the way, and a collision
// with the client's rekey.

import (
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// The client learns our 4-minute lifetime from RESPONDER-LIFETIME and would
// rekey its own pair at 85-90% of it, and pairs we started only shortly
// before they expire; we rekey at 2 minutes less jitter. So every rekey is
// ours: both ends switch to the new pair, and we delete the old one after
// the overlap, with no moment without a working pair.
func TestResponderRekeysChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const life = 4 * time.Minute
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1, ESPLifetime: life, ESPRekeyMargin: 2 * time.Minute})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		cc, sc := up(t, n, c)
		upAt := time.Now()
		for i := range 3 {
			ns := n.next("up", life).child
			if d := time.Since(upAt); d < life/2-life/20 || d > life/2 {
				t.Errorf("rekey %d after %s, want 1m48s to 2m", i, d)
			}
			upAt = time.Now()
			ce := c.nextEvent(time.Second)
			if ce.Kind != ChildUp || !ce.Rekey || !ns.Rekey {
				t.Fatalf("rekey %d: client event %+v, server rekey %v", i, ce, ns.Rekey)
			}
			checkPair(t, ce.Child, ns)
			if ce.Child.Initiator {
				t.Errorf("rekey %d: the client started it", i)
			}
			// The old pair still opens what the client sent with it.
			checkOpens(t, cc, sc)
			d := n.next("down", time.Minute)
			if d.child.SPIIn != sc.SPIIn || time.Since(upAt) != supersededGrace {
				t.Errorf("rekey %d: deleted %08x after %s, want the old %08x after %s", i, d.child.SPIIn, time.Since(upAt),
					sc.SPIIn, supersededGrace)
			}
			if ce := c.nextEvent(time.Second); ce.Kind != ChildDown || ce.Child != cc {
				t.Errorf("rekey %d: client event %+v, want the old pair down", i, ce)
			}
			cc, sc = ce.Child, ns
		}
		if got := n.logged(slog.LevelInfo, "rekeying a child SA"); got != 3 {
			t.Errorf("%d rekeys started by the server, want 3", got)
		}
		// The client's first Quick Mode (QM1, QM3) was its only one.
		if got := n.logged(slog.LevelDebug, "received QUICK_MODE request"); got != 2 {
			t.Errorf("%d quick mode requests from the client, want 2", got)
		}
		if n.logged(slog.LevelInfo, "child SA expired") != 0 {
			t.Error("a child SA expired")
		}
		if ps := n.r.Peers(); len(ps) != 1 || ps[0].Children != 1 || len(n.r.spis) != 1 {
			t.Errorf("peers %+v, %d SPIs", ps, len(n.r.spis))
		}
	})
}

// Our Quick Mode 1 is lost until we give up: we try again later, and that
// attempt's QM3 is lost once: the client repeats its QM2, gets QM3 again
// and installs the pair.
func TestResponderRekeyRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const life = 4 * time.Minute
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1, ESPLifetime: life, ESPRekeyMargin: 2 * time.Minute})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, sc := up(t, n, c)
		var mu sync.Mutex
		seen := map[uint32]int{} // messages per quick mode of ours
		var first uint32
		n.setTap(func(_ *srvClient, _ bool, b []byte) bool {
			m, err := Parse(b)
			if err != nil || m.Header.Exchange != ExchangeQuickMode {
				return true
			}
			mu.Lock()
			defer mu.Unlock()
			mid := m.Header.MessageID
			if first == 0 {
				first = mid
			}
			seen[mid]++
			return mid != first && seen[mid] != 2 // all of the first attempt, the second's first QM3
		})
		ns := n.next("up", life).child
		ce := c.event(ChildUp, 10*time.Second)
		checkPair(t, ce.Child, ns)
		if n.logged(slog.LevelWarn, "our rekey of a child SA failed: no answer") != 1 || n.logged(slog.LevelInfo, "rekeying a child SA") != 2 {
			t.Error("no failed and second attempt logged")
		}
		mu.Lock()
		if len(seen) != 2 || seen[first] != DefaultRetransmits+1 {
			t.Errorf("quick mode messages %v", seen)
		}
		for mid, k := range seen {
			if mid != first && k != 3 {
				t.Errorf("second attempt: %d messages, want QM1, QM3 and QM3 again", k)
			}
		}
		mu.Unlock()
		if d := n.next("down", time.Minute); d.child.SPIIn != sc.SPIIn {
			t.Errorf("deleted %08x, want %08x", d.child.SPIIn, sc.SPIIn)
		}
		if n.logged(slog.LevelInfo, "child SA expired") != 0 {
			t.Error("a child SA expired")
		}
	})
}

// Both sides start a rekey at once: both Quick Modes finish, each side
// deletes the pair it replaced, and every pair left works; later rekeys
// are ours again and the extra pair expires without interruption.
func TestResponderRekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const life = 4 * time.Minute
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1, ESPLifetime: life, ESPRekeyMargin: 2 * time.Minute})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		cc, sc := up(t, n, c)
		var once sync.Once
		n.setTap(func(cl *srvClient, natt bool, b []byte) bool {
			m, err := Parse(b)
			if err != nil || m.Header.Exchange != ExchangeQuickMode {
				return true
			}
			held := false
			once.Do(func() {
				// Our QM1 crosses the client's own QM1 on the way.
				held = true
				cl.s.Rekey()
				go func() {
					time.Sleep(100 * time.Millisecond)
					cl.s.Input(b, natt)
				}()
			})
			return !held
		})
		w := newPairWatch(t, c, n, cc, sc)
		w.run(2*time.Minute + 10*time.Second)
		if n.logged(slog.LevelInfo, "rekeying a child SA") != 1 || n.logged(slog.LevelDebug, "received QUICK_MODE request") != 4 {
			t.Fatal("no collision: both sides did not start a quick mode")
		}
		if len(w.client) != 2 || len(w.server) != 2 || w.client[cc.In.SPI()] != nil {
			t.Errorf("after the collision: client pairs %d, server pairs %d", len(w.client), len(w.server))
		}
		w.check()
		// Through the next rekeys and the expiry of the extra pair.
		for range 4 {
			w.run(time.Minute)
			w.check()
		}
		if n.logged(slog.LevelInfo, "rekeying a child SA") < 3 {
			t.Error("no later rekeys by the server")
		}
		select {
		case <-c.s.Done():
			t.Fatalf("client ended: %v", c.s.Err())
		default:
		}
	})
}

// checkOpens: the server's end of a pair opens a packet sealed with the
// client's end (which up or checkPair may have used before: its sequence
// numbers go on, while a fresh server end would repeat them).
func checkOpens(t *testing.T, cc *ChildSA, sc ResponderChild) {
	t.Helper()
	in, _, err := sc.NewSAs(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkESP(t, "client to server", cc.Out, in, 17)
}

// pairWatch follows the pairs both ends have, from their events.
type pairWatch struct {
	t          *testing.T
	c          *srvClient
	n          *srvNet
	client     map[uint32]*ChildSA   // by inbound SPI
	server     map[uint32]*serverEnd // by inbound SPI
	cNew, sNew uint32                // each end's newest pair (it sends with it)
}

// serverEnd is a server pair and its SAs, kept for the sequence numbers.
type serverEnd struct {
	c       ResponderChild
	in, out *esp.SA // out nil: the pair's first check was checkPair's
}

func newPairWatch(t *testing.T, c *srvClient, n *srvNet, cc *ChildSA, sc ResponderChild) *pairWatch {
	w := &pairWatch{t: t, c: c, n: n, client: map[uint32]*ChildSA{cc.In.SPI(): cc},
		server: map[uint32]*serverEnd{}, cNew: cc.In.SPI()}
	w.add(sc)
	w.server[sc.SPIIn].out = nil
	return w
}

// add keeps a new server pair, its newest.
func (w *pairWatch) add(sc ResponderChild) {
	in, out, err := sc.NewSAs(nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.server[sc.SPIIn], w.sNew = &serverEnd{c: sc, in: in, out: out}, sc.SPIIn
}

// run takes the events of d.
func (w *pairWatch) run(d time.Duration) {
	end := time.After(d)
	for {
		select {
		case e := <-w.c.events:
			switch e.Kind {
			case ChildUp:
				w.client[e.Child.In.SPI()], w.cNew = e.Child, e.Child.In.SPI()
			case ChildDown:
				delete(w.client, e.Child.In.SPI())
			}
		case e := <-w.n.events:
			switch e.kind {
			case "up":
				w.add(e.child)
			case "down":
				delete(w.server, e.child.SPIIn)
			case "gone":
				w.t.Fatalf("peer gone: %s", e.reason)
			}
		case <-end:
			return
		}
	}
}

// check: both ends have the same pairs, which work, and each end's newest
// is among them.
func (w *pairWatch) check() {
	w.t.Helper()
	if w.client[w.cNew] == nil || w.server[w.sNew] == nil {
		w.t.Fatalf("an end's newest pair is gone: client %08x, server %08x", w.cNew, w.sNew)
	}
	if len(w.client) != len(w.server) {
		w.t.Errorf("client has %d pairs, server %d", len(w.client), len(w.server))
	}
	for _, cc := range w.client {
		se := w.server[cc.Out.SPI()]
		if se == nil || se.c.SPIOut != cc.In.SPI() {
			w.t.Fatalf("client pair %08x/%08x unknown to the server", cc.In.SPI(), cc.Out.SPI())
		}
		checkESP(w.t, "client to server", cc.Out, se.in, 17)
		if se.out != nil {
			checkESP(w.t, "server to client", se.out, cc.In, 17)
		}
	}
}

// nextEvent is the client's next event, whatever it is.
func (c *srvClient) nextEvent(within time.Duration) Event {
	c.n.t.Helper()
	select {
	case e := <-c.events:
		return e
	case <-time.After(within):
		c.n.t.Fatalf("client: no event within %s", within)
		return Event{}
	}
}

// An error notification from the client (it refuses our Quick Mode)
// abandons our rekey at once, and it is tried again later.
func TestResponderRekeyRefused(t *testing.T) {
	r, sa, _ := fuzzResponder(t)
	c := sa.peer.children[0]
	q := ourQM(sa)
	ps := []Payload{&Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen}}
	r.Input(fuzzFrom, srv4500, true, fuzzHashed(sa, ExchangeInformational, PayloadNotify, AppendPayloads(nil, ps)))
	if ourQM(sa) != nil || c.rekeying != nil || r.spis[q.spiIn] || !c.rekeyAt.After(time.Now()) {
		t.Errorf("quick mode %v, rekeying %v, SPI kept %v, retry at %v", ourQM(sa), c.rekeying, r.spis[q.spiIn], c.rekeyAt)
	}
	r.Close()
}
