package ppp

// The Authenticate phase, authenticator side (RFC 1661 section 3.4): the
// client proves who it is with PAP (RFC 1334), CHAP-MD5 (RFC 1994) or
// MS-CHAPv2 (RFC 2759); we check it against the credential Lookup returns.

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// serverAuth is the authentication phase's state, owned by Run.
type serverAuth struct {
	// retx: Challenge retransmission; deadline: ServerConfig.AuthTimeout.
	authTimers
	method   AuthMethod
	active   bool // in the Authenticate phase, no verdict yet
	done     bool // the client authenticated
	failures int
	user     string // the authenticated name
	retxLeft int

	// CHAP and MS-CHAPv2: the current Challenge.
	chapID    uint8
	challenge [16]byte
	answered  bool // a Response to the current Challenge was judged
	// The last Response we judged and our answer to it, sent again when
	// the client repeats the Response (RFC 1994 section 4.1: our Success
	// or Failure may have been lost).
	lastResp  []byte
	lastReply []byte
}

const (
	papAckMessage  = "Access granted"
	papNakMessage  = "Authentication failed"
	chapOKMessage  = "Access granted"
	chapBadMessage = "Authentication failed"
)

func (s *ServerLink) authStart(m AuthMethod) {
	a := &s.auth
	// Failures count across renegotiations: a client cannot buy more
	// attempts by restarting LCP.
	*a = serverAuth{authTimers: a.authTimers, failures: a.failures}
	a.method, a.active = m, true
	a.deadline.start(s.cfg.AuthTimeout)
	s.log.Info("ppp: server: authenticating the client", "method", m)
	if m != AuthPAP {
		a.retxLeft = s.acfg.MaxConfigure
		s.sendChallenge(s.lcp.newID())
	}
	// PAP: the client speaks first.
}

func (s *ServerLink) authStop() {
	s.auth.active = false
	s.auth.retx.stop()
	s.auth.deadline.stop()
}

// sendChallenge sends a new CHAP Challenge with Identifier id: 16 random
// octets (RFC 2759 section 3 requires 16 for MS-CHAPv2; RFC 1994 leaves the
// length open) and our name.
func (s *ServerLink) sendChallenge(id uint8) {
	a := &s.auth
	a.chapID, a.answered = id, false
	s.randBytes(a.challenge[:])
	s.sendFrame(ProtoCHAP, s.challengeFrame())
	a.retx.start(s.acfg.RestartTimer)
}

func (s *ServerLink) challengeFrame() []byte {
	a := &s.auth
	p := CHAPPacket{Code: CHAPChallenge, ID: a.chapID, Value: a.challenge[:], Name: []byte(s.cfg.Name)}
	return p.Append([]byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff)})
}

// authRetransmit repeats an unanswered Challenge (RFC 1994 section 4.1),
// MaxConfigure times at most; the auth deadline ends the wait.
func (s *ServerLink) authRetransmit() {
	a := &s.auth
	if !a.active || a.method == AuthPAP || a.answered || a.retxLeft <= 0 {
		return
	}
	a.retxLeft--
	s.sendFrame(ProtoCHAP, s.challengeFrame())
	a.retx.start(s.acfg.RestartTimer)
}

func (s *ServerLink) authTimedOut() {
	if !s.auth.active {
		return
	}
	err := fmt.Errorf("%w: the client did not authenticate with %s within %v", ErrAuthTimeout, s.auth.method.displayName(), s.cfg.AuthTimeout)
	s.emitInfo("auth.failed", err)
	s.authFailed(err)
}

func (s *ServerLink) authFailed(err error) {
	s.authStop()
	s.fail(err)
}

func (s *ServerLink) authSucceeded(user string) {
	a := &s.auth
	m := a.method
	s.authStop()
	a.done, a.user = true, user
	s.mu.Lock()
	s.info.User, s.info.Auth = user, m
	s.mu.Unlock()
	s.log.Info("ppp: server: client authenticated", "method", m, "user", sanitize([]byte(user)))
	s.emitInfo("auth.ok", nil)
	if s.cfg.AssignIP != nil {
		addr, err := s.cfg.AssignIP(user)
		if err != nil {
			s.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: "no address for the client: " + err.Error()})
			return
		}
		s.cfg.PeerIP = addr
	}
	s.startNCPs()
}

// rejected records a failed attempt. It reports whether the client may try
// again; if not, the link fails (our Failure or Nak is already sent).
func (s *ServerLink) rejected(err *ServerAuthError) (retry bool) {
	a := &s.auth
	a.failures++
	retry = a.failures <= s.cfg.AuthRetries
	s.log.Info("ppp: server: authentication failed", "method", err.Method, "user", sanitize([]byte(err.User)),
		"reason", err.Reason, "attempt", a.failures, "retry", retry)
	s.emitInfo("auth.failed", err)
	if !retry {
		s.authFailed(err)
	}
	return retry
}

func (s *ServerLink) authInput(proto Protocol, info []byte) {
	a := &s.auth
	if proto == ProtoPAP {
		p, err := ParsePAP(info)
		if err != nil {
			s.malformed(proto, err)
			return
		}
		if p.Code != PAPAuthenticateRequest || a.method != AuthPAP || !(a.active || a.done) {
			s.drop(proto, "no PAP authentication expected")
			return
		}
		s.papRequest(p)
		return
	}
	p, err := ParseCHAP(info)
	if err != nil {
		s.malformed(proto, err)
		return
	}
	if p.Code != CHAPResponse || (a.method != AuthCHAPMD5 && a.method != AuthMSCHAPv2) {
		s.drop(proto, "no CHAP Response expected")
		return
	}
	s.chapResponse(p, info)
}

// papRequest judges an Authenticate-Request (RFC 1334 section 2.2.1). After
// success a repeated request (our Ack was lost) is judged and acked again
// without leaving the Network phase.
func (s *ServerLink) papRequest(p PAPPacket) {
	a := &s.auth
	user := string(p.PeerID)
	ok, why := s.verifyPAP(user, p.Password)
	code, msg := PAPAuthenticateNak, papNakMessage
	if ok {
		code, msg = PAPAuthenticateAck, papAckMessage
	}
	if a.done {
		if !ok || user != a.user {
			s.drop(ProtoPAP, "a different Authenticate-Request after success")
			return
		}
	}
	r := PAPPacket{Code: code, ID: p.ID, Message: []byte(msg)}
	s.sendFrame(ProtoPAP, r.Append([]byte{byte(ProtoPAP >> 8), byte(ProtoPAP & 0xff)}))
	switch {
	case a.done:
	case ok:
		s.authSucceeded(user)
	default:
		s.rejected(&ServerAuthError{Method: AuthPAP, User: sanitize(p.PeerID), Reason: why})
	}
}

func (s *ServerLink) verifyPAP(user string, password []byte) (bool, string) {
	c, found := s.cfg.Lookup(user)
	if !found {
		return false, "unknown user"
	}
	if c.Password.IsZero() {
		return false, "the user has no cleartext password (only an NT hash), which PAP needs"
	}
	if subtle.ConstantTimeCompare(c.Password.Bytes(), password) != 1 {
		return false, "wrong password"
	}
	return true, ""
}

// chapResponse judges a CHAP or MS-CHAPv2 Response to our Challenge.
func (s *ServerLink) chapResponse(p CHAPPacket, raw []byte) {
	a := &s.auth
	if a.lastReply != nil && bytes.Equal(raw, a.lastResp) {
		s.sendFrame(ProtoCHAP, a.lastReply) // our answer was lost
		return
	}
	if !a.active || p.ID != a.chapID || a.answered {
		s.drop(ProtoCHAP, "not a Response to our current Challenge")
		return
	}
	user := string(p.Name)
	var (
		ok      bool
		why     string
		success []byte
	)
	if a.method == AuthMSCHAPv2 {
		ok, why, success = s.verifyMSCHAPv2(user, p.Value)
	} else {
		ok, why = s.verifyCHAPMD5(user, p.ID, p.Value)
		success = []byte(chapOKMessage)
	}
	a.answered = true
	a.retx.stop()
	if ok {
		s.chapReply(CHAPSuccess, p.ID, success, raw)
		s.authSucceeded(user)
		return
	}
	err := &ServerAuthError{Method: a.method, User: sanitize(p.Name), Reason: why}
	retry := a.failures+1 <= s.cfg.AuthRetries
	if a.method == AuthMSCHAPv2 {
		// RFC 2759 section 6: E=691 (authentication failure); with a
		// retry allowed, R=1 and the challenge the next Response
		// (Identifier + 1) must answer.
		msg := "E=691 R=0 V=3 M=" + chapBadMessage
		if retry {
			s.randBytes(a.challenge[:])
			msg = "E=691 R=1 C=" + strings.ToUpper(hex.EncodeToString(a.challenge[:])) + " V=3 M=" + chapBadMessage
		}
		s.chapReply(CHAPFailure, p.ID, []byte(msg), raw)
		if s.rejected(err) {
			a.chapID, a.answered = p.ID+1, false
		}
		return
	}
	s.chapReply(CHAPFailure, p.ID, []byte(chapBadMessage), raw)
	if s.rejected(err) {
		a.retxLeft = s.acfg.MaxConfigure
		s.sendChallenge(p.ID + 1)
	}
}

func (s *ServerLink) chapReply(code CHAPCode, id uint8, msg, resp []byte) {
	a := &s.auth
	a.lastResp = append(a.lastResp[:0], resp...)
	a.lastReply = CHAPPacket{Code: code, ID: id, Message: msg}.Append([]byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff)})
	s.sendFrame(ProtoCHAP, a.lastReply)
}

// verifyCHAPMD5 checks MD5(Identifier ‖ secret ‖ challenge) (RFC 1994
// section 4.1); it needs the cleartext password.
func (s *ServerLink) verifyCHAPMD5(user string, id uint8, value []byte) (bool, string) {
	c, found := s.cfg.Lookup(user)
	if !found {
		return false, "unknown user"
	}
	if c.Password.IsZero() {
		return false, "the user has no cleartext password (only an NT hash), which CHAP-MD5 needs"
	}
	want := chapMD5Response(id, string(c.Password.Bytes()), s.auth.challenge[:])
	if subtle.ConstantTimeCompare(want[:], value) != 1 {
		return false, "wrong password"
	}
	return true, ""
}

// verifyMSCHAPv2 checks the NT-Response of an MS-CHAPv2 Response value
// (RFC 2759 section 4: Peer-Challenge 16, Reserved 8, NT-Response 24,
// Flags 1) from the NT password hash, and returns the Success message with
// our authenticator response (section 8.7), which also needs only the hash.
func (s *ServerLink) verifyMSCHAPv2(user string, value []byte) (ok bool, why string, success []byte) {
	if len(value) != mschapv2ResponseLen {
		return false, fmt.Sprintf("MS-CHAPv2 Response value of %d bytes, want %d", len(value), mschapv2ResponseLen), nil
	}
	c, found := s.cfg.Lookup(user)
	if !found {
		return false, "unknown user", nil
	}
	var ph [16]byte
	switch {
	case !c.Password.IsZero():
		ph = ntPasswordHash(string(c.Password.Bytes()))
	case c.NTHash.Len() == len(ph):
		copy(ph[:], c.NTHash.Bytes())
	default:
		return false, "the user has neither a password nor a 16-byte NT hash", nil
	}
	peerChallenge := [16]byte(value[:16])
	nt := [24]byte(value[24:48])
	want := challengeResponse(challengeHash(&peerChallenge, &s.auth.challenge, user), ph)
	if subtle.ConstantTimeCompare(want[:], nt[:]) != 1 {
		return false, "wrong password", nil
	}
	ar := authenticatorResponseFromHash(ph, &nt, &peerChallenge, &s.auth.challenge, user)
	msg := make([]byte, 0, 2+40+3+len(chapOKMessage))
	msg = append(msg, "S="...)
	msg = hex.AppendEncode(msg, ar[:])
	msg = append(bytes.ToUpper(msg), " M="+chapOKMessage...) // RFC 2759 section 5: uppercase hex
	return true, "", msg
}
