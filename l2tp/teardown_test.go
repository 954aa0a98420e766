package l2tp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestPeerStopCCN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		stop := NewMessage(StopCCN, 0, 0)
		stop.Add(Uint16AVP(AVPAssignedTunnelID, true, f.id), Result{Code: 6, Message: "maintenance"}.AVP())
		start := time.Now()
		f.deliver(stop)
		z := f.expect(ZLB)
		if time.Since(start) != 0 || z.Header.Nr != f.ns {
			t.Errorf("ZLB [Nr=%d] after %v, want Nr=%d at once", z.Header.Nr, time.Since(start), f.ns)
		}
		err := f.runResult()
		var re *ResultError
		if !errors.As(err, &re) || *re != (ResultError{Message: StopCCN, Result: 6, Text: "maintenance"}) {
			t.Fatalf("Run: %v", err)
		}
		if want := `l2tp: server closed the tunnel (StopCCN): shutting down (result 6): server says "maintenance"`; err.Error() != want {
			t.Errorf("error text %q", err)
		}
		<-f.tun.SessionDone()
		if f.tun.SessionErr() != err {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
		if err := f.tun.Close(context.Background()); err != nil {
			t.Errorf("Close after the end: %v", err)
		}
	})
}

func TestPeerStopCCNDuringEstablish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		_, res := f.startEstablish()
		stop := NewMessage(StopCCN, 0, 0)
		stop.Add(Uint16AVP(AVPAssignedTunnelID, true, f.id), Result{Code: 4}.AVP())
		f.deliver(stop)
		f.expect(ZLB)
		r := <-res
		if !errors.Is(r.err, ErrTunnelAuth) || r.err.Error() != "l2tp: server closed the tunnel (StopCCN): not authorized (result 4)" {
			t.Errorf("Establish: %v", r.err)
		}
		f.runResult()
	})
}

func TestPeerCDN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		cdn := NewMessage(CDN, 0, f.csid)
		cdn.Add(Result{Code: 3}.AVP(), Uint16AVP(AVPAssignedSessionID, true, f.sid))
		f.deliver(cdn)
		<-f.tun.SessionDone()
		if err := f.tun.SessionErr(); err == nil || err.Error() != "l2tp: server disconnected the session (CDN): administrative (result 3)" {
			t.Errorf("SessionErr %v", err)
		}
		f.expect(ZLB)
		go f.tun.Close(context.Background())
		f.expect(StopCCN) // no CDN: the session is gone
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestPeerCDNBySessionAVP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		cdn := NewMessage(CDN, 0, 0) // header session 0: found by Assigned Session ID
		cdn.Add(Result{Code: 1}.AVP(), Uint16AVP(AVPAssignedSessionID, true, f.sid))
		f.deliver(cdn)
		<-f.tun.SessionDone()
		var re *ResultError
		if !errors.As(f.tun.SessionErr(), &re) || re.Result != 1 {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
		f.cancel()
		f.runResult()
	})
}

func TestRunCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		_, res := f.startEstablish()
		start := time.Now()
		f.cancel()
		if err := f.runResult(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Run took %v to return", time.Since(start))
		}
		if r := <-res; !errors.Is(r.err, context.Canceled) {
			t.Errorf("Establish: %v", r.err)
		}
		if f.tun.Input(unhex(t, seZLB1)) {
			t.Error("Input accepted after Run returned")
		}
	})
}

func TestCloseIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		if err := f.tun.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
		f.quiet()
		if _, err := f.tun.Establish(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Establish after Close: %v", err)
		}
	})
}

func TestCloseUnacknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		start := time.Now()
		cres := async(func() (struct{}, error) { return struct{}{}, f.tun.Close(context.Background()) })
		f.expect(StopCCN)
		for range 4 {
			f.expect(StopCCN)
		}
		c := <-cres
		if !errors.Is(c.err, ErrTimeout) {
			t.Errorf("Close: %v", c.err)
		}
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if d := time.Since(start); d != 23*time.Second {
			t.Errorf("gave up after %v", d)
		}
	})
}

func TestCloseContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := f.tun.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close: %v", err)
		}
		f.cancel()
		f.runResult()
	})
}

func TestCloseDuringEstablish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		_, res := f.startEstablish()
		go f.tun.Close(context.Background())
		if r := <-res; !errors.Is(r.err, ErrClosed) {
			t.Errorf("Establish: %v", r.err)
		}
		f.quiet() // the StopCCN waits behind the unacknowledged SCCRQ
		f.deliver(f.sccrp())
		stop := f.expect(StopCCN)
		if avpU16(t, &stop, AVPAssignedTunnelID) != f.peer || stop.Header.Nr != 1 {
			t.Errorf("StopCCN %+v", stop.Header)
		}
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestCloseConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		var results []chan outcome[struct{}]
		for range 3 {
			results = append(results, async(func() (struct{}, error) { return struct{}{}, f.tun.Close(context.Background()) }))
		}
		f.expect(CDN)
		f.expect(StopCCN)
		f.quiet() // one teardown, not three
		f.zlb()
		for _, r := range results {
			if c := <-r; c.err != nil {
				t.Errorf("Close: %v", c.err)
			}
		}
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestOpenSessionRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		_, res := f.startSession()
		cdn := NewMessage(CDN, 0, f.csid)
		cdn.Add(Result{Code: 2, ErrorCode: 4, Message: "no addresses"}.AVP(), Uint16AVP(AVPAssignedSessionID, true, 0x77))
		f.deliver(cdn)
		r := <-res
		var re *ResultError
		if !errors.As(r.err, &re) || *re != (ResultError{Message: CDN, Result: 2, ErrorCode: 4, Text: "no addresses"}) {
			t.Fatalf("OpenSession: %v", r.err)
		}
		<-f.tun.SessionDone()
		if f.tun.SessionErr() != r.err {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
		f.expect(ZLB)
		if _, err := f.tun.OpenSession(context.Background()); !errors.Is(err, ErrState) {
			t.Errorf("second OpenSession: %v", err)
		}
		f.cancel()
		f.runResult()
	})
}
