package l2tp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// The control loop: one goroutine (Run) owns everything below. Events are a
// received datagram (input), a request from Establish/OpenSession, Close, and
// three timers: retransmission, delayed ack, HELLO.
//
// Tunnel states follow RFC 2661 7.2.1 for the originator; stateClosing is the
// time after our StopCCN went out, until it is acknowledged (5.7, 7.6).

type tunnelState int

const (
	stateIdle         tunnelState = iota // no SCCRQ sent yet
	stateWaitCtlReply                    // SCCRQ sent, waiting for SCCRP
	stateEstablished                     // SCCCN sent
	stateClosing                         // StopCCN queued, waiting for its ack
	stateWaitCtlConn                     // LNS: SCCRP sent, waiting for SCCCN (7.2.1)
)

func (s tunnelState) String() string {
	switch s {
	case stateIdle:
		return "idle"
	case stateWaitCtlReply:
		return "wait-ctl-reply"
	case stateEstablished:
		return "established"
	case stateClosing:
		return "closing"
	case stateWaitCtlConn:
		return "wait-ctl-conn"
	}
	return fmt.Sprintf("tunnelState(%d)", int(s))
}

type loop struct {
	t   *Tunnel
	cfg *Config
	log *slog.Logger
	st  *counters

	state     tunnelState
	localID   uint16
	peerID    uint16 // 0 until the SCCRP
	info      TunnelInfo
	challenge []byte // ours, sent in the SCCRQ when a secret is configured
	secret    []byte // cfg.Secret revealed once; nil without one

	tx                             transport
	rtxTimer, ackTimer, helloTimer *time.Timer

	sessions map[uint16]*session // by our session ID
	opened   bool                // OpenSession was called (one session per tunnel)

	estWaiter chan result // Establish waiting for the SCCRP

	closeCh     <-chan struct{} // Tunnel.closeCh until it fires
	localClose  bool            // Close was called
	teardownErr error           // what Run returns once the closing state is over
	closeResult error           // what Close returns
	exit        bool
	exitErr     error

	lns *lnsTunnel // Tunnel.lns: the loop plays the LNS (lns_tunnel.go)
}

func newLoop(t *Tunnel) *loop {
	l := &loop{
		t:        t,
		cfg:      &t.cfg,
		log:      t.cfg.Logger,
		st:       &t.stats,
		sessions: make(map[uint16]*session),
		closeCh:  t.closeCh,
		secret:   t.cfg.Secret.Bytes(),
		lns:      t.lns,
	}
	l.tx.init()
	l.rtxTimer = stoppedTimer()
	l.ackTimer = stoppedTimer()
	l.helloTimer = stoppedTimer()
	return l
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *loop) run(ctx context.Context) error {
	for !l.exit {
		select {
		case <-ctx.Done():
			if l.localClose {
				l.closeResult = ctx.Err()
			}
			l.finish(ctx.Err())
		case b := <-l.t.input:
			l.input(b)
		case r := <-l.t.reqs:
			l.request(r)
		case <-l.closeCh:
			l.closeCh = nil
			l.localClose = true
			l.startClose()
		case <-l.rtxTimer.C:
			l.onRetransmitTimer()
		case <-l.ackTimer.C:
			if l.tx.ackPending {
				l.sendZLB()
			}
		case <-l.helloTimer.C:
			l.onHelloTimer()
		}
		if !l.exit && l.state == stateClosing && len(l.tx.out) == 0 {
			// Our StopCCN is acknowledged: acknowledge what the peer sent too.
			if l.tx.ackPending {
				l.sendZLB()
			}
			l.log.Info("tunnel closed", "local_id", l.localID, "peer_id", l.peerID)
			l.finish(l.teardownErr)
		}
	}
	l.cleanup()
	return l.exitErr
}

// finish ends the loop with err as Run's result.
func (l *loop) finish(err error) {
	if !l.exit {
		l.exit, l.exitErr = true, err
	}
}

// fail ends the tunnel at once: the server is gone or closed it.
func (l *loop) fail(err error) {
	l.log.Info("tunnel down", "local_id", l.localID, "peer_id", l.peerID, "err", err)
	l.finish(err)
}

// cleanup answers everyone still waiting and stops the timers.
func (l *loop) cleanup() {
	err := l.waiterErr()
	l.replyEstablish(err)
	for _, s := range l.sessions {
		l.endSession(s, err)
	}
	l.rtxTimer.Stop()
	l.ackTimer.Stop()
	l.helloTimer.Stop()
}

// waiterErr is what pending calls and the session get when the loop ends.
func (l *loop) waiterErr() error {
	if l.exitErr == nil {
		return ErrClosed
	}
	return l.exitErr
}

// sessionEndErr is the session's error when Run returns err.
func (l *loop) sessionEndErr(err error) error {
	if err == nil {
		return ErrClosed
	}
	return err
}

func (l *loop) request(r request) {
	switch r.kind {
	case reqEstablish:
		l.establish(r.reply)
	case reqOpenSession:
		l.openSession(r.reply)
	case reqLNS:
		r.fn(l)
	}
}

func (l *loop) replyEstablish(err error) {
	if l.estWaiter != nil {
		l.estWaiter <- result{err: err}
		l.estWaiter = nil
	}
}

// input handles one datagram from Tunnel.Input.
func (l *loop) input(b []byte) {
	if l.state == stateIdle && l.lns == nil { // an LNS starts idle and waits for the SCCRQ
		l.st.malformed.Add(1)
		l.debugf("dropping control message: no tunnel yet")
		return
	}
	m, err := ParseMessage(b, l.secret)
	if err != nil {
		l.st.malformed.Add(1)
		l.debugf("dropping control message: %v", err)
		return
	}
	if m.Header.TunnelID != l.localID && m.Header.TunnelID != 0 {
		l.st.malformed.Add(1)
		l.debugf("dropping %s for tunnel %d, not ours (%d)", m.Type, m.Header.TunnelID, l.localID)
		return
	}
	l.resetHello()
	l.learnPeerID(&m)
	l.receive(&m)
}

// startHello arms the keepalive (RFC 2661 5.5, 6.5).
func (l *loop) startHello() {
	if l.cfg.HelloInterval > 0 {
		l.helloTimer.Reset(l.cfg.HelloInterval)
	}
}

// resetHello restarts the quiet period after a message from the peer.
func (l *loop) resetHello() {
	if l.state == stateEstablished {
		l.startHello()
	}
}

// onHelloTimer sends a HELLO after HelloInterval without anything received,
// unless one is already on its way. An unanswered HELLO ends the tunnel
// through the retransmission limit.
func (l *loop) onHelloTimer() {
	if l.state != stateEstablished {
		return
	}
	l.startHello()
	if l.t.dataSeen.Swap(false) {
		return
	}
	for _, o := range l.tx.out {
		if o.msg.Type == HELLO {
			return
		}
	}
	l.queue(NewMessage(HELLO, l.peerID, 0))
}

// randomID returns a random non-zero 16-bit ID (0 is reserved, RFC 2661 5.3).
func (l *loop) randomID(inUse func(uint16) bool) (uint16, error) {
	var b [2]byte
	for range 64 {
		if _, err := io.ReadFull(l.cfg.Rand, b[:]); err != nil {
			return 0, fmt.Errorf("l2tp: reading random bytes: %w", err)
		}
		id := binary.BigEndian.Uint16(b[:])
		if id != 0 && (inUse == nil || !inUse(id)) {
			return id, nil
		}
	}
	return 0, errors.New("l2tp: the random source keeps returning IDs that are zero or in use")
}

func (l *loop) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(l.cfg.Rand, b); err != nil {
		return nil, fmt.Errorf("l2tp: reading random bytes: %w", err)
	}
	return b, nil
}
