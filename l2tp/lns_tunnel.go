package l2tp

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// The control connection state machine of the LNS, the recipient of the
// SCCRQ, RFC 2661 7.2.1: idle ─SCCRQ/SCCRP─► wait-ctl-conn ─SCCCN─►
// established. It runs in the same loop as the LAC's (loop.go), which hands
// every in-sequence message to lnsDeliver instead of its own deliver: the
// transport, HELLO, teardown and retransmission are shared.

// lnsTunnel ties a tunnel's loop to the LNS.
type lnsTunnel struct {
	lns             *LNS
	t               *Tunnel
	peer            PeerKey
	localID, peerID uint16 // ours, and the LAC's Assigned Tunnel ID from its SCCRQ
	challenge       []byte // ours, sent in the SCCRP when a secret is configured
}

// ErrSetupTimeout is why a tunnel or session that was not established within
// LNSConfig.SetupTimeout was cleared.
var ErrSetupTimeout = errors.New("l2tp: lns: not established in time")

// do runs fn in the tunnel's loop, without waiting for it: safe from any
// goroutine, the loop's own (a callback) included. Nothing happens if the
// tunnel has ended.
func (lt *lnsTunnel) do(fn func(*loop)) {
	r := request{kind: reqLNS, fn: fn}
	select {
	case lt.t.reqs <- r:
		return
	case <-lt.t.done:
		return
	default:
	}
	go func() {
		select {
		case lt.t.reqs <- r:
		case <-lt.t.done:
		}
	}()
}

// setupExpired clears a tunnel that is still half-open after SetupTimeout.
func (lt *lnsTunnel) setupExpired() {
	lt.do(func(l *loop) {
		if l.state == stateIdle || l.state == stateWaitCtlConn {
			l.abort(ErrSetupTimeout, Result{Code: 2, Message: "no SCCCN in time"})
		}
	})
}

// lnsDeliver hands an in-sequence, non-ZLB message to the LNS state machines.
// The leniency rules are the LAC's (deliver, session.go).
func (l *loop) lnsDeliver(m *Message) {
	if l.unknownType(m) {
		return
	}
	if err := m.CheckMandatory(); err != nil {
		// 4.1: unknown AVP with the M bit: clear the session or the tunnel.
		u := err.(*UnknownMandatoryError)
		res := Result{Code: 2, ErrorCode: 8, Message: fmt.Sprintf("unknown mandatory AVP %d (vendor %d)", uint16(u.Type), u.Vendor)}
		switch {
		case l.state == stateClosing:
		case m.Type == ICRQ:
			l.refuseICRQ(m, res)
		case m.Type.sessionScoped():
			if s := l.sessionFor(m); s != nil {
				l.log.Info("clearing session", "local_id", s.localID, "err", err)
				l.clearSession(s, &LocalCloseError{Message: CDN, Result: res}, res)
			}
		default:
			l.abort(err, res)
		}
		return
	}
	if l.state == stateClosing {
		l.deliverClosing(m)
		return
	}
	switch m.Type {
	case SCCRQ:
		l.lnsSCCRQ(m)
	case SCCCN:
		l.lnsSCCCN(m)
	case StopCCN:
		// 5.7: acknowledge at once; the sessions go down with the LAC's result.
		l.sendZLB()
		l.fail(lacResult(m))
	case HELLO:
		// Nothing to do: the transport acknowledges it.
	case ICRQ:
		l.lnsICRQ(m)
	case ICCN:
		l.lnsICCN(m)
	case CDN:
		l.lnsCDN(m)
	case SCCRP:
		// 7.2.1: an SCCRP to the recipient of an SCCRQ is an FSM error.
		l.abort(fmt.Errorf("l2tp: lns: unexpected SCCRP from the LAC in state %s", l.state), Result{Code: 7})
	default:
		// ICRP, SLI, WEN, outgoing calls: not for the LNS of incoming calls.
		l.st.unknownIgnored.Add(1)
		l.debugf("ignoring %s", m.Type)
	}
}

// lnsSCCRQ checks the LAC's SCCRQ (6.1) and answers with the SCCRP (6.2),
// which carries our Challenge when a secret is configured and the response
// to the LAC's (5.1.1).
func (l *loop) lnsSCCRQ(m *Message) {
	lt := l.lns
	if l.state != stateIdle {
		l.abort(fmt.Errorf("l2tp: lns: unexpected SCCRQ in state %s", l.state), Result{Code: 7})
		return
	}
	l.localID, l.peerID = lt.localID, lt.peerID
	info := TunnelInfo{LocalID: lt.localID, PeerID: lt.peerID, PeerWindow: defaultPeerWindow}
	if !l.peerTunnelAVPs(m, &info, "LAC") {
		return
	}
	var response []byte
	if a, ok := m.Find(AVPChallenge); ok {
		if l.secret == nil {
			l.abort(fmt.Errorf("%w: the LAC challenges us but no tunnel secret is configured", ErrTunnelAuth),
				Result{Code: 4, Message: "no tunnel secret configured"})
			return
		}
		if a.Hidden || len(a.Value) == 0 {
			l.abort(malformed("empty Challenge in SCCRQ"), Result{Code: 2, ErrorCode: 2, Message: "bad Challenge"})
			return
		}
		r := ChallengeResponse(SCCRP, l.secret, a.Value)
		response = r[:]
	}
	if l.secret != nil {
		var err error
		if lt.challenge, err = l.randomBytes(16); err != nil {
			l.abort(err, Result{Code: 2, ErrorCode: 4})
			return
		}
	}

	l.tx.setPeerWindow(int(info.PeerWindow))
	l.info = info
	rp := NewMessage(SCCRP, l.peerID, 0)
	rp.Add(
		Uint16AVP(AVPProtocolVersion, true, protocolVersion),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync|FramingAsync),
		Uint32AVP(AVPBearerCapabilities, false, BearerDigit|BearerAnalog),
		Uint16AVP(AVPFirmwareRevision, false, l.cfg.FirmwareRevision),
		BytesAVP(AVPHostName, true, []byte(l.cfg.HostName)),
		BytesAVP(AVPVendorName, false, []byte(l.cfg.VendorName)),
		Uint16AVP(AVPAssignedTunnelID, true, l.localID),
		Uint16AVP(AVPReceiveWindowSize, true, l.cfg.ReceiveWindow),
	)
	if lt.challenge != nil {
		rp.Add(BytesAVP(AVPChallenge, true, lt.challenge))
	}
	if response != nil {
		rp.Add(BytesAVP(AVPChallengeResponse, true, response))
	}
	l.state = stateWaitCtlConn
	l.log.Info("tunnel requested", "peer_id", l.peerID, "peer_host", info.PeerHostName,
		"peer_vendor", info.PeerVendor, "tunnel_auth", l.secret != nil)
	l.queue(rp)
}

// lnsSCCCN completes the control connection (6.3) after checking the LAC's
// answer to our Challenge (5.1.1).
func (l *loop) lnsSCCCN(m *Message) {
	if l.state != stateWaitCtlConn {
		l.abort(fmt.Errorf("l2tp: lns: unexpected SCCCN in state %s", l.state), Result{Code: 7})
		return
	}
	if ch := l.lns.challenge; ch != nil {
		a, ok := m.Find(AVPChallengeResponse)
		if !ok {
			l.abort(fmt.Errorf("%w: the LAC sent no Challenge Response: is the tunnel secret configured on the client?", ErrTunnelAuth),
				Result{Code: 4})
			return
		}
		want := ChallengeResponse(SCCCN, l.secret, ch)
		if a.Hidden || subtle.ConstantTimeCompare(a.Value, want[:]) != 1 {
			l.abort(fmt.Errorf("%w: the LAC's Challenge Response is wrong: the tunnel secrets differ", ErrTunnelAuth),
				Result{Code: 4})
			return
		}
		l.info.Authenticated = true
	}
	l.state = stateEstablished
	l.startHello()
	l.log.Info("tunnel established", "local_id", l.localID, "peer_id", l.peerID,
		"peer_host", l.info.PeerHostName, "peer_vendor", l.info.PeerVendor, "peer_window", l.info.PeerWindow,
		"authenticated", l.info.Authenticated)
}

// lnsCloseTunnel is CloseTunnel in the loop: CDN (result 3) for every
// session, then StopCCN with res.
func (l *loop) lnsCloseTunnel(res Result) {
	switch l.state {
	case stateClosing:
		return
	case stateIdle:
		l.finish(nil)
		return
	}
	l.log.Info("closing tunnel", "local_id", l.localID, "peer_id", l.peerID, "result", res.Code)
	why := &LocalCloseError{Message: StopCCN, Result: res}
	for _, s := range l.sessions {
		l.clearSession(s, why, Result{Code: 3})
	}
	l.sendStopCCN(res)
	l.teardownErr = nil
}

// lacResult is the *ResultError of a LAC's StopCCN or CDN.
func lacResult(m *Message) *ResultError {
	e := resultError(m)
	e.fromLAC = true
	return e
}
