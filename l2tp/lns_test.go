package l2tp

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// fakeLNS plays the server side of a Tunnel inside a synctest bubble: it
// reads what the tunnel sends (fake time advances while it waits) and feeds
// it replies through Input, keeping its own Ns/Nr.
type fakeLNS struct {
	t      *testing.T
	tun    *Tunnel
	sent   chan []byte
	runErr chan error
	cancel context.CancelFunc

	id     uint16 // the LNS's tunnel ID
	peer   uint16 // the client's tunnel ID, from the SCCRQ
	sid    uint16 // the LNS's session ID
	csid   uint16 // the client's session ID, from the ICRQ
	window uint16 // Receive Window Size in the SCCRP (0: none)
	ns, nr uint16
}

// newLNS starts a tunnel with cfg and Run in the current bubble.
func newLNS(t *testing.T, cfg Config) *fakeLNS {
	f := &fakeLNS{t: t, sent: make(chan []byte, 256), runErr: make(chan error, 1), id: 0x1d1d, sid: 0x5e55, window: 8}
	f.tun = NewTunnel(cfg, func(b []byte) error {
		select {
		case f.sent <- bytes.Clone(b):
		default:
			t.Error("fake LNS: send queue full")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.runErr <- f.tun.Run(ctx) }()
	t.Cleanup(cancel)
	return f
}

// wait lets fake time pass inside the bubble.
func wait(d time.Duration) { <-time.After(d) }

type outcome[T any] struct {
	v   T
	err error
}

// async runs fn in a goroutine of the bubble.
func async[T any](fn func() (T, error)) chan outcome[T] {
	ch := make(chan outcome[T], 1)
	go func() {
		v, err := fn()
		ch <- outcome[T]{v, err}
	}()
	return ch
}

// next returns the next message the tunnel sends within d, tracking Nr.
func (f *fakeLNS) next(d time.Duration) (Message, bool) {
	f.t.Helper()
	select {
	case b := <-f.sent:
		m, err := ParseMessage(b, nil)
		if err != nil {
			f.t.Fatalf("tunnel sent an undecodable message %x: %v", b, err)
		}
		if len(m.AVPs) > 0 && m.Header.Ns == f.nr {
			f.nr++
		}
		return m, true
	case <-time.After(d):
		return Message{}, false
	}
}

// expect returns the next message, which must be of type typ.
func (f *fakeLNS) expect(typ MessageType) Message {
	f.t.Helper()
	m, ok := f.next(2 * time.Minute)
	if !ok {
		f.t.Fatalf("expected %s, the tunnel sent nothing", typ)
	}
	if m.Type != typ {
		f.t.Fatalf("expected %s, got %s %+v", typ, m.Type, m.AVPs)
	}
	if typ != SCCRQ && f.peer != 0 && m.Header.TunnelID != f.id {
		f.t.Errorf("%s sent to tunnel %d, want %d", typ, m.Header.TunnelID, f.id)
	}
	return m
}

// quiet checks that the tunnel has nothing to send right now.
func (f *fakeLNS) quiet() {
	f.t.Helper()
	synctest.Wait()
	select {
	case b := <-f.sent:
		m, _ := ParseMessage(b, nil)
		f.t.Fatalf("unexpected %s [Ns=%d Nr=%d]", m.Type, m.Header.Ns, m.Header.Nr)
	default:
	}
}

// deliver sends m to the tunnel with the LNS's next Ns and current Nr.
func (f *fakeLNS) deliver(m Message) {
	f.t.Helper()
	m.Header.TunnelID = f.peer
	m.Header.Ns, m.Header.Nr = f.ns, f.nr
	if m.Type != ZLB || len(m.AVPs) > 0 {
		f.ns++
	}
	f.input(m)
}

// input sends m as it is.
func (f *fakeLNS) input(m Message) {
	f.t.Helper()
	if !f.tun.Input(m.Append(nil)) {
		f.t.Fatal("Input refused the message")
	}
	synctest.Wait()
}

func (f *fakeLNS) zlb() { f.deliver(NewMessage(ZLB, 0, 0)) }

func (f *fakeLNS) sccrp(extra ...AVP) Message {
	m := NewMessage(SCCRP, 0, 0)
	m.Add(
		Uint16AVP(AVPProtocolVersion, true, 0x0100),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync),
		BytesAVP(AVPHostName, true, []byte("fake-lns")),
		BytesAVP(AVPVendorName, false, []byte("fake")),
		Uint16AVP(AVPAssignedTunnelID, true, f.id),
	)
	if f.window != 0 {
		m.Add(Uint16AVP(AVPReceiveWindowSize, true, f.window))
	}
	m.Add(extra...)
	return m
}

// startEstablish calls Establish and returns the SCCRQ it sent.
func (f *fakeLNS) startEstablish() (Message, chan outcome[TunnelInfo]) {
	f.t.Helper()
	res := async(func() (TunnelInfo, error) { return f.tun.Establish(context.Background()) })
	rq := f.expect(SCCRQ)
	a, _ := rq.Find(AVPAssignedTunnelID)
	f.peer, _ = a.Uint16()
	return rq, res
}

// establish runs SCCRQ → SCCRP → SCCCN → ZLB.
func (f *fakeLNS) establish() TunnelInfo {
	f.t.Helper()
	_, res := f.startEstablish()
	f.deliver(f.sccrp())
	f.expect(SCCCN)
	r := <-res
	if r.err != nil {
		f.t.Fatalf("Establish: %v", r.err)
	}
	f.zlb()
	return r.v
}

// startSession calls OpenSession and returns the ICRQ it sent.
func (f *fakeLNS) startSession() (Message, chan outcome[SessionInfo]) {
	f.t.Helper()
	res := async(func() (SessionInfo, error) { return f.tun.OpenSession(context.Background()) })
	rq := f.expect(ICRQ)
	a, _ := rq.Find(AVPAssignedSessionID)
	f.csid, _ = a.Uint16()
	return rq, res
}

func (f *fakeLNS) icrp(extra ...AVP) Message {
	m := NewMessage(ICRP, 0, f.csid)
	m.Add(Uint16AVP(AVPAssignedSessionID, true, f.sid))
	m.Add(extra...)
	return m
}

// openSession runs ICRQ → ICRP → ICCN → ZLB.
func (f *fakeLNS) openSession() SessionInfo {
	f.t.Helper()
	_, res := f.startSession()
	f.deliver(f.icrp())
	f.expect(ICCN)
	r := <-res
	if r.err != nil {
		f.t.Fatalf("OpenSession: %v", r.err)
	}
	f.zlb()
	return r.v
}

// runResult waits for Run to return.
func (f *fakeLNS) runResult() error {
	f.t.Helper()
	select {
	case err := <-f.runErr:
		return err
	case <-time.After(time.Minute):
		f.t.Fatal("Run did not return")
		return nil
	}
}

// result returns the Result Code AVP of m.
func resultOf(t *testing.T, m *Message) Result {
	t.Helper()
	a, ok := m.Find(AVPResultCode)
	if !ok {
		t.Fatalf("%s without Result Code", m.Type)
	}
	r, err := ParseResult(a.Value)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func avpU16(t *testing.T, m *Message, typ AVPType) uint16 {
	t.Helper()
	a, ok := m.Find(typ)
	if !ok {
		t.Fatalf("%s without %s", m.Type, typ)
	}
	v, err := a.Uint16()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
