package ike

// The Security Association payload, RFC 2408 3.4, with the IPsec DOI
// situation (RFC 2407 4.6.1), and its Proposal (3.5) and Transform (3.6)
// payloads:
//
//	SA body:        DOI (4) | Situation (4) | Proposal payloads
//	Proposal:       generic header | Proposal # | Protocol-Id | SPI Size |
//	                # of Transforms | SPI | Transform payloads
//	Transform:      generic header | Transform # | Transform-Id | RESERVED2 (2) |
//	                SA Attributes
//
// Proposals with the same number are alternatives ANDed together (RFC 2408
// 4.2); the codec keeps them in wire order and does not interpret numbers.

import (
	"encoding/binary"
	"strconv"
)

// DOIIPsec is the IPsec domain of interpretation (RFC 2407 4.2).
const DOIIPsec = 1

// SituationIdentityOnly is SIT_IDENTITY_ONLY (RFC 2407 4.2).
const SituationIdentityOnly = 1

// Situation bits this codec does not decode: they add labeled-domain fields
// after the situation (RFC 2407 4.6.1).
const situationSecrecyIntegrity = 0x2 | 0x4

// ProtocolID is the protocol of a proposal, notification or deletion
// (RFC 2407 4.4.1).
type ProtocolID uint8

// Protocol IDs.
const (
	ProtoISAKMP ProtocolID = 1
	ProtoAH     ProtocolID = 2
	ProtoESP    ProtocolID = 3
	ProtoIPComp ProtocolID = 4
)

func (p ProtocolID) String() string {
	switch p {
	case 0:
		return "NONE"
	case ProtoISAKMP:
		return "ISAKMP"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	case ProtoIPComp:
		return "IPCOMP"
	}
	return "PROTO(" + strconv.Itoa(int(p)) + ")"
}

// SA is the Security Association payload.
type SA struct {
	DOI       uint32
	Situation uint32
	Proposals []Proposal
	// Raw is the SA payload body exactly as received (set by the decoder
	// only): SAi_b in the HASH_I/HASH_R computation of RFC 2409 5. Append
	// ignores it and encodes the fields. It aliases the input.
	Raw []byte
}

// Proposal is a Proposal payload inside an SA.
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte // empty in phase 1 (RFC 2409 5), 4 bytes for ESP/AH
	Transforms []Transform
}

// Transform is a Transform payload inside a Proposal. ID is the transform ID,
// whose meaning depends on the protocol (KEY_IKE = 1 for ISAKMP, RFC 2407 4.4.2
// for ESP).
type Transform struct {
	Number     uint8
	ID         uint8
	Attributes []Attribute
}

// TransformKeyIKE is the transform ID of every phase 1 transform.
const TransformKeyIKE = 1

// Type returns PayloadSA.
func (s *SA) Type() PayloadType { return PayloadSA }

func parseSA(b []byte) (*SA, error) {
	if len(b) < 8 {
		return nil, malformed(PayloadSA, "%d bytes, shorter than DOI and situation", len(b))
	}
	s := &SA{
		DOI:       binary.BigEndian.Uint32(b[0:4]),
		Situation: binary.BigEndian.Uint32(b[4:8]),
		Raw:       b,
	}
	if s.DOI != DOIIPsec {
		return nil, &UnsupportedError{What: "SA domain of interpretation " + strconv.FormatUint(uint64(s.DOI), 10)}
	}
	if s.Situation&situationSecrecyIntegrity != 0 {
		return nil, &UnsupportedError{What: "SA situation 0x" + strconv.FormatUint(uint64(s.Situation), 16)}
	}
	rest := b[8:]
	if len(rest) == 0 {
		return nil, malformed(PayloadSA, "no proposal")
	}
	for len(rest) > 0 {
		if len(rest) < genericHeaderLen+4 {
			return nil, malformed(PayloadProposal, "%d bytes, shorter than its fixed part", len(rest))
		}
		next := PayloadType(rest[0])
		n := int(binary.BigEndian.Uint16(rest[2:4]))
		if n < genericHeaderLen+4 || n > len(rest) {
			return nil, malformed(PayloadProposal, "payload length %d out of range (%d bytes left)", n, len(rest))
		}
		p, err := parseProposal(rest[genericHeaderLen:n])
		if err != nil {
			return nil, err
		}
		s.Proposals = append(s.Proposals, p)
		rest = rest[n:]
		switch {
		case next == PayloadNone && len(rest) != 0:
			return nil, malformed(PayloadSA, "%d bytes after the last proposal", len(rest))
		case next == PayloadProposal && len(rest) == 0:
			return nil, malformed(PayloadSA, "last proposal announces another one")
		case next != PayloadNone && next != PayloadProposal:
			return nil, malformed(PayloadProposal, "next payload %s inside an SA", next)
		}
	}
	return s, nil
}

func parseProposal(b []byte) (Proposal, error) {
	// b is the body after the generic header; len(b) >= 4 is checked by the caller.
	p := Proposal{Number: b[0], Protocol: ProtocolID(b[1])}
	spiSize := int(b[2])
	count := int(b[3])
	b = b[4:]
	if spiSize > len(b) {
		return p, malformed(PayloadProposal, "SPI size %d runs past the proposal", spiSize)
	}
	p.SPI = b[:spiSize]
	b = b[spiSize:]
	p.Transforms = make([]Transform, 0, min(count, len(b)/(genericHeaderLen+4)))
	for i := 0; i < count; i++ {
		if len(b) < genericHeaderLen+4 {
			return p, malformed(PayloadTransform, "transform %d of %d truncated (%d bytes left)", i+1, count, len(b))
		}
		next := PayloadType(b[0])
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < genericHeaderLen+4 || n > len(b) {
			return p, malformed(PayloadTransform, "payload length %d out of range (%d bytes left)", n, len(b))
		}
		last := i == count-1
		if (last && next != PayloadNone) || (!last && next != PayloadTransform) {
			return p, malformed(PayloadTransform, "next payload %s for transform %d of %d", next, i+1, count)
		}
		t, err := parseTransform(b[genericHeaderLen:n])
		if err != nil {
			return p, err
		}
		p.Transforms = append(p.Transforms, t)
		b = b[n:]
	}
	if len(b) != 0 {
		return p, malformed(PayloadProposal, "%d bytes after %d transforms", len(b), count)
	}
	return p, nil
}

func parseTransform(b []byte) (Transform, error) {
	t := Transform{Number: b[0], ID: b[1]}
	attrs, err := parseAttributes(b[4:])
	if err != nil {
		return t, err
	}
	t.Attributes = attrs
	return t, nil
}

// AppendBody appends the SA body (DOI, situation, proposals) to b.
func (s *SA) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, s.DOI)
	b = binary.BigEndian.AppendUint32(b, s.Situation)
	for i := range s.Proposals {
		next := PayloadProposal
		if i == len(s.Proposals)-1 {
			next = PayloadNone
		}
		b = s.Proposals[i].append(b, next)
	}
	return b
}

func (p *Proposal) append(b []byte, next PayloadType) []byte {
	start := len(b)
	b = append(b, byte(next), 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
	b = append(b, p.SPI...)
	for i := range p.Transforms {
		tnext := PayloadTransform
		if i == len(p.Transforms)-1 {
			tnext = PayloadNone
		}
		b = p.Transforms[i].append(b, tnext)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

func (t *Transform) append(b []byte, next PayloadType) []byte {
	start := len(b)
	b = append(b, byte(next), 0, 0, 0, t.Number, t.ID, 0, 0)
	b = appendAttributes(b, t.Attributes)
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// Attribute returns the first attribute of type typ and whether there is one.
func (t *Transform) Attribute(typ AttributeType) (Attribute, bool) {
	for _, a := range t.Attributes {
		if a.Type == typ {
			return a, true
		}
	}
	return Attribute{}, false
}
