package l2tp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Tunnel is the LAC side of one L2TPv2 control connection (RFC 2661) and its
// session.
//
// The caller owns the UDP socket: it hands every received control message to
// Input and gives NewTunnel a send func for whole UDP payloads. Run is the
// control loop, one goroutine that owns all tunnel state: the reliable
// transport (Ns/Nr, windows, retransmission, ZLB acks), the tunnel and session
// state machines and the HELLO keepalive. Establish, OpenSession and Close talk
// to it over channels and can be called from any goroutine.
//
//	tun := l2tp.NewTunnel(cfg, send)
//	go tun.Run(ctx)             // returns when the tunnel ends
//	info, err := tun.Establish(ctx)   // SCCRQ → SCCRP → SCCCN
//	sess, err := tun.OpenSession(ctx) // ICRQ → ICRP → ICCN
//	... data path: ParseHeader, DataSequence.Received / PutHeader with info.PeerID, sess.PeerID ...
//	tun.Close(ctx)              // CDN, StopCCN, wait for the ack
type Tunnel struct {
	cfg  Config
	send func([]byte) error

	input     chan []byte
	reqs      chan request
	closeCh   chan struct{} // closed by the first Close
	closeOnce sync.Once
	started   atomic.Bool

	done     chan struct{} // closed when Run returns
	runErr   error         // what Run returned; written before done is closed
	closeErr error         // what Close reports; written before done is closed

	sessDone chan struct{} // closed when the session ends
	sessMu   sync.Mutex
	sessErr  error

	dataSeen atomic.Bool
	stats    counters

	lns *lnsTunnel // the LNS role's state (lns_tunnel.go); nil for the LAC
}

// TunnelInfo describes an established tunnel.
type TunnelInfo struct {
	LocalID, PeerID     uint16 // our and the server's Assigned Tunnel ID
	PeerHostName        string
	PeerVendor          string
	PeerFirmware        uint16
	PeerWindow          uint16 // the server's Receive Window Size (4 when absent)
	PeerProtocolVersion uint16 // 0x0100 for L2TP 1.0
	Authenticated       bool   // tunnel authentication happened, in either or both directions
}

// SessionInfo describes an established session. For data messages put PeerID
// (and the tunnel's PeerID) in the header; received ones carry LocalID.
type SessionInfo struct {
	LocalID, PeerID uint16
	// SequencingRequired is set if the server asked for sequence numbers on the
	// data channel (a Sequencing Required AVP in ICRP): the data path then calls
	// Require on the session's DataSequence. Otherwise RFC 2661 5.4 applies:
	// send sequence numbers while the server does, which the DataSequence
	// follows as it is handed the server's data headers (Received).
	SequencingRequired bool
}

// inputQueueLen bounds the control messages waiting for the loop.
const inputQueueLen = 64

// NewTunnel returns a tunnel that sends with send. send gets one whole UDP
// payload per call and must not keep the slice after it returns; an error
// counts as a lost datagram (retransmission takes care of it).
func NewTunnel(cfg Config, send func(payload []byte) error) *Tunnel {
	return &Tunnel{
		cfg:      cfg.withDefaults(),
		send:     send,
		input:    make(chan []byte, inputQueueLen),
		reqs:     make(chan request),
		closeCh:  make(chan struct{}),
		done:     make(chan struct{}),
		sessDone: make(chan struct{}),
	}
}

// Input hands one received control message (the whole L2TP message, header
// included) to the control loop. It copies b and never blocks: it returns false
// if the queue is full or the tunnel has ended.
func (t *Tunnel) Input(b []byte) bool {
	select {
	case <-t.done:
		return false
	default:
	}
	c := append([]byte(nil), b...)
	select {
	case t.input <- c:
		return true
	default:
		t.stats.inputDropped.Add(1)
		return false
	}
}

// DataReceived tells the tunnel that a data message arrived, so the HELLO
// keepalive (RFC 2661 5.5: sent after a quiet period without data or control
// messages) is not sent needlessly. It is one atomic store; call it from the
// data path as often as convenient.
func (t *Tunnel) DataReceived() { t.dataSeen.Store(true) }

// Run is the control loop. It returns nil after a local Close completed (the
// StopCCN acknowledged or given up on), ctx.Err() promptly when ctx is
// cancelled, and otherwise why the tunnel ended: an error matching ErrTimeout
// when the server stopped answering (also for HELLO), a *ResultError when the
// server sent StopCCN, ErrTunnelAuth or an *UnknownMandatoryError when we tore
// the tunnel down. Run may be called only once.
func (t *Tunnel) Run(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: Run called twice", ErrState)
	}
	l := newLoop(t)
	err := l.run(ctx)
	t.runErr = err
	t.closeErr = l.closeResult
	t.endSession(l.sessionEndErr(err))
	close(t.done)
	return err
}

// Establish brings the control connection up: SCCRQ → SCCRP → SCCCN (RFC 2661
// 5.1), with tunnel authentication when a secret is configured or the server
// challenges. It returns as soon as the SCCCN is sent. Run must be running.
func (t *Tunnel) Establish(ctx context.Context) (TunnelInfo, error) {
	r, err := t.call(ctx, reqEstablish)
	return r.tunnel, err
}

// OpenSession sets up the incoming call: ICRQ → ICRP → ICCN (RFC 2661 5.2.1).
// A CDN from the server instead of ICRP gives a *ResultError. One session per
// tunnel.
func (t *Tunnel) OpenSession(ctx context.Context) (SessionInfo, error) {
	r, err := t.call(ctx, reqOpenSession)
	return r.session, err
}

// SessionDone is closed when the session ends: the server sent CDN, the tunnel
// ended, or it was closed. SessionErr then says why.
func (t *Tunnel) SessionDone() <-chan struct{} { return t.sessDone }

// SessionErr is nil while the session is up (or not yet opened); after
// SessionDone is closed it is why the session ended: a *ResultError for a CDN
// from the server, ErrClosed after Close, or the tunnel's error.
func (t *Tunnel) SessionErr() error {
	t.sessMu.Lock()
	defer t.sessMu.Unlock()
	return t.sessErr
}

// endSession records why the session ended and closes SessionDone, once.
func (t *Tunnel) endSession(err error) {
	t.sessMu.Lock()
	defer t.sessMu.Unlock()
	select {
	case <-t.sessDone:
		return
	default:
	}
	t.sessErr = err
	close(t.sessDone)
}

// Close tears the tunnel down: a CDN for the session (result 3,
// administrative), a StopCCN (result 1, general request), then it waits until
// the StopCCN is acknowledged or the retransmission limit is hit, after which
// Run returns nil. Close returns nil when the server acknowledged (or the tunnel
// had already ended), an error matching ErrTimeout when it did not, or ctx.Err()
// if ctx ends first (the teardown then goes on inside Run). Idempotent, safe
// from any goroutine; it needs Run to be running to make progress.
func (t *Tunnel) Close(ctx context.Context) error {
	t.closeOnce.Do(func() { close(t.closeCh) })
	select {
	case <-t.done:
		return t.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

type reqKind int

const (
	reqEstablish reqKind = iota
	reqOpenSession
	reqLNS // the LNS role: fn runs in the loop (lns_tunnel.go)
)

type request struct {
	kind  reqKind
	reply chan result // buffered: the loop never blocks on it
	fn    func(*loop) // reqLNS
}

type result struct {
	tunnel  TunnelInfo
	session SessionInfo
	err     error
}

// call hands a request to the loop and waits for its answer.
func (t *Tunnel) call(ctx context.Context, k reqKind) (result, error) {
	req := request{kind: k, reply: make(chan result, 1)}
	select {
	case t.reqs <- req:
	case <-t.done:
		return result{}, t.endedErr()
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r, r.err
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
}

// endedErr is what calls return once Run has returned.
func (t *Tunnel) endedErr() error {
	if t.runErr == nil {
		return ErrClosed
	}
	return t.runErr
}
