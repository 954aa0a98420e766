package l2tp

import (
	"crypto/subtle"
	"fmt"
)

// The control connection state machine for the originator (LAC), RFC 2661
// 7.2.1, and teardown (5.7, 6.4). Establishment reads top to bottom:
// establish sends the SCCRQ, onSCCRP checks the reply and sends the SCCCN.

const protocolVersion = 0x0100 // L2TP 1.0 in the Protocol Version AVP (4.4.3)

// establish sends the SCCRQ (6.1).
func (l *loop) establish(reply chan result) {
	if l.state != stateIdle {
		reply <- result{err: fmt.Errorf("%w: Establish in state %s", ErrState, l.state)}
		return
	}
	id, err := l.randomID(nil)
	if err != nil {
		reply <- result{err: err}
		return
	}
	if l.secret != nil {
		if l.challenge, err = l.randomBytes(16); err != nil {
			reply <- result{err: err}
			return
		}
	}
	l.localID = id
	m := NewMessage(SCCRQ, 0, 0)
	m.Add(
		Uint16AVP(AVPProtocolVersion, true, protocolVersion),
		BytesAVP(AVPHostName, true, []byte(l.cfg.HostName)),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync|FramingAsync),
		Uint32AVP(AVPBearerCapabilities, true, BearerDigit|BearerAnalog),
		Uint16AVP(AVPFirmwareRevision, false, l.cfg.FirmwareRevision),
		BytesAVP(AVPVendorName, false, []byte(l.cfg.VendorName)),
		Uint16AVP(AVPAssignedTunnelID, true, id),
		Uint16AVP(AVPReceiveWindowSize, true, l.cfg.ReceiveWindow),
	)
	if l.challenge != nil {
		m.Add(BytesAVP(AVPChallenge, true, l.challenge))
	}
	l.log.Info("establishing tunnel", "local_id", id, "tunnel_auth", l.challenge != nil)
	l.state = stateWaitCtlReply
	l.estWaiter = reply
	l.queue(m)
}

// onSCCRP checks the server's reply (6.2), authenticates the tunnel (5.1.1)
// and sends the SCCCN (6.3).
func (l *loop) onSCCRP(m *Message) {
	if l.state != stateWaitCtlReply {
		l.abort(fmt.Errorf("l2tp: unexpected SCCRP in state %s", l.state), Result{Code: 7})
		return
	}
	tid, err := findUint16(m, AVPAssignedTunnelID)
	if err == nil && tid == 0 {
		err = malformed("SCCRP assigns tunnel ID 0")
	}
	if err != nil {
		l.abort(err, Result{Code: 2, ErrorCode: 3, Message: "bad Assigned Tunnel ID"})
		return
	}
	l.peerID = tid
	info := TunnelInfo{LocalID: l.localID, PeerID: tid, PeerWindow: defaultPeerWindow}

	if !l.peerTunnelAVPs(m, &info, "server") {
		return
	}

	if l.challenge != nil {
		a, ok := m.Find(AVPChallengeResponse)
		if !ok {
			l.abort(fmt.Errorf("%w: the server sent no Challenge Response: is the tunnel secret configured on the server?", ErrTunnelAuth),
				Result{Code: 4})
			return
		}
		want := ChallengeResponse(SCCRP, l.secret, l.challenge)
		if a.Hidden || subtle.ConstantTimeCompare(a.Value, want[:]) != 1 {
			l.abort(fmt.Errorf("%w: the server's Challenge Response is wrong: the tunnel secrets differ", ErrTunnelAuth),
				Result{Code: 4})
			return
		}
		info.Authenticated = true
	}
	var response []byte
	if a, ok := m.Find(AVPChallenge); ok {
		if l.secret == nil {
			l.abort(fmt.Errorf("%w: the server requires a tunnel secret (its SCCRP carries a Challenge) but none is configured", ErrTunnelAuth),
				Result{Code: 2, ErrorCode: 6, Message: "no tunnel secret configured"})
			return
		}
		if a.Hidden || len(a.Value) == 0 {
			l.abort(malformed("empty Challenge in SCCRP"), Result{Code: 2, ErrorCode: 2, Message: "bad Challenge"})
			return
		}
		r := ChallengeResponse(SCCCN, l.secret, a.Value)
		response = r[:]
		info.Authenticated = true
	}

	l.tx.setPeerWindow(int(info.PeerWindow))
	l.info = info
	scccn := NewMessage(SCCCN, l.peerID, 0)
	if response != nil {
		scccn.Add(BytesAVP(AVPChallengeResponse, true, response))
	}
	l.state = stateEstablished
	l.queue(scccn)
	l.startHello()
	l.log.Info("tunnel established", "local_id", info.LocalID, "peer_id", info.PeerID,
		"peer_host", info.PeerHostName, "peer_vendor", info.PeerVendor, "peer_window", info.PeerWindow,
		"authenticated", info.Authenticated)
	if l.estWaiter != nil {
		l.estWaiter <- result{tunnel: info}
		l.estWaiter = nil
	}
}

// onStopCCN handles the server clearing the tunnel (5.7): acknowledge at once
// with a ZLB and end with its result.
func (l *loop) onStopCCN(m *Message) {
	l.sendZLB()
	l.fail(resultError(m))
}

// resultError builds the *ResultError of a StopCCN or CDN.
func resultError(m *Message) *ResultError {
	e := &ResultError{Message: m.Type}
	if a, ok := m.Find(AVPResultCode); ok && !a.Hidden {
		if r, err := ParseResult(a.Value); err == nil {
			e.Result, e.ErrorCode, e.Text = r.Code, r.ErrorCode, r.Message
		}
	}
	return e
}

// startClose begins a local Close: CDN for every session, then StopCCN.
func (l *loop) startClose() {
	switch l.state {
	case stateIdle:
		l.finish(nil)
	case stateClosing:
		// Already tearing down (abort); Close waits for it.
	default:
		l.log.Info("closing tunnel", "local_id", l.localID, "peer_id", l.peerID)
		for _, s := range l.sessions {
			l.clearSession(s, ErrClosed, Result{Code: 3})
		}
		l.replyEstablish(ErrClosed)
		l.sendStopCCN(Result{Code: 1})
		l.teardownErr = nil
	}
}

// abort tears the tunnel down because of err (7.1): StopCCN with res, which
// implicitly clears all sessions (6.4). Run returns err once it is done.
func (l *loop) abort(err error, res Result) {
	if l.state == stateClosing {
		return
	}
	l.log.Info("tearing down tunnel", "local_id", l.localID, "peer_id", l.peerID, "err", err)
	l.replyEstablish(err)
	for _, s := range l.sessions {
		l.endSession(s, err)
	}
	l.sendStopCCN(res)
	l.teardownErr = err
}

// sendStopCCN queues our StopCCN (6.4) and enters the closing state. The
// Assigned Tunnel ID is ours, so the server finds the tunnel even if it never
// learned where to send (5.3).
func (l *loop) sendStopCCN(res Result) {
	m := NewMessage(StopCCN, l.peerID, 0)
	m.Add(Uint16AVP(AVPAssignedTunnelID, true, l.localID), res.AVP())
	l.state = stateClosing
	l.helloTimer.Stop()
	l.queue(m)
}

// deliverClosing handles messages after our StopCCN: the transport acks them;
// a StopCCN of the server's ends the teardown (it cleared the tunnel too).
func (l *loop) deliverClosing(m *Message) {
	switch m.Type {
	case StopCCN:
		l.sendZLB()
		l.log.Info("tunnel closed", "local_id", l.localID, "peer_id", l.peerID)
		l.finish(l.teardownErr)
	}
}

// learnPeerID takes the server's tunnel ID from a StopCCN or, after our own
// StopCCN went out during establishment, from the SCCRP, before the message's
// Nr releases anything we queued: our ZLB and StopCCN then reach the server's
// tunnel rather than tunnel 0. Otherwise onSCCRP sets it after its checks.
func (l *loop) learnPeerID(m *Message) {
	if l.peerID != 0 || !(m.Type == StopCCN || (m.Type == SCCRP && l.state == stateClosing)) {
		return
	}
	if id, err := findUint16(m, AVPAssignedTunnelID); err == nil {
		l.peerID = id
	}
}

// findUint16 returns the 2-octet value of a required AVP.
func findUint16(m *Message, t AVPType) (uint16, error) {
	a, ok := m.Find(t)
	if !ok {
		return 0, malformed("%s without %s", m.Type, t)
	}
	return a.Uint16()
}

// peerTunnelAVPs reads what SCCRQ and SCCRP share (Protocol Version, Host
// Name, Vendor Name, Firmware Revision, Receive Window Size) into info. It
// aborts the tunnel and returns false on a bad one; who names the peer
// ("server", or "LAC" for our LNS) in errors and logs.
func (l *loop) peerTunnelAVPs(m *Message, info *TunnelInfo, who string) bool {
	if a, ok := m.Find(AVPProtocolVersion); ok {
		v, err := a.Uint16()
		if err != nil {
			l.abort(err, Result{Code: 2, ErrorCode: 2, Message: "bad Protocol Version"})
			return false
		}
		info.PeerProtocolVersion = v
		if v>>8 != protocolVersion>>8 {
			l.abort(fmt.Errorf("l2tp: %s speaks L2TP protocol version %d.%d, we need 1.0", who, v>>8, v&0xff),
				Result{Code: 5, ErrorCode: protocolVersion})
			return false
		}
	}
	if a, ok := m.Find(AVPHostName); ok && !a.Hidden {
		info.PeerHostName = string(a.Value)
	}
	if a, ok := m.Find(AVPVendorName); ok && !a.Hidden {
		info.PeerVendor = string(a.Value)
	}
	if a, ok := m.Find(AVPFirmwareRevision); ok {
		info.PeerFirmware, _ = a.Uint16() // not mandatory: a bad one is ignored (7.1)
	}
	if a, ok := m.Find(AVPReceiveWindowSize); ok {
		w, err := a.Uint16()
		if err != nil {
			l.abort(err, Result{Code: 2, ErrorCode: 2, Message: "bad Receive Window Size"})
			return false
		}
		if w == 0 {
			l.debugf("%s advertises receive window 0 (invalid), using %d", who, defaultPeerWindow)
			w = defaultPeerWindow
		}
		info.PeerWindow = w
	}
	return true
}
