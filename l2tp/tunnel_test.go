package l2tp

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestEstablishOpenClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		rq, res := f.startEstablish()

		// SCCRQ (6.1): AVPs, order, M bits and values.
		if rq.Header.TunnelID != 0 || rq.Header.SessionID != 0 || rq.Header.Ns != 0 || rq.Header.Nr != 0 {
			t.Errorf("SCCRQ header %+v", rq.Header)
		}
		var types []AVPType
		for _, a := range rq.AVPs {
			types = append(types, a.Type)
			if mandatory := a.Type != AVPFirmwareRevision && a.Type != AVPVendorName; a.Mandatory != mandatory || a.Hidden {
				t.Errorf("%s: M %v H %v", a.Type, a.Mandatory, a.Hidden)
			}
		}
		want := []AVPType{AVPMessageType, AVPProtocolVersion, AVPHostName, AVPFramingCapabilities, AVPBearerCapabilities,
			AVPFirmwareRevision, AVPVendorName, AVPAssignedTunnelID, AVPReceiveWindowSize}
		if !slices.Equal(types, want) {
			t.Errorf("SCCRQ AVPs %v, want %v", types, want)
		}
		wantU16(t, &rq, AVPProtocolVersion, 0x0100)
		wantStr(t, &rq, AVPHostName, "l2tpvpn")
		wantU32(t, &rq, AVPFramingCapabilities, 3)
		wantU32(t, &rq, AVPBearerCapabilities, 3)
		wantU16(t, &rq, AVPFirmwareRevision, 0x0100)
		wantStr(t, &rq, AVPVendorName, "l2tpvpn")
		wantU16(t, &rq, AVPReceiveWindowSize, 16)
		if f.peer == 0 {
			t.Error("Assigned Tunnel ID 0")
		}

		f.deliver(f.sccrp())
		cn := f.expect(SCCCN)
		if cn.Header.Ns != 1 || cn.Header.Nr != 1 || len(cn.AVPs) != 1 {
			t.Errorf("SCCCN [Ns=%d Nr=%d] %v", cn.Header.Ns, cn.Header.Nr, cn.AVPs)
		}
		r := <-res
		if r.err != nil {
			t.Fatal(r.err)
		}
		wantInfo := TunnelInfo{LocalID: f.peer, PeerID: f.id, PeerHostName: "fake-lns", PeerVendor: "fake",
			PeerWindow: 8, PeerProtocolVersion: 0x0100}
		if r.v != wantInfo {
			t.Errorf("TunnelInfo %+v, want %+v", r.v, wantInfo)
		}
		f.zlb()

		// ICRQ (6.6) → ICRP → ICCN (6.8).
		icrq, sres := f.startSession()
		if icrq.Header.Ns != 2 || icrq.Header.SessionID != 0 || f.csid == 0 {
			t.Errorf("ICRQ header %+v, session %d", icrq.Header, f.csid)
		}
		wantU32(t, &icrq, AVPBearerType, 0)
		if _, ok := icrq.Find(AVPCallSerialNumber); !ok {
			t.Error("ICRQ without Call Serial Number")
		}
		f.deliver(f.icrp())
		iccn := f.expect(ICCN)
		if iccn.Header.SessionID != f.sid || iccn.Header.Ns != 3 || iccn.Header.Nr != 2 {
			t.Errorf("ICCN header %+v", iccn.Header)
		}
		wantU32(t, &iccn, AVPTxConnectSpeed, connectSpeed)
		wantU32(t, &iccn, AVPFramingType, FramingSync)
		wantU32(t, &iccn, AVPRxConnectSpeed, connectSpeed)
		sr := <-sres
		if sr.err != nil {
			t.Fatal(sr.err)
		}
		if sr.v != (SessionInfo{LocalID: f.csid, PeerID: f.sid}) {
			t.Errorf("SessionInfo %+v", sr.v)
		}
		f.zlb()
		select {
		case <-f.tun.SessionDone():
			t.Fatal("SessionDone closed while the session is up")
		default:
		}

		// Close: CDN (result 3) and StopCCN (result 1), then the ack.
		cres := async(func() (struct{}, error) { return struct{}{}, f.tun.Close(context.Background()) })
		cdn := f.expect(CDN)
		if cdn.Header.SessionID != f.sid || avpU16(t, &cdn, AVPAssignedSessionID) != f.csid || resultOf(t, &cdn) != (Result{Code: 3}) {
			t.Errorf("CDN %+v %+v", cdn.Header, cdn.AVPs)
		}
		stop := f.expect(StopCCN)
		if stop.Header.SessionID != 0 || avpU16(t, &stop, AVPAssignedTunnelID) != f.peer || resultOf(t, &stop) != (Result{Code: 1}) {
			t.Errorf("StopCCN %+v %+v", stop.Header, stop.AVPs)
		}
		f.quiet()
		f.zlb() // acknowledges both
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if c := <-cres; c.err != nil {
			t.Errorf("Close: %v", c.err)
		}
		<-f.tun.SessionDone()
		if err := f.tun.SessionErr(); !errors.Is(err, ErrClosed) {
			t.Errorf("SessionErr %v", err)
		}
		if err := f.tun.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
		want2 := Stats{ControlSent: 6, ControlReceived: 2, ZLBReceived: 3}
		if s := f.tun.Stats(); s != want2 {
			t.Errorf("Stats %+v, want %+v", s, want2)
		}
		f.quiet()
	})
}

func TestSCCRQBackoffTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		start := time.Now()
		_, res := f.startEstablish()
		var at []time.Duration
		for range 4 { // the 4 retransmissions
			m := f.expect(SCCRQ)
			if m.Header.Ns != 0 {
				t.Fatalf("retransmitted SCCRQ with Ns=%d", m.Header.Ns)
			}
			at = append(at, time.Since(start))
		}
		want := []time.Duration{1, 3, 7, 15}
		for i := range want {
			want[i] *= time.Second
		}
		if !slices.Equal(at, want) {
			t.Errorf("retransmissions at %v, want %v", at, want)
		}
		r := <-res
		if d := time.Since(start); d != 23*time.Second {
			t.Errorf("gave up after %v, want 23s (1+2+4+8+8)", d)
		}
		var te *TimeoutError
		if !errors.As(r.err, &te) || te.Message != SCCRQ || te.Retransmits != 4 || !errors.Is(r.err, ErrTimeout) {
			t.Errorf("Establish: %v", r.err)
		}
		if err := f.runResult(); !errors.Is(err, ErrTimeout) {
			t.Errorf("Run: %v", err)
		}
		f.quiet()
		if s := f.tun.Stats(); s.Retransmits != 4 || s.ControlSent != 1 {
			t.Errorf("Stats %+v", s)
		}
		<-f.tun.SessionDone()
		if !errors.Is(f.tun.SessionErr(), ErrTimeout) {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
	})
}

func TestBackoffCustom(t *testing.T) {
	c := Config{RetransmitTimeout: 500 * time.Millisecond, RetransmitCap: 3 * time.Second}.withDefaults()
	var got []time.Duration
	for r := range 6 {
		got = append(got, c.retransmitInterval(r))
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("intervals %v, want %v", got, want)
	}
}

func TestHelloAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		t0 := time.Now() // the last message from the peer: the ZLB
		h := f.expect(HELLO)
		if d := time.Since(t0); d != 60*time.Second {
			t.Errorf("HELLO after %v, want 60s", d)
		}
		if h.Header.SessionID != 0 || len(h.AVPs) != 1 {
			t.Errorf("HELLO %+v %v", h.Header, h.AVPs)
		}
		f.zlb()
		t1 := time.Now()
		// Data traffic counts as activity (5.5): no HELLO at +60s.
		wait(30 * time.Second)
		f.tun.DataReceived()
		if m, ok := f.next(31 * time.Second); ok {
			t.Fatalf("sent %s despite data traffic", m.Type)
		}
		f.expect(HELLO)
		if d := time.Since(t1); d != 120*time.Second {
			t.Errorf("second HELLO after %v, want 120s", d)
		}
		f.zlb()
		f.cancel()
		if err := f.runResult(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestHelloDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{HelloInterval: -1})
		f.establish()
		if m, ok := f.next(time.Hour); ok {
			t.Errorf("sent %s with HELLO disabled", m.Type)
		}
		f.cancel()
		f.runResult()
	})
}

func TestHelloUnansweredTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		f.expect(HELLO)
		start := time.Now()
		for range 4 {
			f.expect(HELLO)
		}
		err := f.runResult()
		var te *TimeoutError
		if !errors.As(err, &te) || te.Message != HELLO || te.Retransmits != 4 {
			t.Errorf("Run: %v", err)
		}
		if d := time.Since(start); d != 23*time.Second {
			t.Errorf("tunnel declared dead %v after the HELLO, want 23s", d)
		}
		<-f.tun.SessionDone()
		if !errors.Is(f.tun.SessionErr(), ErrTimeout) {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
		if _, err := f.tun.OpenSession(context.Background()); !errors.Is(err, ErrTimeout) {
			t.Errorf("OpenSession after the end: %v", err)
		}
	})
}
