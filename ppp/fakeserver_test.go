package ppp

// A fake PPP server (the LNS side) for Link tests. It replays what the
// real servers in /work/shared/captures do: SoftEther (Config-Rejects the
// Magic-Number, asks EAP first, then MS-CHAPv2, then PAP, Naks IPCP 0.0.0.0,
// sends Echo-Requests with magic 0) and l2tpns (MRU 1462, PAP, Magic, MRRU,
// Endpoint-Discriminator, accepts a Nak towards CHAP-MD5).

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type serverProfile struct {
	lcpOpts     []Option     // options of the server's LCP request besides auth (dropped when rejected)
	authOffers  []AuthMethod // asked for in this order; 0 = EAP; empty = no authentication
	supports    []AuthMethod // a Nak towards one of these is accepted
	rejectMagic bool         // Config-Reject the client's Magic-Number (SoftEther)
	earlyEcho   bool         // Echo-Request with magic 0 before LCP is open (SoftEther)
	papShortAck bool         // Authenticate-Ack without Msg-Length (SoftEther)
	user, pass  string
	assign      [4]byte   // address Nak'd to the client
	serverAddr  [4]byte   // the server's own address; zero = not sent
	dns         [][4]byte // DNS servers Nak'd; a missing entry is Config-Rejected
	wins        [][4]byte // NBNS (WINS) servers Nak'd, likewise
	ipv6        string    // "" or "reject": Protocol-Reject IPV6CP; "support": negotiate

	mute             bool // never answer anything (Max-Configure)
	silentEcho       bool // never answer Echo-Requests
	noChallenge      bool // never send the CHAP Challenge
	noTermAck        bool // never answer Terminate-Request
	badAuthenticator bool // send a wrong MS-CHAPv2 S= value
	papIgnore        int  // ignore this many PAP requests
	failRechallenge  bool // answer a re-challenge with Failure
	loseSuccess      int  // lose this many CHAP Successes on the way (the server goes on to IPCP)
	ignoreRepeat     bool // do not answer a repeated CHAP Response (l2tpns, SoftEther)
	// ipcpWaits: start IPCP only when the client's request arrives, and
	// Protocol-Reject IPCP before authentication (SoftEther).
	ipcpWaits bool
	// verdictDelay holds the MS-CHAPv2 verdict this long (a RADIUS
	// server waiting for a second factor); Responses meanwhile are
	// discarded, as SoftEther does.
	verdictDelay time.Duration

	ccp ccpScript // the server's CCP (ccp_test.go); nil: Protocol-Reject CCP
}

// ccpScript plays the server's side of CCP.
type ccpScript interface {
	start(s *fakeServer)            // after authentication, before IPCP
	handle(s *fakeServer, p Packet) // a CCP packet from the client
}

func softEtherProfile() serverProfile {
	return serverProfile{
		authOffers:  []AuthMethod{0, AuthMSCHAPv2, AuthPAP},
		supports:    []AuthMethod{AuthMSCHAPv2, AuthPAP},
		rejectMagic: true, earlyEcho: true, papShortAck: true,
		user: "pfuser", pass: "pfpass",
		assign: [4]byte{198, 51, 100, 10}, serverAddr: [4]byte{198, 51, 100, 1},
		dns: [][4]byte{{198, 51, 100, 1}},
	}
}

func l2tpnsProfile() serverProfile {
	return serverProfile{
		lcpOpts: []Option{
			{Type: lcpMRU, Data: []byte{0x05, 0xb6}},
			{Type: lcpMagicNumber, Data: []byte{0x6b, 0x05, 0x06, 0xcf}},
			{Type: lcpMRRU, Data: []byte{0x06, 0x4e}},
			{Type: lcpEndpointDiscrimina, Data: []byte{0x02, 0xcb, 0x00, 0x71, 0x01}},
		},
		authOffers: []AuthMethod{AuthPAP},
		supports:   []AuthMethod{AuthPAP, AuthCHAPMD5},
		user:       "pfuser", pass: "pfpass",
		assign: [4]byte{203, 0, 113, 192}, serverAddr: [4]byte{203, 0, 113, 1},
	}
}

type fakeServer struct {
	t    *testing.T
	p    serverProfile
	link *Link
	out  chan []byte // frames the Link sent
	cmd  chan func() // run in the server goroutine
	done chan struct{}

	id       uint8
	lcpReqID uint8

	lastResponse, lastSuccess []byte // the CHAP exchange that succeeded
	auth                      AuthMethod
	authIdx                   int
	opts                      []Option
	weAcked                   bool // we acked the client's LCP request
	theyAcked                 bool // the client acked ours
	lcpOpen                   bool
	authDone                  bool
	chapID                    uint8
	challenge                 [16]byte
	verdictPending            bool // verdictDelay is running
	earlyIPCP                 int  // IPCP packets Protocol-Rejected before authentication

	ipcpReqID                uint8
	ipcpWeAcked, ipcpTheyAck bool
	ipcpOpen                 bool
	v6ReqID                  uint8

	// What the client sent, readable after done is closed.
	seen         []string
	lcpRequests  int
	echoReplies  []Packet
	termRequests int
	protoRejects []Protocol
	codeRejects  []Code
	lcpRejects   [][]byte // options of the client's LCP Configure-Rejects
	papRequests  []uint8  // their Identifiers
	chapReplies  [][]byte
}

func newFakeServer(t *testing.T, p serverProfile) *fakeServer {
	s := &fakeServer{t: t, p: p, out: make(chan []byte, 1024), cmd: make(chan func(), 8), done: make(chan struct{})}
	s.opts = append(s.opts, p.lcpOpts...)
	if len(p.authOffers) > 0 {
		s.auth = p.authOffers[0]
	}
	return s
}

// send is the Link's send function.
func (s *fakeServer) send(frame []byte) error {
	if len(frame) < 2 {
		s.t.Errorf("frame too short: %x", frame)
		return nil
	}
	s.out <- frame
	return nil
}

func (s *fakeServer) run(ctx context.Context) {
	defer close(s.done)
	if !s.p.mute {
		s.sendLCPRequest()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-s.cmd:
			f()
		case fr := <-s.out:
			s.handle(Protocol(binary.BigEndian.Uint16(fr)), fr[2:])
		}
	}
}

// do runs f in the server goroutine.
func (s *fakeServer) do(f func()) { s.cmd <- f }

func (s *fakeServer) input(proto Protocol, info []byte) {
	if !s.link.Input(proto, info) {
		s.t.Errorf("Input(%v) dropped", proto)
	}
}

func (s *fakeServer) sendPacket(proto Protocol, p Packet) { s.input(proto, p.Append(nil)) }

func (s *fakeServer) newID() uint8 { s.id++; return s.id }

func (s *fakeServer) sendLCPRequest() {
	opts := append([]Option(nil), s.opts...)
	if a := s.authOptionFor(s.auth); a != nil && len(s.p.authOffers) > 0 {
		opts = append([]Option{*a}, opts...)
	}
	s.lcpReqID = s.newID()
	s.theyAcked = false
	s.sendPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: s.lcpReqID, Data: AppendOptions(nil, opts...)})
}

func (s *fakeServer) authOptionFor(m AuthMethod) *Option {
	if m == 0 {
		return &Option{Type: lcpAuthProtocol, Data: []byte{0xc2, 0x27}} // EAP
	}
	o := authMethodOption(m)
	return &o
}

func (s *fakeServer) handle(proto Protocol, info []byte) {
	s.seen = append(s.seen, describe(proto, info))
	if s.p.mute {
		if p, err := ParsePacket(info); err == nil && proto == ProtoLCP && p.Code == CodeConfigureRequest {
			s.lcpRequests++
		}
		return
	}
	switch proto {
	case ProtoLCP:
		s.handleLCP(mustPacket(s.t, info))
	case ProtoPAP:
		s.handlePAP(info)
	case ProtoCHAP:
		s.handleCHAP(info)
	case ProtoIPCP:
		s.handleIPCP(mustPacket(s.t, info))
	case ProtoIPV6CP:
		if s.p.ipv6 != "support" {
			s.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: s.newID(), Data: append([]byte{0x80, 0x57}, info...)})
			return
		}
		s.handleIPV6CP(mustPacket(s.t, info))
	case ProtoCCP:
		if s.p.ccp == nil {
			s.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: s.newID(), Data: append([]byte{0x80, 0xfd}, info...)})
			return
		}
		s.p.ccp.handle(s, mustPacket(s.t, info))
	default:
		s.t.Errorf("server got unexpected protocol %v", proto)
	}
}

func mustPacket(t *testing.T, info []byte) Packet {
	p, err := ParsePacket(info)
	if err != nil {
		t.Errorf("client sent a malformed packet %x: %v", info, err)
	}
	return p
}

func (s *fakeServer) handleLCP(p Packet) {
	switch p.Code {
	case CodeConfigureRequest:
		s.lcpRequests++
		if s.p.earlyEcho && s.lcpRequests == 1 {
			// SoftEther's early echo, magic 0, data "Aho Baka Manuke\0".
			s.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: 0, Data: append(make([]byte, 4), "Aho Baka Manuke\x00"...)})
		}
		var rej []byte
		for d := p.Data; len(d) > 0; {
			o, rest, err := NextOption(d)
			if err != nil {
				s.t.Errorf("client LCP request: %v", err)
				return
			}
			if o.Type == lcpMagicNumber && s.p.rejectMagic {
				rej = o.Append(rej)
			}
			d = rest
		}
		if len(rej) > 0 {
			s.sendPacket(ProtoLCP, Packet{Code: CodeConfigureReject, ID: p.ID, Data: rej})
			return
		}
		s.sendPacket(ProtoLCP, Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data})
		s.weAcked = true
		s.maybeLCPOpen()
	case CodeConfigureAck:
		if p.ID == s.lcpReqID {
			s.theyAcked = true
			s.maybeLCPOpen()
		}
	case CodeConfigureNak:
		for d := p.Data; len(d) > 0; {
			o, rest, _ := NextOption(d)
			if o.Type == lcpAuthProtocol {
				m, _ := authOption(o.Data)
				if m != 0 && containsMethod(s.p.supports, m) {
					s.auth = m
				} else if s.authIdx+1 < len(s.p.authOffers) {
					s.authIdx++
					s.auth = s.p.authOffers[s.authIdx]
				}
			}
			d = rest
		}
		s.sendLCPRequest()
	case CodeConfigureReject:
		s.lcpRejects = append(s.lcpRejects, append([]byte(nil), p.Data...))
		for d := p.Data; len(d) > 0; {
			o, rest, _ := NextOption(d)
			for i, x := range s.opts {
				if x.Type == o.Type {
					s.opts = append(s.opts[:i:i], s.opts[i+1:]...)
					break
				}
			}
			if o.Type == lcpAuthProtocol {
				s.t.Errorf("client rejected the authentication protocol")
			}
			d = rest
		}
		s.sendLCPRequest()
	case CodeEchoRequest:
		if !s.p.silentEcho {
			s.sendPacket(ProtoLCP, Packet{Code: CodeEchoReply, ID: p.ID, Data: s.magic()})
		}
	case CodeEchoReply:
		s.echoReplies = append(s.echoReplies, Packet{Code: p.Code, ID: p.ID, Data: append([]byte(nil), p.Data...)})
	case CodeTerminateRequest:
		s.termRequests++
		if !s.p.noTermAck {
			s.sendPacket(ProtoLCP, Packet{Code: CodeTerminateAck, ID: p.ID})
		}
	case CodeTerminateAck:
	case CodeProtocolReject:
		s.protoRejects = append(s.protoRejects, Protocol(binary.BigEndian.Uint16(p.Data)))
	case CodeCodeReject:
		s.codeRejects = append(s.codeRejects, Code(p.Data[0]))
	default:
		s.t.Errorf("server got LCP %v", p.Code)
	}
}

func (s *fakeServer) magic() []byte {
	for _, o := range s.opts {
		if o.Type == lcpMagicNumber {
			return append([]byte(nil), o.Data...)
		}
	}
	return make([]byte, 4)
}

func (s *fakeServer) maybeLCPOpen() {
	if s.lcpOpen || !s.weAcked || !s.theyAcked {
		return
	}
	s.lcpOpen = true
	switch {
	case len(s.p.authOffers) == 0:
		s.authOK()
	case s.auth == AuthCHAPMD5 || s.auth == AuthMSCHAPv2:
		if s.p.noChallenge {
			return
		}
		s.chapID = s.newID()
		for i := range s.challenge {
			s.challenge[i] = byte(i*7 + 3)
		}
		s.input(ProtoCHAP, CHAPPacket{Code: CHAPChallenge, ID: s.chapID, Value: s.challenge[:], Name: []byte("vm")}.Append(nil))
	}
}

func (s *fakeServer) handlePAP(info []byte) {
	p, err := ParsePAP(info)
	if err != nil || p.Code != PAPAuthenticateRequest {
		s.t.Errorf("client sent PAP %x: %v", info, err)
		return
	}
	if s.auth != AuthPAP {
		s.t.Errorf("client sent PAP, negotiated %v", s.auth)
	}
	s.papRequests = append(s.papRequests, p.ID)
	if len(s.papRequests) <= s.p.papIgnore {
		return
	}
	if string(p.PeerID) == s.p.user && string(p.Password) == s.p.pass {
		s.input(ProtoPAP, PAPPacket{Code: PAPAuthenticateAck, ID: p.ID, NoMsgLength: s.p.papShortAck}.Append(nil))
		s.authOK()
		return
	}
	s.input(ProtoPAP, PAPPacket{Code: PAPAuthenticateNak, ID: p.ID, Message: []byte("Authentication failure")}.Append(nil))
}

func (s *fakeServer) handleCHAP(info []byte) {
	p, err := ParseCHAP(info)
	if err != nil || p.Code != CHAPResponse || p.ID != s.chapID {
		s.t.Errorf("client sent CHAP %x: %v", info, err)
		return
	}
	if string(p.Name) != s.p.user {
		s.t.Errorf("CHAP name %q", p.Name)
	}
	s.chapReplies = append(s.chapReplies, append([]byte(nil), info...))
	if s.verdictPending {
		return
	}
	if s.lastSuccess != nil && string(info) == string(s.lastResponse) {
		// A repeated Response: its Success was lost (RFC 1994 4.1).
		if !s.p.ignoreRepeat {
			s.input(ProtoCHAP, s.lastSuccess)
			s.authOK() // and IPCP again: the first request was dropped too
		}
		return
	}
	if s.authDone {
		// The answer to a re-challenge while the link is up.
		c := CHAPPacket{Code: CHAPSuccess, ID: p.ID}
		if s.p.failRechallenge {
			c = CHAPPacket{Code: CHAPFailure, ID: p.ID, Message: []byte("Re-authentication failed")}
		}
		s.input(ProtoCHAP, c.Append(nil))
		return
	}
	switch s.auth {
	case AuthCHAPMD5:
		want := chapMD5Response(p.ID, s.p.pass, s.challenge[:])
		if string(p.Value) == string(want[:]) {
			s.chapSuccess(info, CHAPPacket{Code: CHAPSuccess, ID: p.ID}.Append(nil))
			s.authOK()
			return
		}
		s.input(ProtoCHAP, CHAPPacket{Code: CHAPFailure, ID: p.ID, Message: []byte("Authentication failure")}.Append(nil))
	case AuthMSCHAPv2:
		if len(p.Value) != mschapv2ResponseLen {
			s.t.Errorf("MS-CHAPv2 response of %d bytes", len(p.Value))
			return
		}
		peer := [16]byte(p.Value[:16])
		want := generateNTResponse(&s.challenge, &peer, s.p.user, s.p.pass)
		if string(p.Value[24:48]) != string(want[:]) {
			msg := fmt.Sprintf("E=691 R=0 C=%X V=3 M=Authentication failure", s.challenge)
			s.input(ProtoCHAP, CHAPPacket{Code: CHAPFailure, ID: p.ID, Message: []byte(msg)}.Append(nil))
			return
		}
		ar := generateAuthenticatorResponse(s.p.pass, &want, &peer, &s.challenge, s.p.user)
		if s.p.badAuthenticator {
			ar[0] ^= 1
		}
		msg := "S=" + hexUpper(ar[:])
		verdict := func() {
			s.verdictPending = false
			s.chapSuccess(info, CHAPPacket{Code: CHAPSuccess, ID: p.ID, Message: []byte(msg)}.Append(nil))
			s.authOK()
		}
		if s.p.verdictDelay > 0 {
			s.verdictPending = true
			time.AfterFunc(s.p.verdictDelay, func() { s.do(verdict) })
			return
		}
		verdict()
	default:
		s.t.Errorf("client sent CHAP, negotiated %v", s.auth)
	}
}

// chapSuccess sends the Success for response, unless it is to be lost.
func (s *fakeServer) chapSuccess(response, success []byte) {
	s.lastResponse, s.lastSuccess = append([]byte(nil), response...), success
	if s.p.loseSuccess > 0 {
		s.p.loseSuccess--
		return
	}
	s.input(ProtoCHAP, success)
}

func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	_ = hex.EncodeToString
	return string(out)
}

func (s *fakeServer) authOK() {
	s.authDone = true
	if s.p.ccp != nil {
		s.p.ccp.start(s)
	}
	if !s.p.ipcpWaits {
		s.sendIPCPRequest()
	}
}

func (s *fakeServer) sendIPCPRequest() {
	var opts []byte
	if s.p.serverAddr != ([4]byte{}) {
		opts = Option{Type: ipcpIPAddress, Data: s.p.serverAddr[:]}.Append(nil)
	}
	s.ipcpReqID = s.newID()
	s.sendPacket(ProtoIPCP, Packet{Code: CodeConfigureRequest, ID: s.ipcpReqID, Data: opts})
}

func (s *fakeServer) handleIPCP(p Packet) {
	if s.p.ipcpWaits && !s.authDone {
		s.earlyIPCP++
		s.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: s.newID(),
			Data: append([]byte{byte(ProtoIPCP >> 8), byte(ProtoIPCP & 0xff)}, p.Append(nil)...)})
		return
	}
	switch p.Code {
	case CodeConfigureRequest:
		if s.p.ipcpWaits && s.ipcpReqID == 0 {
			s.sendIPCPRequest()
		}
		var nak, rej []byte
		for d := p.Data; len(d) > 0; {
			o, rest, err := NextOption(d)
			if err != nil {
				s.t.Errorf("client IPCP request: %v", err)
				return
			}
			d = rest
			switch o.Type {
			case ipcpIPAddress:
				if [4]byte(o.Data) != s.p.assign {
					nak = Option{Type: o.Type, Data: s.p.assign[:]}.Append(nak)
				}
			case ipcpPrimaryDNS, ipcpSecondaryDNS, ipcpPrimaryNBNS, ipcpSecondaryNBNS:
				list, i := s.p.dns, 0
				if o.Type == ipcpPrimaryNBNS || o.Type == ipcpSecondaryNBNS {
					list = s.p.wins
				}
				if o.Type == ipcpSecondaryDNS || o.Type == ipcpSecondaryNBNS {
					i = 1
				}
				if i >= len(list) {
					rej = o.Append(rej)
				} else if [4]byte(o.Data) != list[i] {
					nak = Option{Type: o.Type, Data: list[i][:]}.Append(nak)
				}
			default:
				rej = o.Append(rej)
			}
		}
		switch {
		case len(rej) > 0:
			s.sendPacket(ProtoIPCP, Packet{Code: CodeConfigureReject, ID: p.ID, Data: rej})
		case len(nak) > 0:
			s.sendPacket(ProtoIPCP, Packet{Code: CodeConfigureNak, ID: p.ID, Data: nak})
		default:
			s.sendPacket(ProtoIPCP, Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data})
			s.ipcpWeAcked = true
		}
	case CodeConfigureAck:
		if p.ID == s.ipcpReqID {
			s.ipcpTheyAck = true
		}
	case CodeTerminateRequest:
		s.sendPacket(ProtoIPCP, Packet{Code: CodeTerminateAck, ID: p.ID})
	default:
		s.t.Errorf("server got IPCP %v", p.Code)
	}
	s.ipcpOpen = s.ipcpWeAcked && s.ipcpTheyAck
}

var serverIfID = [8]byte{0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x01}

func (s *fakeServer) handleIPV6CP(p Packet) {
	switch p.Code {
	case CodeConfigureRequest:
		if s.v6ReqID == 0 {
			s.v6ReqID = s.newID()
			s.sendPacket(ProtoIPV6CP, Packet{Code: CodeConfigureRequest, ID: s.v6ReqID,
				Data: Option{Type: ipv6cpInterfaceID, Data: serverIfID[:]}.Append(nil)})
		}
		s.sendPacket(ProtoIPV6CP, Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data})
	case CodeConfigureAck:
	default:
		s.t.Errorf("server got IPV6CP %v", p.Code)
	}
}

// Commands the tests run in the server goroutine.

func (s *fakeServer) terminate(reason string) {
	s.do(func() {
		s.sendPacket(ProtoLCP, Packet{Code: CodeTerminateRequest, ID: s.newID(), Data: []byte(reason)})
	})
}

func (s *fakeServer) echo() {
	s.do(func() {
		s.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: s.newID(), Data: append(make([]byte, 4), "Aho Baka Manuke\x00"...)})
	})
}

// challenge sends a (re-)Challenge; fresh picks a new Identifier and value.
func (s *fakeServer) rechallenge(fresh bool) {
	s.do(func() {
		if fresh {
			s.chapID = s.newID()
			s.challenge[0]++
		}
		s.input(ProtoCHAP, CHAPPacket{Code: CHAPChallenge, ID: s.chapID, Value: s.challenge[:], Name: []byte("vm")}.Append(nil))
	})
}

// renegotiate restarts LCP from the server side with a new Configure-Request.
func (s *fakeServer) renegotiate() {
	s.do(func() {
		s.lcpOpen, s.weAcked = false, false
		s.ipcpWeAcked, s.ipcpTheyAck, s.ipcpOpen = false, false, false
		s.sendLCPRequest()
	})
}

func addr4(b [4]byte) netip.Addr { return netip.AddrFrom4(b) }
