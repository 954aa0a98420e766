package l2tp

import (
	"fmt"
	"time"
)

// Incoming call state machine of the LNS, RFC 2661 7.4.2: idle ─ICRQ/ICRP─►
// wait-connect (sessWaitReply here) ─ICCN─► established; CDN either way.
// An established session is published to the LNS's data table, from which
// the data path reads it without locks of the loop and without allocating.

// LNSSession is one session that is (or was) up. Its fields are fixed when
// OnSession sees it; the data path may use it from any goroutine.
type LNSSession struct {
	tunnel *lnsTunnel
	peer   PeerKey
	key    uint32 // our tunnel ID << 16 | our session ID

	TunnelID, PeerTunnelID   uint16 // ours and the LAC's Assigned Tunnel ID
	SessionID, PeerSessionID uint16 // ours and the LAC's Assigned Session ID
	PeerHostName, PeerVendor string // from the LAC's SCCRQ
	TunnelAuthenticated      bool   // the tunnel passed tunnel authentication (5.1.1)

	seq DataSequence
	up  bool // OnSession was called; only the loop touches it
}

// Peer is the transport the session's tunnel runs over.
func (s *LNSSession) Peer() PeerKey { return s.peer }

// Sequence is the session's data-channel sequencing state (RFC 2661 5.4):
// PutHeader and the LNS's data input keep it up to date.
func (s *LNSSession) Sequence() *DataSequence { return &s.seq }

// PutHeader writes the L2TP data header for the LAC into the headroom before
// b[end], where the PPP frame starts, and returns the offset the datagram
// starts at: b[start:] goes to Send with Peer(). The header has Ns while the
// session is sequenced, so end must leave DataHeaderSeqLen bytes of headroom;
// -1 means it does not. It does not allocate.
func (s *LNSSession) PutHeader(b []byte, end int) int {
	return s.seq.PutHeader(b, end, s.PeerTunnelID, s.PeerSessionID)
}

// lnsICRQ answers an incoming call request (6.6) with ICRP (6.7), or
// refuses it with a CDN.
func (l *loop) lnsICRQ(m *Message) {
	n := l.lns.lns
	if l.state != stateEstablished {
		l.refuseICRQ(m, Result{Code: 2, ErrorCode: 1, Message: "control connection not established"})
		return
	}
	peerSID, err := findUint16(m, AVPAssignedSessionID)
	if err != nil || peerSID == 0 {
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring ICRQ without a usable Assigned Session ID")
		return
	}
	for _, s := range l.sessions {
		if s.peerID == peerSID {
			l.st.unknownIgnored.Add(1)
			l.debugf("ignoring ICRQ for the LAC's session %d: it exists", peerSID)
			return
		}
	}
	if len(l.sessions) >= n.cfg.MaxSessionsPerTunnel || n.st.sessions.Add(1) > int64(n.cfg.MaxSessions) {
		if len(l.sessions) < n.cfg.MaxSessionsPerTunnel {
			n.st.sessions.Add(-1)
		}
		n.st.refused.Add(1)
		l.refuseICRQ(m, Result{Code: 4, Message: "too many sessions"})
		return
	}
	id, err := l.randomID(func(id uint16) bool { return l.sessions[id] != nil })
	if err != nil {
		n.st.sessions.Add(-1)
		l.refuseICRQ(m, Result{Code: 2, ErrorCode: 4})
		return
	}
	ls := &LNSSession{
		tunnel: l.lns, peer: l.lns.peer, key: uint32(l.localID)<<16 | uint32(id),
		TunnelID: l.localID, PeerTunnelID: l.peerID, SessionID: id, PeerSessionID: peerSID,
		PeerHostName: l.info.PeerHostName, PeerVendor: l.info.PeerVendor, TunnelAuthenticated: l.info.Authenticated,
	}
	s := &session{localID: id, peerID: peerSID, state: sessWaitReply, lns: ls}
	l.sessions[id] = s
	rp := NewMessage(ICRP, l.peerID, peerSID)
	rp.Add(Uint16AVP(AVPAssignedSessionID, true, id))
	l.log.Info("session requested", "local_id", id, "peer_id", peerSID)
	l.queue(rp)
	time.AfterFunc(n.cfg.SetupTimeout, func() {
		l.lns.do(func(l *loop) {
			if l.sessions[id] == s && s.state == sessWaitReply {
				res := Result{Code: 10}
				l.log.Info("clearing session: no ICCN in time", "local_id", id)
				l.clearSession(s, &LocalCloseError{Message: CDN, Result: res}, res)
			}
		})
	})
}

// refuseICRQ answers an ICRQ with a CDN (6.12) for a session we never set
// up: the LAC's Assigned Session ID in the header, a fresh one of ours in the
// Assigned Session ID AVP (it is mandatory).
func (l *loop) refuseICRQ(m *Message, res Result) {
	peerSID, _ := findUint16(m, AVPAssignedSessionID)
	id, err := l.randomID(func(id uint16) bool { return l.sessions[id] != nil })
	if err != nil {
		return
	}
	l.log.Info("refusing session", "peer_id", peerSID, "result", res.Code, "error", res.ErrorCode)
	cdn := NewMessage(CDN, l.peerID, peerSID)
	cdn.Add(res.AVP(), Uint16AVP(AVPAssignedSessionID, true, id))
	l.queue(cdn)
}

// lnsICCN brings the session up (6.8): published for the data path, then
// OnSession.
func (l *loop) lnsICCN(m *Message) {
	s := l.sessions[m.Header.SessionID]
	if s == nil || s.state != sessWaitReply {
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring ICCN for session %d: none is waiting for it", m.Header.SessionID)
		return
	}
	ls := s.lns
	if _, ok := m.Find(AVPSequencingRequired); ok {
		ls.seq.Require()
	}
	s.state = sessEstablished
	s.seqRequired = ls.seq.Required()
	n := l.lns.lns
	n.dataMu.Lock()
	n.data[ls.key] = ls
	n.dataMu.Unlock()
	ls.up = true
	l.log.Info("session established", "local_id", s.localID, "peer_id", s.peerID, "sequencing_required", s.seqRequired)
	if n.cfg.OnSession != nil {
		n.cfg.OnSession(ls)
	}
}

// lnsCDN handles the LAC clearing a session (6.12), before or after it came
// up; the transport acknowledges it.
func (l *loop) lnsCDN(m *Message) {
	s := l.sessionFor(m)
	if s == nil {
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring CDN for session %d: not ours", m.Header.SessionID)
		return
	}
	l.endSession(s, lacResult(m))
}

// lnsCloseSession is CloseSession in the loop.
func (l *loop) lnsCloseSession(ls *LNSSession, res Result) {
	s := l.sessions[ls.SessionID]
	if s == nil || s.lns != ls || l.state == stateClosing {
		return
	}
	l.log.Info("closing session", "local_id", s.localID, "peer_id", s.peerID, "result", res.Code)
	l.clearSession(s, &LocalCloseError{Message: CDN, Result: res}, res)
}

// lnsSessionEnded is endSession's LNS half: unpublish, release the slot, and
// tell the supervisor if it knew the session.
func (l *loop) lnsSessionEnded(s *session, err error) {
	ls := s.lns
	n := l.lns.lns
	n.st.sessions.Add(-1)
	if !ls.up {
		return
	}
	ls.up = false
	n.dataMu.Lock()
	delete(n.data, ls.key)
	n.dataMu.Unlock()
	l.log.Info("session down", "local_id", s.localID, "peer_id", s.peerID, "reason", err)
	if n.cfg.OnSessionDown != nil {
		n.cfg.OnSessionDown(ls, err)
	}
}

// String names the session for logs: IDs only.
func (s *LNSSession) String() string {
	return fmt.Sprintf("l2tp session %d/%d (peer %d/%d)", s.TunnelID, s.SessionID, s.PeerTunnelID, s.PeerSessionID)
}
