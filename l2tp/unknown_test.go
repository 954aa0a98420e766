package l2tp

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestIgnoredMessagesKeepTunnel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		sli := NewMessage(SLI, 0, f.csid)
		sli.Add(BytesAVP(AVPACCM, true, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
		wen := NewMessage(WEN, 0, f.csid)
		wen.Add(BytesAVP(AVPCallErrors, true, make([]byte, 26)))
		unknown := Message{Type: 200, AVPs: []AVP{Uint16AVP(AVPMessageType, false, 200), {Type: 300, Value: []byte("x")}}}
		for _, m := range []Message{sli, wen, unknown} {
			f.deliver(m)
		}
		start := time.Now()
		z := f.expect(ZLB)
		if time.Since(start) != DefaultAckDelay || z.Header.Nr != f.ns {
			t.Errorf("ZLB [Nr=%d] after %v, want Nr=%d after the ack delay", z.Header.Nr, time.Since(start), f.ns)
		}
		if s := f.tun.Stats(); s.UnknownIgnored != 3 {
			t.Errorf("UnknownIgnored %d, want 3", s.UnknownIgnored)
		}
		select {
		case <-f.tun.SessionDone():
			t.Fatalf("session ended: %v", f.tun.SessionErr())
		default:
		}
		// Still working: HELLO answered, normal close.
		f.deliver(NewMessage(HELLO, 0, 0))
		f.expect(ZLB)
		go f.tun.Close(context.Background())
		f.expect(CDN)
		f.expect(StopCCN)
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestUnknownMandatoryAVPTunnel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.openSession()
		h := NewMessage(HELLO, 0, 0)
		h.Add(AVP{Mandatory: true, Vendor: 9, Type: 42, Value: []byte{1}})
		f.deliver(h)
		stop := f.expect(StopCCN)
		if r := resultOf(t, &stop); r.Code != 2 || r.ErrorCode != 8 || r.Message == "" {
			t.Errorf("StopCCN result %+v", r)
		}
		if stop.Header.Nr != f.ns {
			t.Errorf("StopCCN does not acknowledge the HELLO: Nr %d", stop.Header.Nr)
		}
		f.zlb()
		err := f.runResult()
		want := &UnknownMandatoryError{Message: HELLO, Vendor: 9, Type: 42}
		var u *UnknownMandatoryError
		if !errors.As(err, &u) || *u != *want {
			t.Errorf("Run: %v", err)
		}
		if !errors.Is(f.tun.SessionErr(), ErrUnknownMandatory) {
			t.Errorf("SessionErr %v", f.tun.SessionErr())
		}
	})
}

func TestUnknownMandatoryMessageType(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		f.deliver(Message{Type: 77})
		stop := f.expect(StopCCN)
		if r := resultOf(t, &stop); r.Code != 2 || r.ErrorCode != 8 {
			t.Errorf("StopCCN result %+v", r)
		}
		f.zlb()
		if err := f.runResult(); !errors.Is(err, ErrUnknownMandatory) {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestUnknownMandatoryAVPSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		_, res := f.startSession()
		f.deliver(f.icrp(AVP{Type: 250, Value: []byte{7}}, AVP{Mandatory: true, Type: 251}))
		cdn := f.expect(CDN)
		if r := resultOf(t, &cdn); r.Code != 2 || r.ErrorCode != 8 {
			t.Errorf("CDN result %+v", r)
		}
		if avpU16(t, &cdn, AVPAssignedSessionID) != f.csid {
			t.Error("CDN does not name our session")
		}
		r := <-res
		if !errors.Is(r.err, ErrUnknownMandatory) {
			t.Errorf("OpenSession: %v", r.err)
		}
		f.zlb()
		// The tunnel survives; closing it sends only StopCCN.
		go f.tun.Close(context.Background())
		f.expect(StopCCN)
		f.zlb()
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestCallErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		if _, err := f.tun.OpenSession(context.Background()); !errors.Is(err, ErrNotEstablished) {
			t.Errorf("OpenSession before Establish: %v", err)
		}
		f.establish()
		if _, err := f.tun.Establish(context.Background()); !errors.Is(err, ErrState) {
			t.Errorf("second Establish: %v", err)
		}
		if err := f.tun.Run(context.Background()); !errors.Is(err, ErrState) {
			t.Errorf("second Run: %v", err)
		}
		f.openSession()
		if _, err := f.tun.OpenSession(context.Background()); !errors.Is(err, ErrState) {
			t.Errorf("second OpenSession: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.tun.OpenSession(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("OpenSession with cancelled ctx: %v", err)
		}
		f.cancel()
		f.runResult()
	})
}

func TestInputQueueFull(t *testing.T) {
	tun := NewTunnel(Config{}, func([]byte) error { return nil })
	b := unhex(t, seZLB1)
	for i := range inputQueueLen {
		if !tun.Input(b) {
			t.Fatalf("Input %d refused", i)
		}
	}
	if tun.Input(b) {
		t.Error("Input accepted beyond the queue")
	}
	if s := tun.Stats(); s.InputDropped != 1 {
		t.Errorf("InputDropped %d", s.InputDropped)
	}
}

func TestForeignAndMalformedInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		f.establish()
		other := NewMessage(HELLO, f.peer+1, 0)
		f.input(other) // another tunnel
		f.input(Message{Header: Header{TunnelID: f.peer}})
		f.tun.Input([]byte{0xc8, 0x02, 0, 14, 0, 0})                                     // truncated
		f.tun.Input([]byte{0xc8, 0x02, 0, 16, 0, 0, 0, 0, 0, 1, 0, 0, 0x80, 0x03, 0, 0}) // AVP length 3
		f.tun.Input([]byte{0x00, 0x02, 0, 0, 0, 0})                                      // data message
		synctest.Wait()
		if s := f.tun.Stats(); s.Malformed != 4 || s.ZLBReceived != 2 {
			t.Errorf("Stats %+v", s)
		}
		f.quiet()
		f.cancel()
		f.runResult()
	})
}

// An SCCRP we cannot accept tears the tunnel down with StopCCN (7.2.1).
func TestBadSCCRP(t *testing.T) {
	for _, tt := range []struct {
		name     string
		edit     func(m *Message)
		want     Result
		contains string
	}{
		{"protocol version 2.0", func(m *Message) { m.AVPs[1] = Uint16AVP(AVPProtocolVersion, true, 0x0200) },
			Result{Code: 5, ErrorCode: 0x0100}, "version 2.0"},
		{"no Assigned Tunnel ID", func(m *Message) { m.AVPs = m.AVPs[:5] },
			Result{Code: 2, ErrorCode: 3, Message: "bad Assigned Tunnel ID"}, "without Assigned Tunnel ID"},
		{"Receive Window Size of 3 octets", func(m *Message) { m.AVPs[6] = BytesAVP(AVPReceiveWindowSize, true, []byte{0, 0, 4}) },
			Result{Code: 2, ErrorCode: 2, Message: "bad Receive Window Size"}, "3 octets"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newLNS(t, Config{})
				_, res := f.startEstablish()
				m := f.sccrp()
				tt.edit(&m)
				f.deliver(m)
				if tt.name == "no Assigned Tunnel ID" {
					f.peer = 0 // the StopCCN can only go to tunnel 0 (5.3), naming ours in its AVP
				}
				r := <-res
				if r.err == nil || !strings.Contains(r.err.Error(), tt.contains) {
					t.Errorf("Establish: %v", r.err)
				}
				stop := f.expect(StopCCN)
				if got := resultOf(t, &stop); got != tt.want {
					t.Errorf("StopCCN result %+v, want %+v", got, tt.want)
				}
				f.zlb()
				if err := f.runResult(); err != r.err {
					t.Errorf("Run: %v", err)
				}
			})
		})
	}
}

// A failing send counts as a lost datagram: retransmission recovers.
func TestSendErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fails := 2 // touched only by the Run goroutine
		var sent atomic.Int32
		tun := NewTunnel(Config{}, func(b []byte) error {
			if fails > 0 {
				fails--
				return errors.New("network unreachable")
			}
			sent.Add(1)
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tun.Run(ctx) }()
		go tun.Establish(ctx)
		wait(2500 * time.Millisecond) // sent at 0 and 1 s (both fail), again at 3 s
		if n := sent.Load(); n != 0 {
			t.Fatalf("sent %d", n)
		}
		wait(time.Second)
		if n := sent.Load(); n != 1 {
			t.Fatalf("sent %d after the failures", n)
		}
		if s := tun.Stats(); s.SendErrors != 2 || s.Retransmits != 2 {
			t.Errorf("Stats %+v", s)
		}
		cancel()
		<-done
	})
}
