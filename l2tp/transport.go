package l2tp

import "encoding/binary"

// Reliable delivery of control messages, RFC 2661 5.8 and Appendix A.
//
// Sending: every message except a ZLB takes the next Ns (mod 2^16) when it is
// queued. Queued messages go out while fewer than min(cwnd, peer window) are
// unacknowledged; the rest wait in order. Only the oldest unacknowledged
// message has a retransmission timer: RetransmitTimeout, doubled per retry up
// to RetransmitCap; after MaxRetransmits retransmissions the next timeout ends
// the tunnel with ErrTimeout. Every (re)transmission carries the current Nr,
// which is patched into the stored bytes.
//
// Congestion window (Appendix A): cwnd starts at 1 and ssthresh at the peer's
// window; each acknowledged message grows cwnd by one below ssthresh (slow
// start) and by 1/cwnd above it (congestion avoidance); a retransmission sets
// ssthresh to cwnd/2 and cwnd back to 1. cwnd never exceeds the peer window.
//
// Receiving: a message's Nr acknowledges ours first, whatever its Ns. Then
// Ns == Nr is delivered in order (followed by any held messages it unblocks);
// an Ns in the 32768 values before Nr is a duplicate, re-acknowledged at once
// with a ZLB and dropped; an Ns ahead is held for in-order delivery if it lies
// within our receive window. A delivered message is acknowledged by the next
// message we send, or by a ZLB after AckDelay if none is sent by then.

// defaultPeerWindow applies when the peer sends no Receive Window Size (5.8).
const defaultPeerWindow = 4

// outMsg is a queued control message.
type outMsg struct {
	msg     Message // for logging; Header.Ns fixed, Nr and TunnelID updated per send
	b       []byte  // encoded
	sent    bool
	retries int
}

type transport struct {
	ns, nr     uint16    // next Ns to assign; next Ns expected from the peer
	out        []*outMsg // unacknowledged, in Ns order; the sent ones are a prefix
	peerWindow int
	cwnd       int
	ssthresh   int
	caCount    int // acks counted towards the next cwnd increase in congestion avoidance
	ackPending bool
	held       map[uint16]*Message // received ahead of a gap, by Ns
}

func (tx *transport) init() {
	tx.peerWindow = defaultPeerWindow
	tx.cwnd = 1
	tx.ssthresh = defaultPeerWindow
	tx.held = make(map[uint16]*Message)
}

// setPeerWindow applies the peer's Receive Window Size.
func (tx *transport) setPeerWindow(w int) {
	tx.peerWindow = max(w, 1)
	tx.ssthresh = tx.peerWindow
	tx.cwnd = min(tx.cwnd, tx.peerWindow)
}

// inflight counts sent, unacknowledged messages.
func (tx *transport) inflight() int {
	n := 0
	for n < len(tx.out) && tx.out[n].sent {
		n++
	}
	return n
}

// acked grows the congestion window for one acknowledged message.
func (tx *transport) acked() {
	if tx.cwnd < tx.ssthresh {
		tx.cwnd++
	} else {
		tx.caCount++
		if tx.caCount >= tx.cwnd {
			tx.cwnd++
			tx.caCount = 0
		}
	}
	tx.cwnd = min(tx.cwnd, tx.peerWindow)
}

// queue gives m the next Ns and sends it when the window allows.
func (l *loop) queue(m Message) {
	m.Header.Ns = l.tx.ns
	l.tx.ns++
	o := &outMsg{msg: m}
	o.b = m.Append(make([]byte, 0, m.Len()))
	l.tx.out = append(l.tx.out, o)
	l.pump()
}

// pump sends queued messages while the window has room.
func (l *loop) pump() {
	limit := min(l.tx.cwnd, l.tx.peerWindow)
	for i, o := range l.tx.out {
		if o.sent {
			continue
		}
		if i >= limit { // i is the number in flight: sent ones are a prefix
			break
		}
		o.sent = true
		l.transmit(o, false)
		if i == 0 {
			l.rtxTimer.Reset(l.cfg.retransmitInterval(0))
		}
	}
}

// transmit sends o with the current Nr (and, once known, the peer's tunnel ID:
// a StopCCN queued before the SCCRP still reaches the right tunnel).
func (l *loop) transmit(o *outMsg, retransmission bool) {
	o.msg.Header.Nr = l.tx.nr
	binary.BigEndian.PutUint16(o.b[10:], l.tx.nr)
	if o.msg.Type != SCCRQ {
		o.msg.Header.TunnelID = l.peerID
		binary.BigEndian.PutUint16(o.b[4:], l.peerID)
	}
	l.tx.ackPending = false
	l.ackTimer.Stop()
	if retransmission {
		l.st.retransmits.Add(1)
		l.logSend(&o.msg, o.retries)
	} else {
		l.st.controlSent.Add(1)
		l.logSend(&o.msg, 0)
	}
	l.rawSend(o.b)
}

func (l *loop) rawSend(b []byte) {
	if err := l.t.send(b); err != nil {
		l.st.sendErrors.Add(1)
		l.debugf("send failed: %v", err)
	}
}

// sendZLB acknowledges everything received so far with a zero-length body.
// Its Ns is the next one we will send; it takes no sequence slot (5.8).
func (l *loop) sendZLB() {
	ns := l.tx.ns
	for _, o := range l.tx.out {
		if !o.sent {
			ns = o.msg.Header.Ns
			break
		}
	}
	m := NewMessage(ZLB, l.peerID, 0)
	m.Header.Ns, m.Header.Nr = ns, l.tx.nr
	l.tx.ackPending = false
	l.ackTimer.Stop()
	l.st.zlbSent.Add(1)
	l.logSend(&m, 0)
	l.rawSend(m.Append(make([]byte, 0, controlHeaderLen)))
}

// ack processes the peer's Nr: everything before it is acknowledged. An Nr
// that acknowledges nothing new, or more than we sent, is ignored. The caller
// pumps the queue afterwards.
func (l *loop) ack(nr uint16) {
	if len(l.tx.out) == 0 || !l.tx.out[0].sent {
		return
	}
	d := int(nr - l.tx.out[0].msg.Header.Ns)
	if d == 0 || d > l.tx.inflight() {
		return
	}
	for range d {
		l.tx.acked()
	}
	clear(l.tx.out[:d])
	l.tx.out = l.tx.out[d:]
	if len(l.tx.out) > 0 && l.tx.out[0].sent {
		l.rtxTimer.Reset(l.cfg.retransmitInterval(l.tx.out[0].retries))
	} else {
		l.rtxTimer.Stop()
	}
}

// onRetransmitTimer retransmits the oldest unacknowledged message, or gives up.
func (l *loop) onRetransmitTimer() {
	if len(l.tx.out) == 0 || !l.tx.out[0].sent {
		return
	}
	o := l.tx.out[0]
	if o.retries >= l.cfg.MaxRetransmits {
		l.timedOut(&TimeoutError{Message: o.msg.Type, Retransmits: o.retries})
		return
	}
	o.retries++
	l.tx.ssthresh = max(l.tx.cwnd/2, 1)
	l.tx.cwnd = 1
	l.tx.caCount = 0
	l.transmit(o, true)
	l.rtxTimer.Reset(l.cfg.retransmitInterval(o.retries))
}

// timedOut handles the retransmission limit: while closing, the teardown is
// over (unacknowledged); otherwise the tunnel is dead.
func (l *loop) timedOut(err error) {
	if l.state == stateClosing {
		if l.localClose {
			l.closeResult = err
		}
		l.log.Info("tunnel closed without acknowledgement", "local_id", l.localID, "peer_id", l.peerID)
		l.finish(l.teardownErr)
		return
	}
	l.fail(err)
}

// receive runs one decoded message through the transport and delivers what is
// in sequence. Messages the ack lets out go after the delivery, so they carry
// the Nr that acknowledges this message.
func (l *loop) receive(m *Message) {
	l.ack(m.Header.Nr)
	l.sequence(m)
	if !l.exit {
		l.pump()
	}
}

func (l *loop) sequence(m *Message) {
	if len(m.AVPs) == 0 {
		l.st.zlbReceived.Add(1)
		l.logRecv(m, "")
		return
	}
	d := m.Header.Ns - l.tx.nr
	switch {
	case d == 0:
		l.accept(m)
		for !l.exit {
			next, ok := l.tx.held[l.tx.nr]
			if !ok {
				break
			}
			delete(l.tx.held, l.tx.nr)
			l.accept(next)
		}
	case d >= 0x8000:
		l.st.duplicates.Add(1)
		l.logRecv(m, "duplicate, re-acked")
		l.sendZLB()
	default:
		l.st.outOfOrder.Add(1)
		if int(d) >= int(l.cfg.ReceiveWindow) {
			l.logRecv(m, "beyond our receive window, dropped")
			return
		}
		if _, ok := l.tx.held[m.Header.Ns]; !ok {
			l.tx.held[m.Header.Ns] = m
		}
		l.logRecv(m, "out of order, held")
	}
}

// accept takes an in-sequence message: it advances Nr, arms the delayed ack,
// and hands the message to the state machine.
func (l *loop) accept(m *Message) {
	l.tx.nr++
	if !l.tx.ackPending {
		l.tx.ackPending = true
		l.ackTimer.Reset(l.cfg.AckDelay)
	}
	l.st.controlReceived.Add(1)
	l.logRecv(m, "")
	l.deliver(m)
}
