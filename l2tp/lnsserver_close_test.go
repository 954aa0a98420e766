package l2tp

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// The LNS clears a session (CDN) and then the tunnel (StopCCN), each with
// its result code, which our LAC reports.
func TestLNSCloseSessionAndTunnel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		_, _, s := n.up(p)

		n.lns.CloseSession(s, Result{Code: 2, ErrorCode: 6, Message: "bye"})
		<-p.tun.SessionDone()
		var re *ResultError
		if err := p.tun.SessionErr(); !errors.As(err, &re) || re.Message != CDN || re.Result != 2 || re.ErrorCode != 6 || re.Text != "bye" {
			t.Errorf("LAC SessionErr: %v", err)
		}
		d := n.nextDown()
		var lc *LocalCloseError
		if d.s != s || !errors.As(d.reason, &lc) || lc.Message != CDN || lc.Result.Code != 2 || !errors.Is(d.reason, ErrClosed) {
			t.Errorf("OnSessionDown %v: %v", d.s, d.reason)
		}
		synctest.Wait()
		if st := n.lns.Stats(); st.Tunnels != 1 || st.Sessions != 0 {
			t.Errorf("Stats %+v", st)
		}
		if n.lns.DataSession(s.TunnelID, s.SessionID) != nil {
			t.Error("DataSession finds a cleared session")
		}

		if !n.lns.CloseTunnel(s.TunnelID, Result{Code: 6, Message: "maintenance"}) {
			t.Fatal("CloseTunnel: no such tunnel")
		}
		err := p.runResult(t)
		if !errors.As(err, &re) || re.Message != StopCCN || re.Result != 6 || re.Text != "maintenance" {
			t.Errorf("LAC Run: %v", err)
		}
		n.tunnelsGone()
		if n.lns.CloseTunnel(s.TunnelID, Result{Code: 1}) {
			t.Error("CloseTunnel found a closed tunnel")
		}
		n.noDown()
	})
}

// CloseTunnel with a session up: CDN (result 3) first, then the StopCCN;
// OnSessionDown says the tunnel was cleared.
func TestLNSCloseTunnelWithSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		_, _, s := n.up(p)
		n.lns.CloseTunnel(s.TunnelID, Result{Code: 1})
		d := n.nextDown()
		var lc *LocalCloseError
		if !errors.As(d.reason, &lc) || lc.Message != StopCCN || lc.Result.Code != 1 {
			t.Errorf("OnSessionDown: %v", d.reason)
		}
		var re *ResultError
		if err := p.runResult(t); !errors.As(err, &re) || re.Result != 1 {
			t.Errorf("LAC Run: %v", err)
		}
		cdn, ok := n.lastFrom(p.key, CDN)
		if !ok || resultOf(t, &cdn).Code != 3 {
			t.Errorf("CDN %+v", cdn)
		}
		n.tunnelsGone()
	})
}

// CloseAll clears every tunnel with its result code.
func TestLNSCloseAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		a := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		b := n.client(peerKey("192.0.2.11:1701", 1), Config{})
		n.up(a)
		n.up(b)
		n.lns.CloseAll(Result{Code: 6})
		for _, p := range []*lnsPeer{a, b} {
			var re *ResultError
			if err := p.runResult(t); !errors.As(err, &re) || re.Message != StopCCN || re.Result != 6 {
				t.Errorf("LAC Run: %v", err)
			}
		}
		n.nextDown()
		n.nextDown()
		n.tunnelsGone()
	})
}

// A lost SCCRP: the LAC retransmits its SCCRQ (the LNS re-acks it, no second
// tunnel) and the LNS retransmits the SCCRP.
func TestLNSLostSCCRP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		n.dropFirst(false, SCCRP)
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		_, _, s := n.up(p)
		if c := n.count(false, SCCRP); c != 2 {
			t.Errorf("%d SCCRPs, want 2", c)
		}
		if c := n.count(true, SCCRQ); c < 1 || c > 2 {
			t.Errorf("%d SCCRQs", c)
		}
		if st := n.lns.Stats(); st.Tunnels != 1 {
			t.Errorf("Stats %+v", st)
		}
		if ts, _ := n.lns.TunnelStats(s.TunnelID); ts.Retransmits == 0 {
			t.Errorf("TunnelStats %+v", ts)
		}
	})
}

// A lost ICRP: the LNS retransmits it, one session comes up.
func TestLNSLostICRP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		n.dropFirst(false, ICRP)
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		n.up(p)
		if c := n.count(false, ICRP); c != 2 {
			t.Errorf("%d ICRPs, want 2", c)
		}
		synctest.Wait()
		if st := n.lns.Stats(); st.Sessions != 1 || len(n.ups) != 0 {
			t.Errorf("Stats %+v, %d more OnSession", st, len(n.ups))
		}
	})
}

// The LNS's HELLO keeps the tunnel up while the LAC acknowledges it; a LAC
// that stops answering takes the session down with ErrTimeout.
func TestLNSHello(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{Config: Config{HelloInterval: 10 * time.Second}})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{HelloInterval: -1})
		n.up(p)
		wait(55 * time.Second)
		n.noDown()
		if c := n.count(false, HELLO); c < 5 {
			t.Errorf("LNS sent %d HELLOs in 55 s with a 10 s interval", c)
		}
		before := n.count(false, HELLO)
		n.mu.Lock()
		n.drop = func(toLNS bool, m *Message) bool { return toLNS } // the LAC's messages get lost
		n.mu.Unlock()
		d := n.nextDown()
		if !errors.Is(d.reason, ErrTimeout) {
			t.Errorf("OnSessionDown: %v", d.reason)
		}
		if c := n.count(false, HELLO); c != before+5 {
			t.Errorf("LNS sent %d HELLOs before giving up, want 1 + 4 retransmissions", c-before)
		}
		n.tunnelsGone()
	})
}

// The LAC's HELLO is acknowledged: the LAC's tunnel stays up.
func TestLNSHelloFromLAC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{Config: Config{HelloInterval: -1}})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{HelloInterval: 10 * time.Second})
		n.up(p)
		wait(5 * time.Minute)
		n.noDown()
		if c := n.count(true, HELLO); c < 25 {
			t.Errorf("LAC sent %d HELLOs in 5 minutes with a 10 s interval", c)
		}
		select {
		case err := <-p.runErr:
			t.Fatalf("LAC Run returned %v", err)
		default:
		}
	})
}

// The data path allocates nothing: Input with OnData, Data, DataSession and
// PutHeader, sequenced or not.
func TestLNSDataAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newLNSNet(t, LNSConfig{})
		p := n.client(peerKey("192.0.2.10:1701", 1), Config{})
		ti, si, s := n.up(p)
		got := 0
		n.lns.cfg.OnData = func(*LNSSession, []byte) { got++ }
		var seq DataSequence
		plain := lacData(ti, si, &seq, make([]byte, 1400))
		seq.Require()
		sequenced := lacData(ti, si, &seq, make([]byte, 1400))
		buf := make([]byte, 1500)
		allocs := testing.AllocsPerRun(1000, func() {
			n.lns.Input(p.key, plain)
			n.lns.Input(p.key, sequenced) // a repeated Ns is delivered
			if ss, f := n.lns.Data(p.key, plain); ss != s || len(f) != 1400 {
				t.Fatal("Data")
			}
			if n.lns.DataSession(s.TunnelID, s.SessionID) != s {
				t.Fatal("DataSession")
			}
			if s.PutHeader(buf, 64) < 0 {
				t.Fatal("PutHeader")
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocations per round", allocs)
		}
		if got != 2*1001 {
			t.Errorf("OnData called %d times", got)
		}
	})
}

// Benchmark of the LNS's receive lookup.
func BenchmarkLNSData(b *testing.B) {
	n := NewLNS(LNSConfig{})
	ls := &LNSSession{tunnel: &lnsTunnel{t: NewTunnel(Config{}, nil)}, peer: peerKey("192.0.2.1:1701", 0), key: 1<<16 | 2}
	n.data[ls.key] = ls
	pkt := make([]byte, DataHeaderLen+1400)
	PutDataHeader(pkt, 1, 2)
	b.ReportAllocs()
	for b.Loop() {
		if s, _ := n.Data(ls.peer, pkt); s != ls {
			b.Fatal("no session")
		}
	}
}
