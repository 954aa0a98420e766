package ppp

// The PPP half of `l2tpvpn probe`: which authentication methods a server
// offers, found with LCP alone (RFC 1661 section 5), without ever sending a
// password or a CHAP response. The server's Configure-Request names the
// method it wants first in its Authentication-Protocol option (6.2). We
// answer with a Configure-Nak suggesting another method (MS-CHAPv2,
// CHAP-MD5, PAP, EAP in turn, skipping those it already named): a server
// that can do it asks again with that method, one that cannot asks again
// for what it wanted (or moves to its next method). The methods it asks
// for, in the order it asks, are its offer in its order of preference. We
// never Configure-Ack its request, so LCP never opens and authentication
// never starts; the caller ends with Terminate.

import (
	"encoding/binary"
	"slices"
)

// AuthOffer is one method a server asked for.
type AuthOffer struct {
	Name   string     // "MS-CHAPv2", "CHAP-MD5", "PAP", "EAP", "MS-CHAPv1", ...
	Method AuthMethod // 0 for one we do not implement (EAP, MS-CHAPv1)
}

// probeAlternatives are the methods a probe suggests, in turn.
var probeAlternatives = []struct {
	name string
	data []byte
}{
	{"MS-CHAPv2", []byte{0xc2, 0x23, 0x81}},
	{"CHAP-MD5", []byte{0xc2, 0x23, 5}},
	{"PAP", []byte{0xc0, 0x23}},
	{"EAP", []byte{0xc2, 0x27}},
}

// AuthProbe is the LCP side of the probe. It is not safe for concurrent
// use. Send Request first, hand every PPP frame from the server to Input
// and send what it returns; call Timeout when the server has been silent
// for the probe's per-message timeout; stop when Done, then send Terminate.
type AuthProbe struct {
	magic   uint32
	id      uint8 // our last Configure-Request's Identifier
	offers  []AuthOffer
	tried   []string // alternatives suggested so far
	lastID  uint8    // the server's last Configure-Request
	haveReq bool
	done    bool
	noAuth  bool // the server asked for no authentication at all
}

// NewAuthProbe returns a probe whose Configure-Request carries magic as
// its Magic-Number (nonzero, RFC 1661 6.4).
func NewAuthProbe(magic uint32) *AuthProbe { return &AuthProbe{magic: magic} }

// Request is our Configure-Request, a whole PPP frame: only a
// Magic-Number, so the server has nothing to object to.
func (p *AuthProbe) Request() []byte {
	p.id++
	var opts []byte
	if p.magic != 0 {
		opts = Option{Type: lcpMagicNumber, Data: binary.BigEndian.AppendUint32(nil, p.magic)}.Append(nil)
	}
	return lcpFrame(Packet{Code: CodeConfigureRequest, ID: p.id, Data: opts})
}

// Terminate is an LCP Terminate-Request, a whole PPP frame.
func (p *AuthProbe) Terminate() []byte {
	p.id++
	return lcpFrame(Packet{Code: CodeTerminateRequest, ID: p.id})
}

func lcpFrame(pk Packet) []byte {
	b := make([]byte, HeaderLen, HeaderLen+pk.Len())
	PutHeader(b, ProtoLCP)
	return pk.Append(b)
}

// Done says the probe has learned all it can.
func (p *AuthProbe) Done() bool { return p.done }

// Offers are the methods the server asked for, in the order it asked.
func (p *AuthProbe) Offers() []AuthOffer { return slices.Clone(p.offers) }

// NoAuth says the server asked for no authentication at all.
func (p *AuthProbe) NoAuth() bool { return p.noAuth }

// Asked says whether a Configure-Request of the server's has arrived.
func (p *AuthProbe) Asked() bool { return p.haveReq }

// Input takes one PPP frame from the server and returns the frames to send
// in answer (nil: none).
func (p *AuthProbe) Input(frame []byte) [][]byte {
	proto, info, err := ParseFrame(frame)
	if err != nil || proto != ProtoLCP || p.done {
		return nil
	}
	pk, err := ParsePacket(info)
	if err != nil {
		return nil
	}
	switch pk.Code {
	case CodeConfigureRequest:
		return p.request(pk)
	case CodeConfigureNak, CodeConfigureReject:
		if pk.ID != p.id {
			return nil
		}
		// The server objects to our Magic-Number: ask with nothing.
		p.magic = 0
		return [][]byte{p.Request()}
	case CodeTerminateRequest:
		p.done = true
		return [][]byte{lcpFrame(Packet{Code: CodeTerminateAck, ID: pk.ID})}
	}
	return nil
}

// request takes the server's Configure-Request: it records the method it
// asks for and Naks it with the next alternative.
func (p *AuthProbe) request(pk Packet) [][]byte {
	if checkOptions(pk.Data) != nil {
		return nil
	}
	var auth []byte
	found := false
	for o := range options(pk.Data) {
		if o.Type == lcpAuthProtocol {
			auth, found = o.Data, true
		}
	}
	first := !p.haveReq
	p.haveReq, p.lastID = true, pk.ID
	if !found {
		// No authentication asked for: at first, the server's whole
		// offer; after a Nak, it has given up asking.
		p.noAuth = first
		p.done = true
		return nil
	}
	m, name := authOption(auth)
	if !slices.ContainsFunc(p.offers, func(o AuthOffer) bool { return o.Name == name }) {
		p.offers = append(p.offers, AuthOffer{Name: name, Method: m})
	}
	return p.nakNext()
}

// nakNext Naks the server's last request with the next alternative, or
// ends the probe when none is left.
func (p *AuthProbe) nakNext() [][]byte {
	for _, alt := range probeAlternatives {
		if slices.Contains(p.tried, alt.name) || slices.ContainsFunc(p.offers, func(o AuthOffer) bool { return o.Name == alt.name }) {
			continue
		}
		p.tried = append(p.tried, alt.name)
		opt := Option{Type: lcpAuthProtocol, Data: alt.data}
		return [][]byte{lcpFrame(Packet{Code: CodeConfigureNak, ID: p.lastID, Data: opt.Append(nil)})}
	}
	p.done = true
	return nil
}

// Timeout is called when the server has not answered for the probe's
// per-message timeout. Before its first request it sends our request
// again; after a Nak the suggestion counts as refused and the next one
// goes out. It returns the frames to send.
func (p *AuthProbe) Timeout() [][]byte {
	if p.done {
		return nil
	}
	if !p.haveReq {
		return [][]byte{p.Request()}
	}
	return p.nakNext()
}
