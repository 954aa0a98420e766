package ppp

// LCP options (RFC 1661 section 6) and the LCP-only codes (sections 5.7-5.9).

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// LCP Configuration Option types.
const (
	lcpMRU                = 1  // RFC 1661 6.1
	lcpACCM               = 2  // RFC 1662 7.1
	lcpAuthProtocol       = 3  // RFC 1661 6.2
	lcpQualityProtocol    = 4  // RFC 1661 6.3
	lcpMagicNumber        = 5  // RFC 1661 6.4
	lcpPFC                = 7  // RFC 1661 6.5
	lcpACFC               = 8  // RFC 1661 6.6
	lcpCallback           = 13 // RFC 1570
	lcpMRRU               = 17 // RFC 1990 multilink
	lcpShortSequence      = 18 // RFC 1990 multilink
	lcpEndpointDiscrimina = 19 // RFC 1990 multilink
)

const (
	defaultMRU = 1500 // RFC 1661 6.1
	minMRU     = 128  // smallest MRU we accept from or suggest to the peer
)

// lcpOptions are the LCP options both roles negotiate alike: our MRU and
// Magic-Number, the peer's, and the framing options that mean nothing over
// L2TP; and LCP's own codes (echo, Protocol-Reject, Code-Reject,
// Terminate-Request). lcpLayer (client) and serverLCP embed it and add the
// Authentication-Protocol option, which each role treats its own way.
type lcpOptions struct {
	c *linkCore

	mru       uint16 // the MRU we ask for, if sendMRU
	sendMRU   bool
	magic     uint32 // our Magic-Number, if sendMagic
	sendMagic bool

	// From the last acked exchange.
	localMRU  uint16 // what the peer acked for us
	magicOK   bool   // the peer acked our Magic-Number
	peerMRU   uint16 // the MRU the peer asked for
	peerMagic uint32 // 0 if none
}

// newLCPOptions asks for mru (0 = default, not sent) and a Magic-Number.
func newLCPOptions(c *linkCore, mru uint16) lcpOptions {
	h := lcpOptions{c: c, localMRU: defaultMRU, peerMRU: defaultMRU, sendMagic: true}
	if mru != 0 && mru != defaultMRU {
		h.mru, h.sendMRU = mru, true
	}
	return h
}

// ourMagic is the Magic-Number field of our Echo packets: zero unless ours
// was negotiated (RFC 1661 section 5.8).
func (h *lcpOptions) ourMagic() uint32 {
	if h.magicOK {
		return h.magic
	}
	return 0
}

// appendOwn appends our MRU and Magic-Number options.
func (h *lcpOptions) appendOwn(b []byte) []byte {
	if h.sendMRU {
		b = append(b, lcpMRU, 4)
		b = binary.BigEndian.AppendUint16(b, h.mru)
	}
	if h.sendMagic {
		if h.magic == 0 {
			h.magic = h.c.randUint32()
		}
		b = append(b, lcpMagicNumber, 6)
		b = binary.BigEndian.AppendUint32(b, h.magic)
	}
	return b
}

// authCheck judges the peer's Authentication-Protocol option for
// classify: it appends it to rej or nak, or fails the negotiation.
type authCheck func(o Option, rejectNaks bool, rej, nak []byte) ([]byte, []byte, error)

// classify is checkRequest for both roles, with auth judging the
// Authentication-Protocol option.
func (h *lcpOptions) classify(opts []byte, rejectNaks bool, rej []byte, auth authCheck) (Code, []byte, error) {
	var nak []byte
	h.peerMRU, h.peerMagic = defaultMRU, 0
	for o := range options(opts) {
		switch o.Type {
		case lcpMRU:
			if len(o.Data) != 2 {
				rej = o.Append(rej)
				break
			}
			v := binary.BigEndian.Uint16(o.Data)
			if v < minMRU {
				if rejectNaks {
					rej = o.Append(rej)
				} else {
					nak = Option{Type: lcpMRU, Data: binary.BigEndian.AppendUint16(nil, minMRU)}.Append(nak)
				}
				break
			}
			h.peerMRU = v
		case lcpACCM:
			// RFC 1662 7.1: it only governs octet stuffing on async
			// links; L2TP carries frames without HDLC-like framing (RFC
			// 2661 section 5; an LNS passes ACCM to the LAC in the
			// Set-Link-Info of 4.4.6, never to us), so it is meaningless
			// here and acking it changes nothing.
			if len(o.Data) != 4 {
				rej = o.Append(rej)
			}
		case lcpPFC, lcpACFC:
			// RFC 1661 6.5 and 6.6: acking lets the peer compress what it
			// sends us; ParseFrame decodes frames with or without the
			// Address/Control field and with a 1- or 2-byte Protocol
			// either way. We never ask for them and keep sending FF 03 and
			// 2-byte protocols, which is always legal.
			if len(o.Data) != 0 {
				rej = o.Append(rej)
			}
		case lcpAuthProtocol:
			var err error
			if rej, nak, err = auth(o, rejectNaks, rej, nak); err != nil {
				return 0, nil, err
			}
		case lcpMagicNumber:
			if len(o.Data) != 4 {
				rej = o.Append(rej)
				break
			}
			v := binary.BigEndian.Uint32(o.Data)
			if v != 0 && !(h.sendMagic && v == h.magic) {
				h.peerMagic = v
				break
			}
			// RFC 1661 6.4: zero is illegal; our own number means the
			// link may be looped back. Nak with a different number and
			// pick a new one for ourselves.
			if rejectNaks {
				if v == 0 {
					rej = o.Append(rej)
					break
				}
				return 0, nil, &NegotiationError{Protocol: ProtoLCP, Reason: "the link is looped back: our own Magic-Number keeps coming back"}
			}
			if v != 0 {
				h.magic = h.c.randUint32()
			}
			s := h.c.randUint32()
			for s == h.magic || s == v {
				s = h.c.randUint32()
			}
			nak = Option{Type: lcpMagicNumber, Data: binary.BigEndian.AppendUint32(nil, s)}.Append(nak)
		default:
			// Quality-Protocol, Callback (RFC 1570: a client cannot be
			// called back through a tunnel), the multilink options of RFC
			// 1990 (MRRU, Short Sequence, Endpoint Discriminator: one
			// link, no bundle) and anything unknown.
			rej = o.Append(rej)
		}
	}
	return verdict(rej, nak)
}

// takeAck takes the values of our acked request.
func (h *lcpOptions) takeAck() {
	h.localMRU = defaultMRU
	if h.sendMRU {
		h.localMRU = h.mru
	}
	h.magicOK = h.sendMagic
}

// takeNak adjusts our MRU and Magic-Number to the peer's Nak; auth, if
// not nil, takes a Nak'd Authentication-Protocol. Other options the peer
// would like us to ask for: we don't.
func (h *lcpOptions) takeNak(opts []byte, auth func(o Option) error) error {
	for o := range options(opts) {
		switch {
		case o.Type == lcpAuthProtocol && auth != nil:
			if err := auth(o); err != nil {
				return err
			}
		case o.Type == lcpMRU && len(o.Data) == 2:
			if v := binary.BigEndian.Uint16(o.Data); v >= minMRU && v <= defaultMRU {
				h.mru, h.sendMRU = v, v != defaultMRU
			} else {
				h.sendMRU = false // fall back to the default
			}
		case o.Type == lcpMagicNumber && len(o.Data) == 4:
			old := h.magic
			for h.magic == old {
				h.magic = h.c.randUint32()
			}
			h.sendMagic = true
		}
	}
	return nil
}

// takeReject drops the rejected MRU or Magic-Number (SoftEther rejects
// it); authErr, if not nil, is the failure when the peer rejects our
// Authentication-Protocol.
func (h *lcpOptions) takeReject(opts []byte, authErr error) error {
	for o := range options(opts) {
		switch o.Type {
		case lcpAuthProtocol:
			if authErr != nil {
				return authErr
			}
		case lcpMRU:
			h.sendMRU = false
		case lcpMagicNumber:
			h.sendMagic = false
		}
	}
	return nil
}

func (h *lcpOptions) down()                  { h.c.lcpDown() }
func (h *lcpOptions) started()               {}
func (h *lcpOptions) finished(reason string) { h.c.lcpFinished(reason) }

// rxr handles Echo-Request, Echo-Reply and Discard-Request in the Opened
// state (RFC 1661 section 5.8).
func (h *lcpOptions) rxr(p Packet) {
	c := h.c
	magic := binary.BigEndian.Uint32(p.Data) // input checked the length
	if h.magicOK && magic == h.magic {
		c.log.Debug(c.tr.log+"lcp: our own Magic-Number in an echo packet: link looped back?", "code", p.Code)
		return
	}
	switch p.Code {
	case CodeEchoRequest:
		data := binary.BigEndian.AppendUint32(make([]byte, 0, len(p.Data)), h.ourMagic())
		data = append(data, p.Data[4:]...)
		c.stats.echoAnswered.Add(1)
		c.sendPacket(ProtoLCP, Packet{Code: CodeEchoReply, ID: p.ID, Data: data})
	case CodeEchoReply:
		c.echoReply()
	}
	// Discard-Request: nothing.
}

// protocolRejected handles the peer's Protocol-Reject of proto (RFC 1661
// section 5.7): catastrophic for LCP itself, the end of an NCP, and the
// role's business for the other protocols.
func (h *lcpOptions) protocolRejected(proto Protocol) bool {
	c := h.c
	c.log.Debug(c.tr.log+"lcp: the "+c.tr.peer+" rejected a protocol", "proto", proto)
	var a *automaton
	switch proto {
	case ProtoLCP:
		return true
	case ProtoIPCP:
		if c.phase != phaseNetwork {
			// The answer to our probe from a server still authenticating
			// us (SoftEther; see Link.probeNetwork): IPCP has not started.
			return false
		}
		a = c.ipcp
	case ProtoIPV6CP:
		a = c.ipv6cp
	default:
		c.role.protoRejected(proto)
	}
	if a != nil {
		a.why = "the " + c.tr.peer + " protocol-rejected " + proto.String()
		a.step(evRXJMinus)
	}
	return false
}

func (h *lcpOptions) codeRejected(code Code) {
	c := h.c
	if code == CodeEchoRequest {
		c.log.Debug(c.tr.log + "lcp: the " + c.tr.peer + " does not know Echo-Request; keepalive disabled")
		c.echo.disabled = true
		c.echo.t.stop()
	}
}

func (h *lcpOptions) terminateRequested(p Packet) { h.c.peerTerminated(p) }

// lcpLayer is the client's LCP: the shared options, and the
// Authentication-Protocol option the server asks for, which we take when
// it names a method we allow and else Nak with one we suggest.
type lcpLayer struct {
	lcpOptions
	l *Link

	auth AuthMethod // what the peer asked us to do, 0 = none

	// The peer's last Authentication-Protocol that we Nak'd, and how many
	// times in a row it asked for it again: picks the method we suggest.
	nakedAuth []byte
	authNaks  int
}

func newLCPLayer(l *Link) *lcpLayer {
	return &lcpLayer{lcpOptions: newLCPOptions(&l.linkCore, l.cfg.MRU), l: l}
}

func (h *lcpLayer) appendRequest(b []byte) []byte { return h.appendOwn(b) }

func (h *lcpLayer) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	h.auth = 0
	return h.classify(opts, rejectNaks, rej, h.checkAuth)
}

// checkAuth judges the server's Authentication-Protocol option.
func (h *lcpLayer) checkAuth(o Option, rejectNaks bool, rej, nak []byte) ([]byte, []byte, error) {
	m, name := authOption(o.Data)
	if m != 0 && containsMethod(h.l.cfg.Auth, m) {
		h.auth = m
		h.nakedAuth, h.authNaks = h.nakedAuth[:0], 0
		return rej, nak, nil
	}
	if rejectNaks {
		// Rejecting the option would only make the server give up
		// later; say now what went wrong.
		return nil, nil, &NoAuthMethodError{Requested: name, Method: m, Allowed: h.l.cfg.Auth}
	}
	suggest := h.suggestAuth(o.Data)
	h.l.log.Debug("ppp: lcp: server asks for an authentication method we do not allow", "asked", name, "allowed", authList(h.l.cfg.Auth), "suggested", suggest)
	return rej, authMethodOption(suggest).Append(nak), nil
}

func (h *lcpLayer) gotAck([]byte)               { h.takeAck() }
func (h *lcpLayer) gotNak(opts []byte) error    { return h.takeNak(opts, nil) }
func (h *lcpLayer) gotReject(opts []byte) error { return h.takeReject(opts, nil) }
func (h *lcpLayer) up()                         { h.l.lcpUp() }

// authOption decodes the data of an Authentication-Protocol option: the
// method if it is one we know, and a name for messages.
func authOption(d []byte) (AuthMethod, string) {
	if len(d) < 2 {
		return 0, "an invalid"
	}
	proto := Protocol(binary.BigEndian.Uint16(d))
	switch {
	case proto == ProtoPAP && len(d) == 2:
		return AuthPAP, "PAP"
	case proto == ProtoCHAP && len(d) == 3 && d[2] == 5:
		return AuthCHAPMD5, "CHAP-MD5"
	case proto == ProtoCHAP && len(d) == 3 && d[2] == 0x81:
		return AuthMSCHAPv2, "MS-CHAPv2"
	case proto == ProtoCHAP && len(d) == 3 && d[2] == 0x80:
		return 0, "MS-CHAPv1"
	case proto == ProtoCHAP && len(d) == 3:
		return 0, fmt.Sprintf("CHAP algorithm %d", d[2])
	case proto == ProtoEAP:
		return 0, "EAP"
	}
	return 0, proto.String()
}

// suggestAuth is the method we suggest in a Nak of the peer's
// Authentication-Protocol option data asked: the strongest allowed one
// (MS-CHAPv2, CHAP-MD5, PAP), and when the peer asks again for the same
// method, the next allowed one, in turn. A server that cannot do the method
// we name asks again for what it asked before, and some accept a Nak only
// towards a method they know: l2tpns ignores a Nak towards MS-CHAPv2 and
// accepts one towards CHAP-MD5, so naming only the strongest would never
// get there.
func (h *lcpLayer) suggestAuth(asked []byte) AuthMethod {
	allowed := make([]AuthMethod, 0, len(authPreference))
	for _, m := range authPreference {
		if containsMethod(h.l.cfg.Auth, m) {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 { // withDefaults never leaves Auth empty
		return AuthPAP
	}
	if len(h.nakedAuth) > 0 && bytes.Equal(asked, h.nakedAuth) {
		h.authNaks++
	} else {
		h.nakedAuth, h.authNaks = append(h.nakedAuth[:0], asked...), 0
	}
	return allowed[h.authNaks%len(allowed)]
}

func authMethodOption(m AuthMethod) Option {
	if m == AuthPAP {
		return Option{Type: lcpAuthProtocol, Data: []byte{0xc0, 0x23}}
	}
	return Option{Type: lcpAuthProtocol, Data: []byte{0xc2, 0x23, m.chapAlgorithm()}}
}
