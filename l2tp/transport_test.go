package l2tp

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// The peer's duplicate is re-acknowledged at once with a ZLB and dropped (5.8).
func TestDuplicateReacked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		// The SCCRP again, as if our SCCCN had been lost and the LNS retransmits.
		dup := f.sccrp()
		dup.Header.TunnelID, dup.Header.Ns, dup.Header.Nr = f.peer, 0, 1
		start := time.Now()
		f.input(dup)
		z := f.expect(ZLB)
		if time.Since(start) != 0 || z.Header.Nr != 1 || z.Header.Ns != 2 {
			t.Errorf("ZLB [Ns=%d Nr=%d] after %v, want [Ns=2 Nr=1] at once", z.Header.Ns, z.Header.Nr, time.Since(start))
		}
		if s := f.tun.Stats(); s.Duplicates != 1 || s.ControlReceived != 1 {
			t.Errorf("Stats %+v", s)
		}
		// Not processed again: no second SCCCN, the tunnel still works.
		f.quiet()
		f.openSession()
		f.cancel()
		f.runResult()
	})
}

// Messages ahead of a gap are held and delivered in order once it is filled.
func TestOutOfOrderHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		_, res := f.startSession()
		// ICRP (Ns=2) overtakes a HELLO (Ns=1).
		hello := NewMessage(HELLO, f.peer, 0)
		hello.Header.Ns, hello.Header.Nr = 1, f.nr
		icrp := f.icrp()
		icrp.Header.TunnelID, icrp.Header.Ns, icrp.Header.Nr = f.peer, 2, f.nr
		f.ns = 3
		f.input(icrp)
		f.quiet() // held: no ICCN yet, no ack beyond the gap
		f.input(hello)
		iccn := f.expect(ICCN)
		if iccn.Header.Nr != 3 {
			t.Errorf("ICCN Nr=%d, want 3", iccn.Header.Nr)
		}
		if r := <-res; r.err != nil {
			t.Fatal(r.err)
		}
		if s := f.tun.Stats(); s.OutOfOrder != 1 || s.ControlReceived != 3 {
			t.Errorf("Stats %+v", s)
		}
		// Far ahead of our receive window: dropped.
		far := NewMessage(HELLO, f.peer, 0)
		far.Header.Ns, far.Header.Nr = f.ns+DefaultReceiveWindow, f.nr
		f.input(far)
		if s := f.tun.Stats(); s.OutOfOrder != 2 {
			t.Errorf("Stats %+v", s)
		}
		f.cancel()
		f.runResult()
	})
}

// The delayed ack: a ZLB after AckDelay when nothing can piggyback; none when
// our next message carries the Nr.
func TestDelayedZLB(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{AckDelay: 300 * time.Millisecond})
		f.establish()
		start := time.Now()
		f.deliver(NewMessage(HELLO, 0, 0))
		z := f.expect(ZLB)
		if d := time.Since(start); d != 300*time.Millisecond || z.Header.Nr != 2 {
			t.Errorf("ZLB [Nr=%d] after %v", z.Header.Nr, d)
		}
		// Two messages in quick succession: one ZLB for both.
		f.deliver(NewMessage(HELLO, 0, 0))
		wait(100 * time.Millisecond)
		f.deliver(NewMessage(HELLO, 0, 0))
		z = f.expect(ZLB)
		if z.Header.Nr != 4 {
			t.Errorf("ZLB Nr=%d, want 4", z.Header.Nr)
		}
		f.quiet()
		// The ICRP is acknowledged by the ICCN itself.
		f.openSession()
		if m, ok := f.next(500 * time.Millisecond); ok {
			t.Errorf("sent %s after the ICCN", m.Type)
		}
		if s := f.tun.Stats(); s.ZLBSent != 2 {
			t.Errorf("ZLBSent %d, want 2", s.ZLBSent)
		}
		f.cancel()
		f.runResult()
	})
}

// Never more than the peer's receive window unacknowledged; the rest waits.
func TestPeerWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.window = 1
		_, res := f.startEstablish()
		f.deliver(f.sccrp())
		f.expect(SCCCN)
		if r := <-res; r.err != nil || r.v.PeerWindow != 1 {
			t.Fatalf("Establish: %+v %v", r.v, r.err)
		}
		sres := async(func() (SessionInfo, error) { return f.tun.OpenSession(context.Background()) })
		f.quiet() // ICRQ waits for the SCCCN's ack
		f.zlb()
		icrq := f.expect(ICRQ)
		a, _ := icrq.Find(AVPAssignedSessionID)
		f.csid, _ = a.Uint16()
		f.deliver(f.icrp())
		f.expect(ICCN)
		if r := <-sres; r.err != nil {
			t.Fatal(r.err)
		}
		go f.tun.Close(context.Background())
		f.quiet() // CDN waits for the ICCN's ack
		f.zlb()
		f.expect(CDN)
		f.quiet() // StopCCN waits for the CDN's ack
		f.zlb()
		f.expect(StopCCN)
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// A retransmission sends only the oldest message and shrinks the congestion
// window to 1 (Appendix A); acks open it again.
func TestRetransmitOldestAndSlowStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.window = 4
		f.establish()
		f.openSession()
		go f.tun.Close(context.Background())
		cdn := f.expect(CDN)
		f.expect(StopCCN) // cwnd has grown: both in flight
		start := time.Now()
		re := f.expect(CDN) // lost: only the oldest comes again
		if time.Since(start) != time.Second || re.Header.Ns != cdn.Header.Ns {
			t.Errorf("retransmitted Ns=%d after %v", re.Header.Ns, time.Since(start))
		}
		// Ack the CDN only: the StopCCN's timer restarts.
		ack := NewMessage(ZLB, f.peer, 0)
		ack.Header.Ns, ack.Header.Nr = f.ns, cdn.Header.Ns+1
		f.input(ack)
		start = time.Now()
		stop := f.expect(StopCCN)
		if time.Since(start) != time.Second {
			t.Errorf("StopCCN retransmitted after %v", time.Since(start))
		}
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if s := f.tun.Stats(); s.Retransmits != 2 {
			t.Errorf("Retransmits %d (StopCCN Ns=%d)", s.Retransmits, stop.Header.Ns)
		}
	})
}

func TestCongestionWindow(t *testing.T) {
	var tx transport
	tx.init()
	tx.setPeerWindow(6)
	var got []int
	for range 12 {
		tx.acked()
		got = append(got, tx.cwnd)
	}
	// Slow start 1→6 (ssthresh = window), then capped.
	want := []int{2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cwnd %v, want %v", got, want)
		}
	}
	// After a loss: ssthresh = 3, cwnd 1; slow start to 3, then +1 per 3, 4, ... acks.
	tx.ssthresh, tx.cwnd, tx.caCount = 3, 1, 0
	got = got[:0]
	for range 10 {
		tx.acked()
		got = append(got, tx.cwnd)
	}
	want = []int{2, 3, 3, 3, 4, 4, 4, 4, 5, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cwnd %v, want %v", got, want)
		}
	}
}

// Sequence numbers wrap at 2^16 (5.8): the comparisons work across the wrap.
func TestSequenceWraparound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent []Message
		tun := NewTunnel(Config{}, func(b []byte) error {
			m, err := ParseMessage(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, m)
			return nil
		})
		l := newLoop(tun)
		l.state, l.localID, l.peerID = stateEstablished, 100, 200
		l.tx.setPeerWindow(8)
		l.tx.cwnd = 8
		l.tx.ns, l.tx.nr = 65534, 65534
		in := func(ns, nr uint16) {
			m := NewMessage(HELLO, 100, 0)
			m.Header.Ns, m.Header.Nr = ns, nr
			l.input(m.Append(nil))
		}
		// Three of ours straddle the wrap: Ns 65534, 65535, 0.
		for range 3 {
			l.queue(NewMessage(HELLO, 200, 0))
		}
		if len(sent) != 3 || sent[2].Header.Ns != 0 || l.tx.ns != 1 {
			t.Fatalf("sent %d, last Ns %d, next %d", len(sent), sent[len(sent)-1].Header.Ns, l.tx.ns)
		}
		in(65534, 0) // acks 65534 and 65535
		if len(l.tx.out) != 1 || l.tx.out[0].msg.Header.Ns != 0 || l.tx.nr != 65535 {
			t.Fatalf("out %d, nr %d", len(l.tx.out), l.tx.nr)
		}
		in(65535, 1) // acks 0; our Nr wraps to 0
		in(0, 1)
		if len(l.tx.out) != 0 || l.tx.nr != 1 {
			t.Fatalf("out %d, nr %d", len(l.tx.out), l.tx.nr)
		}
		in(65535, 1) // before the wrap: a duplicate
		in(32768, 1) // 32767 ahead of Nr 1: "ahead", but beyond our window → dropped
		in(32769, 1) // within 32767 before the last received (0): "less than or equal" by 5.8 → duplicate
		if s := tun.Stats(); s.Duplicates != 2 || s.OutOfOrder != 1 || s.ControlReceived != 3 {
			t.Errorf("Stats %+v", s)
		}
		if last := sent[len(sent)-1]; last.Type != ZLB || last.Header.Nr != 1 {
			t.Errorf("last sent %s [Nr=%d]", last.Type, last.Header.Nr)
		}
		in(2, 1) // one ahead: held, not acknowledged beyond 1
		in(1, 1) // fills the gap: both delivered
		if l.tx.nr != 3 {
			t.Errorf("nr %d, want 3", l.tx.nr)
		}
		l.cleanup()
	})
}

// An Nr acknowledging more than we sent is ignored.
func TestBogusAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		_, res := f.startEstablish()
		m := f.sccrp()
		m.Header.TunnelID, m.Header.Ns, m.Header.Nr = f.peer, 0, 5 // we sent only Ns 0
		f.input(m)
		// The SCCRP is processed, but its Nr does not release the SCCRQ: the
		// SCCCN waits behind it, a ZLB acknowledges the SCCRP, and the SCCRQ is
		// retransmitted.
		if r := <-res; r.err != nil {
			t.Fatal(r.err)
		}
		start := time.Now()
		if z := f.expect(ZLB); z.Header.Nr != 1 {
			t.Errorf("ZLB Nr=%d", z.Header.Nr)
		}
		re := f.expect(SCCRQ)
		if re.Header.Ns != 0 || re.Header.Nr != 1 || time.Since(start) != time.Second {
			t.Errorf("retransmitted [Ns=%d Nr=%d] after %v", re.Header.Ns, re.Header.Nr, time.Since(start))
		}
		f.cancel()
		f.runResult()
	})
}

// A lost SCCRP: our SCCRQ is retransmitted, the server (seeing a duplicate)
// sends its SCCRP again, and establishment goes on (Appendix B.2 in spirit).
func TestLostSCCRPRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		start := time.Now()
		_, res := f.startEstablish()
		// The LNS's SCCRP (Ns 0) is lost on the way: nothing reaches the tunnel.
		re := f.expect(SCCRQ)
		if time.Since(start) != time.Second || re.Header.Ns != 0 {
			t.Errorf("SCCRQ retransmitted after %v", time.Since(start))
		}
		f.deliver(f.sccrp()) // the LNS's retransmission, same Ns 0
		f.expect(SCCCN)
		if r := <-res; r.err != nil {
			t.Fatal(r.err)
		}
		f.zlb()
		f.openSession()
		if s := f.tun.Stats(); s.Retransmits != 1 {
			t.Errorf("Retransmits %d", s.Retransmits)
		}
		f.cancel()
		f.runResult()
	})
}

// ICRP with Session ID 0 in the header still finds the one waiting session.
func TestICRPWithoutSessionID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		_, res := f.startSession()
		icrp := f.icrp()
		icrp.Header.SessionID = 0
		f.deliver(icrp)
		f.expect(ICCN)
		if r := <-res; r.err != nil || r.v.PeerID != f.sid {
			t.Errorf("OpenSession: %+v %v", r.v, r.err)
		}
		f.cancel()
		f.runResult()
	})
}
