package vpn

// The PPP server side of the fake LNS (fakelns_test.go): it asks for
// CHAP-MD5 in its LCP Configure-Request and acks the client's, challenges
// once LCP is open, checks the response against its password, then asks
// for its own IPCP address and hands the client one by Nak-ing 0.0.0.0
// (RFC 1332 3.3; the secondary DNS is rejected, the primary Nak'd, RFC
// 1877). It answers Echo-Requests and Terminate-Requests. Everything runs
// with fakeLNS.mu held.

import (
	"crypto/md5"
	"net/netip"

	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// The addresses the fake hands out.
var (
	lnsPPPAddr    = netip.MustParseAddr("10.9.0.1")  // the server's end of the link
	clientPPPAddr = netip.MustParseAddr("10.9.0.2")  // assigned to the client
	lnsDNS        = netip.MustParseAddr("10.9.0.53") // primary DNS
)

// lnsMagic is the fake's LCP Magic-Number.
var lnsMagic = []byte{0x4c, 0x4e, 0x53, 0x21}

// PPP option types used here (RFC 1661 6, RFC 1332 3, RFC 1877).
const (
	optAuthProtocol = 3
	optMagic        = 5
	optIPAddress    = 3
	optPrimaryDNS   = 129
)

// fakePPP is the PPP state of the fake's current session.
type fakePPP struct {
	id                 uint8
	lcpReqID           uint8
	weAcked, theyAcked bool
	lcpOpen            bool
	chapID             uint8
	challenge          [16]byte
	authOK             bool
}

func (s *fakePPP) nextID() uint8 { s.id++; return s.id }

// pppStart sends our LCP Configure-Request once the session is up.
func (p *fakeLNS) pppStart() {
	s := &p.ppp
	s.lcpReqID = s.nextID()
	opts := ppp.AppendOptions(nil,
		ppp.Option{Type: optAuthProtocol, Data: []byte{0xc2, 0x23, 0x05}}, // CHAP with MD5
		ppp.Option{Type: optMagic, Data: lnsMagic},
	)
	p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeConfigureRequest, ID: s.lcpReqID, Data: opts})
}

func (p *fakeLNS) sendPacket(proto ppp.Protocol, pkt ppp.Packet) {
	p.sendData(proto, pkt.Append(nil))
}

// pppInput takes a PPP control frame of the session.
func (p *fakeLNS) pppInput(proto ppp.Protocol, info []byte) {
	switch proto {
	case ppp.ProtoLCP, ppp.ProtoIPCP:
		pkt, err := ppp.ParsePacket(info)
		if err != nil {
			p.t.Errorf("fake LNS: the client sent a malformed %v packet % x: %v", proto, info, err)
			return
		}
		p.record(proto.String() + " " + pkt.Code.String())
		if p.silent {
			return
		}
		if proto == ppp.ProtoLCP {
			p.lcp(pkt)
		} else {
			p.ipcp(pkt)
		}
	case ppp.ProtoCHAP:
		c, err := ppp.ParseCHAP(info)
		if err != nil {
			p.t.Errorf("fake LNS: the client sent a malformed CHAP packet % x: %v", info, err)
			return
		}
		p.record("CHAP " + c.Code.String())
		if !p.silent {
			p.chap(c)
		}
	default:
		p.record(proto.String())
		if !p.silent {
			s := &p.ppp
			data := append([]byte{byte(proto >> 8), byte(proto)}, info...)
			p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeProtocolReject, ID: s.nextID(), Data: data})
		}
	}
}

func (p *fakeLNS) lcp(pkt ppp.Packet) {
	s := &p.ppp
	switch pkt.Code {
	case ppp.CodeConfigureRequest:
		p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeConfigureAck, ID: pkt.ID, Data: pkt.Data})
		s.weAcked = true
		p.maybeLCPOpen()
	case ppp.CodeConfigureAck:
		if pkt.ID == s.lcpReqID {
			s.theyAcked = true
			p.maybeLCPOpen()
		}
	case ppp.CodeConfigureNak, ppp.CodeConfigureReject:
		p.t.Errorf("fake LNS: the client refused our LCP options: %v % x", pkt.Code, pkt.Data)
	case ppp.CodeEchoRequest:
		data := append([]byte(nil), lnsMagic...)
		if len(pkt.Data) > 4 {
			data = append(data, pkt.Data[4:]...)
		}
		p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeEchoReply, ID: pkt.ID, Data: data})
	case ppp.CodeTerminateRequest:
		p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeTerminateAck, ID: pkt.ID})
	}
}

// maybeLCPOpen challenges the client once both sides acked.
func (p *fakeLNS) maybeLCPOpen() {
	s := &p.ppp
	if s.lcpOpen || !s.weAcked || !s.theyAcked {
		return
	}
	s.lcpOpen = true
	s.chapID = s.nextID()
	for i := range s.challenge {
		s.challenge[i] = byte(i*13 + 7)
	}
	c := ppp.CHAPPacket{Code: ppp.CHAPChallenge, ID: s.chapID, Value: s.challenge[:], Name: []byte("fake-lns")}
	p.sendData(ppp.ProtoCHAP, c.Append(nil))
}

func (p *fakeLNS) chap(c ppp.CHAPPacket) {
	s := &p.ppp
	if c.Code != ppp.CHAPResponse || c.ID != s.chapID {
		p.t.Errorf("fake LNS: unexpected CHAP %v id %d (challenge id %d)", c.Code, c.ID, s.chapID)
		return
	}
	// RFC 1994 4.1: MD5(Identifier || secret || Challenge).
	h := md5.New()
	h.Write([]byte{c.ID})
	h.Write([]byte(p.password))
	h.Write(s.challenge[:])
	if string(c.Value) != string(h.Sum(nil)) {
		if p.terminateOnBadAuth {
			p.sendPacket(ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeTerminateRequest, ID: s.nextID()})
			return
		}
		r := ppp.CHAPPacket{Code: ppp.CHAPFailure, ID: c.ID, Message: []byte("Authentication failure")}
		p.sendData(ppp.ProtoCHAP, r.Append(nil))
		return
	}
	r := ppp.CHAPPacket{Code: ppp.CHAPSuccess, ID: c.ID, Message: []byte("Welcome")}
	p.sendData(ppp.ProtoCHAP, r.Append(nil))
	s.authOK = true
	opts := ppp.Option{Type: optIPAddress, Data: lnsPPPAddr.AsSlice()}.Append(nil)
	p.sendPacket(ppp.ProtoIPCP, ppp.Packet{Code: ppp.CodeConfigureRequest, ID: s.nextID(), Data: opts})
}

func (p *fakeLNS) ipcp(pkt ppp.Packet) {
	switch pkt.Code {
	case ppp.CodeConfigureRequest:
		opts, err := ppp.ParseOptions(pkt.Data, nil)
		if err != nil {
			p.t.Errorf("fake LNS: the client's IPCP request: %v", err)
			return
		}
		var nak, rej []byte
		for _, o := range opts {
			switch {
			case o.Type == optIPAddress && len(o.Data) == 4:
				if netip.AddrFrom4([4]byte(o.Data)) != clientPPPAddr {
					nak = ppp.Option{Type: o.Type, Data: clientPPPAddr.AsSlice()}.Append(nak)
				}
			case o.Type == optPrimaryDNS && len(o.Data) == 4:
				if netip.AddrFrom4([4]byte(o.Data)) != lnsDNS {
					nak = ppp.Option{Type: o.Type, Data: lnsDNS.AsSlice()}.Append(nak)
				}
			default: // the secondary DNS and anything else
				rej = o.Append(rej)
			}
		}
		switch {
		case len(rej) > 0:
			p.sendPacket(ppp.ProtoIPCP, ppp.Packet{Code: ppp.CodeConfigureReject, ID: pkt.ID, Data: rej})
		case len(nak) > 0:
			p.sendPacket(ppp.ProtoIPCP, ppp.Packet{Code: ppp.CodeConfigureNak, ID: pkt.ID, Data: nak})
		default:
			p.sendPacket(ppp.ProtoIPCP, ppp.Packet{Code: ppp.CodeConfigureAck, ID: pkt.ID, Data: pkt.Data})
		}
	case ppp.CodeTerminateRequest:
		p.sendPacket(ppp.ProtoIPCP, ppp.Packet{Code: ppp.CodeTerminateAck, ID: pkt.ID})
	}
}
