package ppp

// The Authenticate phase, client side (RFC 1661 section 3.4): we prove who
// we are with PAP, CHAP-MD5 or MS-CHAPv2. We do not authenticate the server,
// except through MS-CHAPv2's authenticator response.

import (
	"bytes"
	"fmt"
)

// authState is the authentication phase's state, owned by Run.
type authState struct {
	// retx: our PAP Authenticate-Request or CHAP Response; deadline:
	// Config.AuthTimeout; wait: AuthWaitNotice after our first request.
	authTimers
	method  AuthMethod
	active  bool // in the Authenticate phase, no result yet
	waitArm bool // wait was started in this authentication
	papID   uint8

	// CHAP and MS-CHAPv2: the last Challenge and our Response to it, so a
	// retransmitted Challenge gets the same Response.
	chapID        uint8
	chapChallenge []byte
	chapResponse  []byte // the encoded Response packet
	outstanding   bool   // a Response awaits Success or Failure
	// probeID: the Identifier of our last IPCP Configure-Request sent to
	// learn whether the server has moved on (see probeNetwork); probed
	// says one went out in this authentication.
	probeID uint8
	probed  bool
	// unverified: MS-CHAPv2 without IPsec, the server has shown that it
	// moved on without our seeing its Success; it has unverifiedRepeats
	// more Restart periods to answer our repeated Response.
	unverified        bool
	unverifiedRepeats int

	// MS-CHAPv2: the authenticator response the server must send.
	wantAuthResponse [20]byte
	// MS-CHAPv2: what MPPE's keys derive from (RFC 3079 section 3); kept
	// in memory only, never logged.
	ntResponse       [24]byte
	passwordHashHash [16]byte
	haveKeys         bool
}

func (l *Link) authStart(m AuthMethod) {
	a := &l.auth
	a.method, a.active, a.outstanding, a.probed = m, true, false, false
	a.unverified, a.unverifiedRepeats = false, 0
	a.chapChallenge, a.chapResponse = nil, nil
	a.waitArm = false
	a.deadline.start(l.cfg.AuthTimeout)
	l.log.Info("ppp: authenticating", "method", m, "user", l.cfg.User)
	if m == AuthPAP {
		l.papSend()
	}
	// CHAP: the server speaks first.
}

func (l *Link) authStop() {
	l.auth.active = false
	l.auth.outstanding = false
	l.auth.retx.stop()
	l.auth.deadline.stop()
	l.auth.wait.stop()
}

// authRequestSent starts the AuthWaitNotice timer when our first
// authentication request of this phase went out.
func (l *Link) authRequestSent() {
	a := &l.auth
	if a.active && !a.waitArm && AuthWaitNotice < l.cfg.AuthTimeout {
		a.waitArm = true
		a.wait.start(AuthWaitNotice)
	}
}

// authWaiting: the server has not answered our request for AuthWaitNotice.
// It may be waiting for the user to approve a second factor (a push on a
// phone, RADIUS with MFA), which is what the progress line says.
func (l *Link) authWaiting() {
	if !l.auth.active {
		return
	}
	l.log.Info("ppp: waiting for the server to confirm authentication (second factor?)",
		"method", l.auth.method, "timeout", l.cfg.AuthTimeout)
	l.emit(Event{Kind: "auth.waiting", Auth: l.auth.method})
}

func (l *Link) authSucceeded() {
	m := l.auth.method
	l.authStop()
	l.log.Info("ppp: authenticated", "method", m)
	l.emit(Event{Kind: "auth.ok", Auth: m})
	l.enterNetwork()
}

func (l *Link) authFailed(err error) {
	l.authStop()
	l.fail(err)
}

func (l *Link) authTimedOut() {
	if !l.auth.active {
		return
	}
	l.authFailed(&AuthTimeoutError{Method: l.auth.method, After: l.cfg.AuthTimeout, Challenged: l.auth.method == AuthPAP || l.auth.chapResponse != nil})
}

func (l *Link) authRetransmit() {
	a := &l.auth
	switch {
	case !a.active:
	case a.method == AuthPAP:
		l.papSend()
	case a.outstanding:
		// CHAP: our Response or the server's Success may have been lost.
		// An authenticator that gets the Response again answers it again
		// (RFC 1994 section 4.1); the server does not retransmit Success.
		if a.unverified {
			if a.unverifiedRepeats >= unverifiedRepeats {
				l.authFailed(ErrServerUnverified)
				return
			}
			a.unverifiedRepeats++
		}
		l.sendFrame(ProtoCHAP, a.chapResponse)
		a.retx.start(l.cfg.RestartTimer)
		l.probeNetwork()
	}
}

// unverifiedRepeats is how many more times the Response is repeated, a
// Restart period apart, once a server has moved on to the Network phase
// without our seeing its MS-CHAPv2 Success (and without IPsec to vouch for
// it): a server that answers a repeated Response (RFC 1994 section 4.1)
// sends the Success again.
const unverifiedRepeats = 2

// probeNetwork sends an IPCP Configure-Request while a CHAP Response has
// gone unanswered for a Restart period. Some servers (SoftEther) neither
// answer a repeated Response nor start IPCP themselves: when their Success
// is lost, only our IPCP request shows whether they have moved on to the
// Network phase. A server still authenticating discards it (RFC 1661
// section 3.5) or Protocol-Rejects it (SoftEther); a server in the Network
// phase answers it, which implies the lost Success (see beforeNCP). The
// request asks for nothing but an address; IPCP proper starts afresh, with
// a new Identifier, once authentication is over.
func (l *Link) probeNetwork() {
	a := &l.auth
	a.probeID, a.probed = l.ipcp.newID(), true
	l.sendPacket(ProtoIPCP, Packet{Code: CodeConfigureRequest, ID: a.probeID,
		Data: Option{Type: ipcpIPAddress, Data: make([]byte, 4)}.Append(nil)})
}

// impliedSuccess says whether an NCP packet, received while we wait for
// the server's verdict, shows that the server has authenticated us: an
// authenticator moves to the Network phase only after a successful
// authentication (RFC 1661 section 3.5), so its Success (or Ack) was lost
// on the way. The packet is a Configure-Request of the server's own, or an
// answer to our probe (see probeNetwork). Servers that do not answer a
// repeated Response (l2tpns, SoftEther) leave no other way to learn it.
// For MS-CHAPv2 the caller decides what the inference is worth: the
// Success carries the proof that the server knows the password.
func (a *authState) impliedSuccess(proto Protocol, p Packet) bool {
	switch {
	case !a.active:
		return false
	case p.Code == CodeConfigureRequest:
	case proto == ProtoIPCP && a.probed && p.ID == a.probeID &&
		(p.Code == CodeConfigureAck || p.Code == CodeConfigureNak || p.Code == CodeConfigureReject):
	default:
		return false
	}
	switch a.method {
	case AuthPAP:
		return true
	case AuthCHAPMD5, AuthMSCHAPv2:
		return a.outstanding
	}
	return false
}

// papSend sends an Authenticate-Request; it is retransmitted on the Restart
// timer until the Ack or Nak (RFC 1334 section 2.2.1), each with a new
// Identifier.
func (l *Link) papSend() {
	a := &l.auth
	a.papID++
	p := PAPPacket{Code: PAPAuthenticateRequest, ID: a.papID, PeerID: []byte(l.cfg.User), Password: l.cfg.Password.Bytes()}
	l.sendFrame(ProtoPAP, p.Append([]byte{byte(ProtoPAP >> 8), byte(ProtoPAP & 0xff)}))
	a.retx.start(l.cfg.RestartTimer)
	l.authRequestSent()
}

func (l *Link) authInput(proto Protocol, info []byte) {
	a := &l.auth
	if proto == ProtoPAP {
		p, err := ParsePAP(info)
		if err != nil {
			l.malformed(proto, err)
			return
		}
		if a.method != AuthPAP || !a.active {
			l.drop(proto, "no PAP exchange in progress")
			return
		}
		switch p.Code {
		case PAPAuthenticateAck:
			l.authSucceeded()
		case PAPAuthenticateNak:
			l.authFailed(&AuthError{Method: AuthPAP, Message: sanitize(p.Message)})
		default:
			l.drop(proto, "we do not authenticate the server")
		}
		return
	}
	p, err := ParseCHAP(info)
	if err != nil {
		l.malformed(proto, err)
		return
	}
	if a.method != AuthCHAPMD5 && a.method != AuthMSCHAPv2 {
		l.drop(proto, "CHAP was not negotiated")
		return
	}
	switch p.Code {
	case CHAPChallenge:
		l.chapChallenge(p)
	case CHAPSuccess:
		if !a.outstanding {
			l.drop(proto, "Success without a Response")
			return
		}
		if a.method == AuthMSCHAPv2 {
			s, err := parseMSCHAPv2Success(p.Message)
			if err != nil {
				// RFC 2759 5: a missing authenticator response ends the session.
				l.authFailed(fmt.Errorf("%w (%v)", ErrServerAuthInvalid, err))
				return
			}
			if !checkAuthenticatorResponse(s.AuthResponse, a.wantAuthResponse) {
				l.authFailed(ErrServerAuthInvalid)
				return
			}
		}
		a.outstanding = false
		if a.active {
			l.authSucceeded()
		}
		// Else the answer to a re-challenge while Opened.
	case CHAPFailure:
		if !a.outstanding {
			l.drop(proto, "Failure without a Response")
			return
		}
		l.authFailed(chapFailure(a.method, p.Message))
	default:
		l.drop(proto, "we do not authenticate the server")
	}
}

// chapFailure turns a CHAP Failure message into an AuthError.
func chapFailure(m AuthMethod, msg []byte) *AuthError {
	if m == AuthMSCHAPv2 {
		if f, err := parseMSCHAPv2Failure(msg); err == nil {
			return &AuthError{Method: m, Code: f.Error, Message: sanitize(f.Message)}
		}
	}
	return &AuthError{Method: m, Message: sanitize(msg)}
}

// chapChallenge answers a Challenge, also a re-challenge while the link is
// up (RFC 1994 section 4.1). A retransmitted Challenge gets the same
// Response.
func (l *Link) chapChallenge(p CHAPPacket) {
	a := &l.auth
	if a.chapResponse != nil && p.ID == a.chapID && bytes.Equal(p.Value, a.chapChallenge) {
		l.sendFrame(ProtoCHAP, a.chapResponse)
		return
	}
	resp := CHAPPacket{Code: CHAPResponse, ID: p.ID, Name: []byte(l.cfg.User)}
	switch a.method {
	case AuthCHAPMD5:
		v := chapMD5Response(p.ID, string(l.cfg.Password.Bytes()), p.Value)
		resp.Value = v[:]
	case AuthMSCHAPv2:
		if len(p.Value) != 16 {
			l.malformed(ProtoCHAP, fmt.Errorf("%w: mschapv2: challenge of %d bytes, want 16", ErrMalformed, len(p.Value)))
			return
		}
		authChallenge := [16]byte(p.Value)
		var peerChallenge [16]byte
		l.randBytes(peerChallenge[:])
		pw := string(l.cfg.Password.Bytes())
		nt := generateNTResponse(&authChallenge, &peerChallenge, l.cfg.User, pw)
		a.wantAuthResponse = generateAuthenticatorResponse(pw, &nt, &peerChallenge, &authChallenge, l.cfg.User)
		a.ntResponse, a.passwordHashHash, a.haveKeys = nt, passwordHashHash(pw), true
		// RFC 2759 section 4: Peer-Challenge, 8 reserved zeros, NT-Response, Flags.
		v := make([]byte, 0, mschapv2ResponseLen)
		v = append(v, peerChallenge[:]...)
		v = append(v, make([]byte, 8)...)
		v = append(v, nt[:]...)
		resp.Value = append(v, 0)
	}
	a.chapID = p.ID
	a.chapChallenge = append(a.chapChallenge[:0], p.Value...)
	a.chapResponse = resp.Append([]byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff)})
	a.outstanding = true
	l.sendFrame(ProtoCHAP, a.chapResponse)
	a.retx.start(l.cfg.RestartTimer)
	l.authRequestSent()
}
