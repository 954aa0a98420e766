package l2tp

import (
	"encoding/binary"
	"strconv"
)

// A control message (RFC 2661 3.2, 4.4.1) is the header with T, L and S set
// followed by AVPs, the first of which is the Message Type AVP. A message with
// no AVPs at all is a ZLB (zero-length body) acknowledgement (5.8).

// MessageType is the value of the Message Type AVP (RFC 2661 3.2).
type MessageType uint16

// Control message types, RFC 2661 3.2.
const (
	ZLB     MessageType = 0 // no Message Type AVP: a zero-length body acknowledgement
	SCCRQ   MessageType = 1
	SCCRP   MessageType = 2
	SCCCN   MessageType = 3
	StopCCN MessageType = 4
	HELLO   MessageType = 6
	OCRQ    MessageType = 7
	OCRP    MessageType = 8
	OCCN    MessageType = 9
	ICRQ    MessageType = 10
	ICRP    MessageType = 11
	ICCN    MessageType = 12
	CDN     MessageType = 14
	WEN     MessageType = 15
	SLI     MessageType = 16
)

var messageNames = [...]string{
	ZLB:     "ZLB",
	SCCRQ:   "SCCRQ",
	SCCRP:   "SCCRP",
	SCCCN:   "SCCCN",
	StopCCN: "StopCCN",
	HELLO:   "HELLO",
	OCRQ:    "OCRQ",
	OCRP:    "OCRP",
	OCCN:    "OCCN",
	ICRQ:    "ICRQ",
	ICRP:    "ICRP",
	ICCN:    "ICCN",
	CDN:     "CDN",
	WEN:     "WEN",
	SLI:     "SLI",
}

func (t MessageType) String() string {
	if int(t) < len(messageNames) && messageNames[t] != "" {
		return messageNames[t]
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether RFC 2661 defines t as a message type (0 is reserved).
func (t MessageType) known() bool {
	return t != ZLB && int(t) < len(messageNames) && messageNames[t] != ""
}

// sessionScoped reports whether t is a call management message, which belongs
// to a session rather than to the tunnel (RFC 2661 3.2).
func (t MessageType) sessionScoped() bool {
	return t >= OCRQ && t <= SLI
}

// Message is a decoded control message. AVPs holds every AVP in wire order,
// the Message Type AVP first; Type is its value. A ZLB has Type 0 and no AVPs.
type Message struct {
	Header Header
	Type   MessageType
	AVPs   []AVP
}

// NewMessage starts a control message of type t (with its Message Type AVP,
// M bit set) addressed to the peer's tunnel and session IDs.
func NewMessage(t MessageType, tunnelID, sessionID uint16) Message {
	m := Message{
		Header: Header{Control: true, HasLength: true, HasSequence: true, Version: versionV2,
			TunnelID: tunnelID, SessionID: sessionID},
		Type: t,
	}
	if t != ZLB {
		m.AVPs = append(m.AVPs, Uint16AVP(AVPMessageType, true, uint16(t)))
	}
	return m
}

// ParseMessage decodes one control message: the header (see ParseHeader; it
// must be a control message) and the AVP chain. Every AVP length is checked
// against the minimum of 6 and the bytes left, so a bad length is an error and
// never mis-parses what follows; unknown AVPs are kept, skipped by length. The
// first AVP must be an unhidden Message Type AVP. If secret is non-nil, hidden
// AVPs are revealed (their values are then new slices); with a nil secret they
// stay hidden. All other value slices alias b.
//
// ParseMessage does not judge unknown mandatory AVPs; see CheckMandatory.
func ParseMessage(b []byte, secret []byte) (Message, error) {
	var m Message
	h, p, err := ParseHeader(b)
	if err != nil {
		return m, err
	}
	if !h.Control {
		return m, malformed("data message where a control message was expected")
	}
	m.Header = h
	if len(p) == 0 {
		return m, nil // ZLB
	}
	n := 0
	for q := p; len(q) > 0; n++ {
		if len(q) < avpHeaderLen {
			break
		}
		l := int(binary.BigEndian.Uint16(q) & avpLengthMask)
		if l < avpHeaderLen || l > len(q) {
			break
		}
		q = q[l:]
	}
	m.AVPs = make([]AVP, 0, n)
	for len(p) > 0 {
		var a AVP
		a, p, err = parseAVP(p)
		if err != nil {
			return Message{}, err
		}
		m.AVPs = append(m.AVPs, a)
	}
	first := &m.AVPs[0]
	if first.Vendor != 0 || first.Type != AVPMessageType {
		return Message{}, malformed("first AVP is %s (vendor %d), not Message Type", first.Type, first.Vendor)
	}
	if first.Hidden {
		return Message{}, malformed("Message Type AVP is hidden")
	}
	t, err := first.Uint16()
	if err != nil {
		return Message{}, err
	}
	m.Type = MessageType(t)
	if secret != nil {
		if err := m.Reveal(secret); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

// needsTypeAVP reports whether Append must write a Message Type AVP that the
// AVP list lacks.
func (m *Message) needsTypeAVP() bool {
	if m.Type == ZLB && len(m.AVPs) == 0 {
		return false
	}
	return len(m.AVPs) == 0 || m.AVPs[0].Vendor != 0 || m.AVPs[0].Type != AVPMessageType
}

// Len is the encoded length of m.
func (m *Message) Len() int {
	n := controlHeaderLen
	if m.needsTypeAVP() {
		n += avpHeaderLen + 2
	}
	for i := range m.AVPs {
		n += m.AVPs[i].Len()
	}
	return n
}

// Append appends the encoded message to b. The header is written as a control
// header (T, L, S set; O, P clear; version 2) with Length computed, Tunnel ID,
// Session ID, Ns and Nr from m.Header. AVPs are written in order (hidden ones as
// they are: hide them first with AVP.Hide or Message.Hide); if the list does
// not start with a Message Type AVP, one for m.Type (M set) is written first.
func (m *Message) Append(b []byte) []byte {
	h := m.Header
	h.Control, h.HasLength, h.HasSequence, h.HasOffset, h.Priority = true, true, true, false, false
	h.Version = versionV2
	h.Length = uint16(m.Len())
	b = h.Append(b)
	if m.needsTypeAVP() {
		a := Uint16AVP(AVPMessageType, true, uint16(m.Type))
		b = a.Append(b)
	}
	for i := range m.AVPs {
		b = m.AVPs[i].Append(b)
	}
	return b
}

// Find returns the first AVP of type t with Vendor ID 0.
func (m *Message) Find(t AVPType) (AVP, bool) {
	for _, a := range m.AVPs {
		if a.Vendor == 0 && a.Type == t {
			return a, true
		}
	}
	return AVP{}, false
}

// Add appends AVPs to the message.
func (m *Message) Add(a ...AVP) { m.AVPs = append(m.AVPs, a...) }

// CheckMandatory returns an *UnknownMandatoryError if m is of an unknown type
// with the M bit set on its Message Type AVP (RFC 2661 4.4.1: the tunnel must
// be cleared), or carries an unrecognized AVP with the M bit set (4.1: the
// session or tunnel must be cleared). Unknown AVPs without the M bit are fine.
// An unknown message type without the M bit returns nil: it is to be ignored,
// which the caller can see from its type.
func (m *Message) CheckMandatory() error {
	if len(m.AVPs) == 0 {
		return nil
	}
	if !m.Type.known() {
		if m.AVPs[0].Mandatory {
			return &UnknownMandatoryError{Message: m.Type, Type: AVPMessageType}
		}
		return nil
	}
	for i := range m.AVPs[1:] {
		a := &m.AVPs[1+i]
		if a.Mandatory && !a.recognized() {
			return &UnknownMandatoryError{Message: m.Type, Vendor: a.Vendor, Type: a.Type}
		}
	}
	return nil
}
