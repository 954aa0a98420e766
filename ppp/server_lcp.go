package ppp

// LCP options on the authenticator's side (RFC 1661 section 6) and its
// keepalive (section 5.8).

import (
	"encoding/binary"
	"fmt"
)

// serverLCP asks for the Authentication-Protocol (RFC 1661 6.2), a
// Magic-Number and, if configured, an MRU; it takes the client's MRU and
// Magic-Number and refuses to authenticate itself.
type serverLCP struct {
	s *ServerLink

	offer   AuthMethod   // the method in our current request
	refused []AuthMethod // methods the client Nak'd since LCP was last up
	acked   AuthMethod   // the method the client acked

	mru       uint16
	sendMRU   bool
	magic     uint32
	sendMagic bool

	localMRU  uint16 // what the client acked for us
	magicOK   bool
	peerMRU   uint16 // the MRU the client asked for
	peerMagic uint32
}

func newServerLCP(s *ServerLink) *serverLCP {
	h := &serverLCP{s: s, offer: s.cfg.Auth[0], localMRU: defaultMRU, peerMRU: defaultMRU, sendMagic: true}
	if m := s.cfg.MRU; m != 0 && m != defaultMRU {
		h.mru, h.sendMRU = m, true
	}
	return h
}

func (h *serverLCP) ourMagic() uint32 {
	if h.magicOK {
		return h.magic
	}
	return 0
}

func (h *serverLCP) appendRequest(b []byte) []byte {
	b = authMethodOption(h.offer).Append(b)
	if h.sendMRU {
		b = append(b, lcpMRU, 4)
		b = binary.BigEndian.AppendUint16(b, h.mru)
	}
	if h.sendMagic {
		if h.magic == 0 {
			h.magic = h.s.randUint32()
		}
		b = append(b, lcpMagicNumber, 6)
		b = binary.BigEndian.AppendUint32(b, h.magic)
	}
	return b
}

// checkRequest classifies the client's options. ACCM, PFC and ACFC are
// acked for the same reasons as on the client side (see lcpLayer). The
// Authentication-Protocol option, EAP or any other, is rejected: the
// client would have us authenticate ourselves, and we have no secret of
// our own to do it with (pppd Configure-Rejects it in that case too).
func (h *serverLCP) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	var nak []byte
	h.peerMRU, h.peerMagic = defaultMRU, 0
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b) // the automaton checked the list
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
			if len(o.Data) != 4 {
				rej = o.Append(rej)
			}
		case lcpPFC, lcpACFC:
			if len(o.Data) != 0 {
				rej = o.Append(rej)
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
			// RFC 1661 6.4: zero is illegal, our own may mean a loop.
			if rejectNaks {
				if v == 0 {
					rej = o.Append(rej)
					break
				}
				return 0, nil, &NegotiationError{Protocol: ProtoLCP, Reason: "the link is looped back: our own Magic-Number keeps coming back"}
			}
			if v != 0 {
				h.magic = h.s.randUint32()
			}
			n := h.s.randUint32()
			for n == h.magic || n == v {
				n = h.s.randUint32()
			}
			nak = Option{Type: lcpMagicNumber, Data: binary.BigEndian.AppendUint32(nil, n)}.Append(nak)
		case lcpAuthProtocol:
			_, name := authOption(o.Data)
			h.s.log.Debug("ppp: server: lcp: the client asks us to authenticate ourselves; rejected", "asked", name)
			rej = o.Append(rej)
		default:
			// Quality-Protocol, Callback, the multilink options and
			// anything unknown, as on the client side.
			rej = o.Append(rej)
		}
	}
	switch {
	case len(rej) > 0:
		return CodeConfigureReject, rej, nil
	case len(nak) > 0:
		return CodeConfigureNak, nak, nil
	}
	return CodeConfigureAck, nil, nil
}

func (h *serverLCP) gotAck([]byte) {
	h.localMRU = defaultMRU
	if h.sendMRU {
		h.localMRU = h.mru
	}
	h.magicOK = h.sendMagic
	h.acked = h.offer
}

// gotNak adjusts our request. A Nak of the Authentication-Protocol names
// the method the client would rather use: we take it if it is allowed
// here and not yet refused, else offer the next allowed method in our
// order; EAP and unknown methods are never taken. With every allowed method
// refused the negotiation fails.
func (h *serverLCP) gotNak(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		switch {
		case o.Type == lcpAuthProtocol:
			if !containsMethod(h.refused, h.offer) {
				h.refused = append(h.refused, h.offer)
			}
			want, name := authOption(o.Data)
			next := AuthMethod(0)
			if want != 0 && containsMethod(h.s.cfg.Auth, want) && !containsMethod(h.refused, want) {
				next = want
			} else {
				for _, m := range h.s.cfg.Auth {
					if !containsMethod(h.refused, m) {
						next = m
						break
					}
				}
			}
			if next == 0 {
				return &NegotiationError{Protocol: ProtoLCP, Reason: fmt.Sprintf(
					"the client refused every authentication method allowed here (%s); it asked for %s", authList(h.s.cfg.Auth), name)}
			}
			h.s.log.Debug("ppp: server: lcp: the client refused an authentication method", "refused", h.offer, "asked", name, "offering", next)
			h.offer = next
		case o.Type == lcpMRU && len(o.Data) == 2:
			if v := binary.BigEndian.Uint16(o.Data); v >= minMRU && v <= defaultMRU {
				h.mru, h.sendMRU = v, v != defaultMRU
			} else {
				h.sendMRU = false
			}
		case o.Type == lcpMagicNumber && len(o.Data) == 4:
			old := h.magic
			for h.magic == old {
				h.magic = h.s.randUint32()
			}
			h.sendMagic = true
		}
	}
	return nil
}

func (h *serverLCP) gotReject(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		switch o.Type {
		case lcpAuthProtocol:
			return &NegotiationError{Protocol: ProtoLCP, Reason: "the client refuses to authenticate (it Configure-Rejected the Authentication-Protocol option)"}
		case lcpMRU:
			h.sendMRU = false
		case lcpMagicNumber:
			h.sendMagic = false
		}
	}
	return nil
}

func (h *serverLCP) up() {
	h.refused = h.refused[:0]
	h.s.lcpUp()
}
func (h *serverLCP) down()                  { h.s.lcpDown() }
func (h *serverLCP) started()               {}
func (h *serverLCP) finished(reason string) { h.s.lcpFinished(reason) }

// rxr handles Echo-Request, Echo-Reply and Discard-Request while Opened.
func (h *serverLCP) rxr(p Packet) {
	magic := binary.BigEndian.Uint32(p.Data) // input checked the length
	if h.magicOK && magic == h.magic {
		h.s.log.Debug("ppp: server: lcp: our own Magic-Number in an echo packet: link looped back?", "code", p.Code)
		return
	}
	switch p.Code {
	case CodeEchoRequest:
		data := binary.BigEndian.AppendUint32(make([]byte, 0, len(p.Data)), h.ourMagic())
		data = append(data, p.Data[4:]...)
		h.s.stats.echoAnswered.Add(1)
		h.s.sendPacket(ProtoLCP, Packet{Code: CodeEchoReply, ID: p.ID, Data: data})
	case CodeEchoReply:
		h.s.stats.echoReceived.Add(1)
		h.s.echo.pending = 0
	}
}

func (h *serverLCP) protocolRejected(proto Protocol) bool {
	s := h.s
	s.log.Debug("ppp: server: lcp: the client rejected a protocol", "proto", proto)
	switch proto {
	case ProtoLCP:
		return true
	case ProtoIPCP:
		s.ipcp.why = "the client protocol-rejected IPCP"
		s.ipcp.step(evRXJMinus)
	case ProtoIPV6CP:
		if s.ipv6cp != nil {
			s.ipv6cp.why = "the client protocol-rejected IPV6CP"
			s.ipv6cp.step(evRXJMinus)
		}
	case ProtoPAP, ProtoCHAP:
		if s.auth.active {
			s.authFailed(&NegotiationError{Protocol: ProtoLCP, Reason: "the client protocol-rejected " + proto.String() + ", which it acked"})
		}
	}
	return false
}

func (h *serverLCP) codeRejected(c Code) {
	if c == CodeEchoRequest {
		h.s.log.Debug("ppp: server: lcp: the client does not know Echo-Request; keepalive disabled")
		h.s.echo.disabled = true
		h.s.echo.t.stop()
	}
}

func (h *serverLCP) terminateRequested(p Packet) { h.s.peerTerminated(p) }

// echoStart starts the keepalive: an Echo-Request every EchoInterval; the
// link is dead when EchoFailures of them in a row saw nothing at all come
// back (neither a reply nor any other frame, data included).
func (s *ServerLink) echoStart() {
	s.echo.pending = 0
	s.echo.rxMark = s.rxSeen.Load()
	if s.cfg.EchoInterval > 0 && !s.echo.disabled {
		s.echo.t.start(s.cfg.EchoInterval)
	}
}

func (s *ServerLink) echoTick() {
	if s.lcp.state != stateOpened {
		return
	}
	if s.rxSeen.Load() != s.echo.rxMark {
		s.echo.pending = 0
	}
	if s.echo.pending >= s.cfg.EchoFailures {
		s.failNow(&EchoTimeoutError{Count: s.echo.pending})
		return
	}
	s.echo.pending++
	s.echo.rxMark = s.rxSeen.Load()
	s.stats.echoSent.Add(1)
	data := binary.BigEndian.AppendUint32(make([]byte, 0, 4), s.lcpL.ourMagic())
	s.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: s.lcp.newID(), Data: data})
	s.echo.t.start(s.cfg.EchoInterval)
}
