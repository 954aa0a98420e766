package ike

// The life of a Responder's peers against our own initiator: dead peer
// detection both ways, rekeys, deletes both ways, INITIAL-CONTACT.

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestResponderAnswersDPD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		c := n.client(Config{DPDDelay: 10 * time.Second}, 40000, 40001)
		up(t, n, c)
		n.none("gone", 2*time.Minute)
		if got := n.logged(slog.LevelDebug, "(R_U_THERE_ACK)"); got < 5 {
			t.Errorf("%d R-U-THERE-ACKs sent in 2 minutes, want one each 10 s", got)
		}
		select {
		case <-c.s.Done():
			t.Fatalf("client ended: %v", c.s.Err())
		default:
		}
	})
}

func TestResponderSendsDPD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: 20 * time.Second})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, sc := up(t, n, c)
		n.none("gone", 2*time.Minute)
		if got := n.logged(slog.LevelDebug, "(R_U_THERE)"); got < 4 {
			t.Errorf("%d R-U-THEREs sent in 2 minutes, want one each 20 s", got)
		}
		// ESP traffic postpones the probes.
		n.r.Alive(c.pub4500)
		synctest.Wait()
		before := n.logged(slog.LevelDebug, "(R_U_THERE)")
		for range 6 {
			time.Sleep(10 * time.Second)
			n.r.Alive(c.pub4500)
		}
		if got := n.logged(slog.LevelDebug, "(R_U_THERE)"); got != before {
			t.Errorf("%d R-U-THEREs while ESP arrived", got-before)
		}
		// The client vanishes: after the retransmissions it is gone.
		c.mute.Store(true)
		start := time.Now()
		down := n.next("down", 2*time.Minute)
		g := n.next("gone", time.Second)
		if down.child.SPIIn != sc.SPIIn || g.peer != c.pub4500 || !strings.Contains(g.reason, "dead peer detection") {
			t.Errorf("down %08x, gone %v %q", down.child.SPIIn, g.peer, g.reason)
		}
		if d := time.Since(start); d > 20*time.Second+time.Minute {
			t.Errorf("declared gone after %s", d)
		}
		if len(n.r.Peers()) != 0 {
			t.Errorf("peers %+v", n.r.Peers())
		}
	})
}

func TestResponderChildRekeyByClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, old := up(t, n, c)
		c.s.Rekey()
		e := c.event(ChildUp, time.Minute)
		sc := n.next("up", time.Minute).child
		checkPair(t, e.Child, sc)
		if !e.Rekey || !sc.Rekey || sc.SPIIn == old.SPIIn {
			t.Errorf("rekey flags %v %v, spi %08x old %08x", e.Rekey, sc.Rekey, sc.SPIIn, old.SPIIn)
		}
		// The client deletes the pair it replaced.
		if d := n.next("down", time.Minute); d.child.SPIIn != old.SPIIn {
			t.Errorf("deleted %08x, want the old %08x", d.child.SPIIn, old.SPIIn)
		}
		if ps := n.r.Peers(); len(ps) != 1 || ps[0].Children != 1 {
			t.Errorf("peers %+v", ps)
		}
	})
}

func TestResponderPhase1RekeyByClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		c := n.client(Config{DPDDelay: -1, IKELifetime: 10 * time.Minute}, 40000, 40001)
		up(t, n, c)
		c.event(Phase1Rekeyed, 10*time.Minute)
		synctest.Wait()
		if n.logged(slog.LevelInfo, "phase 1 rekeyed by the client") != 1 || n.logged(slog.LevelInfo, "the client deleted an ISAKMP SA") != 1 {
			t.Error("no rekey or no delete of the old SA logged")
		}
		if ps := n.r.Peers(); len(ps) != 1 || len(n.r.sas) != 1 {
			t.Fatalf("peers %+v, %d SAs", ps, len(n.r.sas))
		}
		// The new ISAKMP SA negotiates children.
		c.s.Rekey()
		checkPair(t, c.event(ChildUp, time.Minute).Child, n.next("up", time.Minute).child)
	})
}

// Our lifetimes shorter than the client's: RESPONDER-LIFETIME makes it
// rekey both phases before they run out at our end.
func TestResponderLifetimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1, IKELifetime: 10 * time.Minute, ESPLifetime: 4 * time.Minute})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, first := up(t, n, c)
		if first.Lifetime != 4*time.Minute {
			t.Errorf("lifetime %s", first.Lifetime)
		}
		for i := range 3 {
			sc := n.next("up", 4*time.Minute).child
			if !sc.Rekey {
				t.Errorf("rekey %d: not a rekey", i)
			}
		}
		c.event(Phase1Rekeyed, time.Minute)
		n.none("gone", time.Minute)
		if n.logged(slog.LevelInfo, "child SA expired") != 0 {
			t.Error("a child SA expired instead of being rekeyed")
		}
	})
}

func TestResponderDeleteByClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, sc := up(t, n, c)
		c.stop()
		if d := n.next("down", time.Minute); d.child.SPIIn != sc.SPIIn {
			t.Errorf("down %08x, want %08x", d.child.SPIIn, sc.SPIIn)
		}
		if g := n.next("gone", time.Minute); g.peer != c.pub4500 || !strings.Contains(g.reason, "deleted") {
			t.Errorf("gone %v %q", g.peer, g.reason)
		}
		if len(n.r.Peers()) != 0 || len(n.r.sas) != 0 || len(n.r.spis) != 0 {
			t.Errorf("state left: %d peers, %d SAs, %d SPIs", len(n.r.Peers()), len(n.r.sas), len(n.r.spis))
		}
	})
}

func TestResponderDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		up(t, n, c)
		if n.r.Disconnect(netip.AddrPortFrom(natAddr, 1)) {
			t.Error("disconnected an unknown peer")
		}
		if !n.r.Disconnect(c.pub4500) {
			t.Fatal("peer not found")
		}
		n.next("down", time.Second)
		if g := n.next("gone", time.Second); !strings.Contains(g.reason, "administrator") {
			t.Errorf("reason %q", g.reason)
		}
		c.event(ChildDown, time.Minute)
		if err := c.failed(time.Minute); !errors.Is(err, ErrPeerGone) {
			t.Errorf("client error %v, want ErrPeerGone", err)
		}
		n.r.Close()
		n.r.Close()
	})
}

// A client that restarted (new NAT mapping, same identity and address)
// sends INITIAL-CONTACT: its old peer is dropped without waiting for DPD.
func TestResponderInitialContact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{DPDDelay: -1})
		old := n.client(Config{DPDDelay: -1}, 40000, 40001)
		_, oc := up(t, n, old)
		old.mute.Store(true) // it crashed: no deletes
		again := n.client(Config{DPDDelay: -1}, 40010, 40011)
		if d := n.next("down", time.Minute); d.child.SPIIn != oc.SPIIn {
			t.Errorf("down %08x, want %08x", d.child.SPIIn, oc.SPIIn)
		}
		if g := n.next("gone", time.Second); g.peer != old.pub4500 || !strings.Contains(g.reason, "INITIAL-CONTACT") {
			t.Errorf("gone %v %q", g.peer, g.reason)
		}
		up(t, n, again)
		if ps := n.r.Peers(); len(ps) != 1 || ps[0].Addr != again.pub4500 {
			t.Errorf("peers %+v", ps)
		}
	})
}
