package l2tp

import "fmt"

// Incoming call (session) state machine of the LAC, RFC 2661 7.4.1:
// openSession sends the ICRQ (wait-reply), onICRP sends the ICCN
// (established), a CDN or a local close clears it.

type sessionState int

const (
	sessWaitReply   sessionState = iota // ICRQ sent
	sessEstablished                     // ICCN sent
)

func (s sessionState) String() string {
	switch s {
	case sessWaitReply:
		return "wait-reply"
	case sessEstablished:
		return "established"
	}
	return fmt.Sprintf("sessionState(%d)", int(s))
}

type session struct {
	localID, peerID uint16
	state           sessionState
	waiter          chan result // OpenSession waiting for the ICRP
	seqRequired     bool
	lns             *LNSSession // the LNS role (sessWaitReply: ICRP sent); nil for the LAC
}

// connectSpeed is what we report in ICCN: there is no physical line.
const connectSpeed = 100_000_000

// openSession sends the ICRQ (6.6).
func (l *loop) openSession(reply chan result) {
	switch {
	case l.state == stateClosing:
		reply <- result{err: ErrClosed}
		return
	case l.state != stateEstablished:
		reply <- result{err: ErrNotEstablished}
		return
	case l.opened:
		reply <- result{err: fmt.Errorf("%w: only one session per tunnel", ErrState)}
		return
	}
	id, err := l.randomID(func(id uint16) bool { return l.sessions[id] != nil })
	if err != nil {
		reply <- result{err: err}
		return
	}
	serial, err := l.randomBytes(4)
	if err != nil {
		reply <- result{err: err}
		return
	}
	s := &session{localID: id, state: sessWaitReply, waiter: reply}
	l.sessions[id] = s
	l.opened = true
	m := NewMessage(ICRQ, l.peerID, 0)
	m.Add(
		Uint16AVP(AVPAssignedSessionID, true, id),
		BytesAVP(AVPCallSerialNumber, true, serial),
		Uint32AVP(AVPBearerType, true, 0), // no physical bearer (4.4.4)
	)
	l.log.Info("opening session", "local_id", id)
	l.queue(m)
}

// onICRP answers the server's reply with ICCN (6.7, 6.8).
func (l *loop) onICRP(m *Message) {
	s := l.sessions[m.Header.SessionID]
	if s == nil && m.Header.SessionID == 0 {
		// The ICRP must carry our session ID (5.3); be lenient when only one
		// session can be meant.
		for _, c := range l.sessions {
			if c.state == sessWaitReply {
				if s != nil {
					s = nil
					break
				}
				s = c
			}
		}
	}
	if s == nil || s.state != sessWaitReply {
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring ICRP for session %d: none is waiting for it", m.Header.SessionID)
		return
	}
	sid, err := findUint16(m, AVPAssignedSessionID)
	if err == nil && sid == 0 {
		err = malformed("ICRP assigns session ID 0")
	}
	if err != nil {
		l.clearSession(s, err, Result{Code: 2, ErrorCode: 3, Message: "bad Assigned Session ID"})
		return
	}
	s.peerID = sid
	_, s.seqRequired = m.Find(AVPSequencingRequired)
	iccn := NewMessage(ICCN, l.peerID, sid)
	iccn.Add(
		Uint32AVP(AVPTxConnectSpeed, true, connectSpeed),
		Uint32AVP(AVPFramingType, true, FramingSync),
		Uint32AVP(AVPRxConnectSpeed, false, connectSpeed),
	)
	s.state = sessEstablished
	l.queue(iccn)
	info := SessionInfo{LocalID: s.localID, PeerID: sid, SequencingRequired: s.seqRequired}
	l.log.Info("session established", "local_id", s.localID, "peer_id", sid, "sequencing_required", s.seqRequired)
	if s.waiter != nil {
		s.waiter <- result{session: info}
		s.waiter = nil
	}
}

// onCDN handles the server disconnecting a session (6.12); the transport
// acknowledges it.
func (l *loop) onCDN(m *Message) {
	s := l.sessionFor(m)
	if s == nil {
		l.debugf("ignoring CDN for session %d: not ours", m.Header.SessionID)
		return
	}
	err := resultError(m)
	l.log.Info("session closed by server", "local_id", s.localID, "peer_id", s.peerID, "err", err)
	l.endSession(s, err)
}

// sessionFor finds the session a call management message is about: by the
// Session ID in the header, or, when that is 0 (the server never learned
// ours), by the server's Assigned Session ID (5.3).
func (l *loop) sessionFor(m *Message) *session {
	if s := l.sessions[m.Header.SessionID]; s != nil {
		return s
	}
	if m.Header.SessionID != 0 {
		return nil
	}
	id, err := findUint16(m, AVPAssignedSessionID)
	if err != nil || id == 0 {
		return nil
	}
	for _, s := range l.sessions {
		if s.peerID == id {
			return s
		}
	}
	return nil
}

// clearSession sends our CDN (6.12) with res and ends the session with err.
// The Assigned Session ID is ours, so the server can find the session even
// before it told us its ID.
func (l *loop) clearSession(s *session, err error, res Result) {
	m := NewMessage(CDN, l.peerID, s.peerID)
	m.Add(res.AVP(), Uint16AVP(AVPAssignedSessionID, true, s.localID))
	l.queue(m)
	l.endSession(s, err)
}

// endSession forgets s and reports err to whoever waits on it.
func (l *loop) endSession(s *session, err error) {
	delete(l.sessions, s.localID)
	if s.waiter != nil {
		s.waiter <- result{err: err}
		s.waiter = nil
	}
	l.t.endSession(err)
	if s.lns != nil {
		l.lnsSessionEnded(s, err)
	}
}

// deliver hands an in-sequence, non-ZLB message to the state machines.
func (l *loop) deliver(m *Message) {
	if l.lns != nil {
		l.lnsDeliver(m)
		return
	}
	if l.unknownType(m) {
		return
	}
	if err := m.CheckMandatory(); err != nil {
		// 4.1: unknown AVP with the M bit: clear the session or the tunnel.
		u := err.(*UnknownMandatoryError)
		res := Result{Code: 2, ErrorCode: 8, Message: fmt.Sprintf("unknown mandatory AVP %d (vendor %d)", uint16(u.Type), u.Vendor)}
		if m.Type.sessionScoped() {
			if s := l.sessionFor(m); s != nil && l.state != stateClosing {
				l.log.Info("clearing session", "local_id", s.localID, "err", err)
				l.clearSession(s, err, res)
			}
			return
		}
		l.abort(err, res)
		return
	}
	if l.state == stateClosing {
		l.deliverClosing(m)
		return
	}
	switch m.Type {
	case SCCRP:
		l.onSCCRP(m)
	case StopCCN:
		l.onStopCCN(m)
	case HELLO:
		// Nothing to do: the transport acknowledges it.
	case ICRP:
		l.onICRP(m)
	case CDN:
		l.onCDN(m)
	case SCCRQ, SCCCN:
		// 7.2.1: SCCRQ/SCCCN to an originator is an FSM error.
		l.abort(fmt.Errorf("l2tp: unexpected %s from the server in state %s", m.Type, l.state), Result{Code: 7})
	default:
		// SLI, WEN (ignored, RFC allows the LAC to keep its own framing), and
		// messages for outgoing calls or the LNS role, which we do not play.
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring %s", m.Type)
	}
}

// unknownType handles a message of a type we do not know (4.4.1): with the
// M bit the tunnel is cleared, without it the message is ignored. It says
// whether m was such a message.
func (l *loop) unknownType(m *Message) bool {
	if m.Type.known() {
		return false
	}
	if err := m.CheckMandatory(); err != nil {
		l.abort(err, Result{Code: 2, ErrorCode: 8, Message: fmt.Sprintf("unknown mandatory message type %d", uint16(m.Type))})
		return true
	}
	l.st.unknownIgnored.Add(1)
	l.debugf("ignoring unknown message type %d (M bit clear)", uint16(m.Type))
	return true
}
