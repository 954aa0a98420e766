package ike

// The generic payload header, RFC 2408 3.2, and the payload chain:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	! Next Payload  !   RESERVED    !         Payload Length        !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Payload Length covers the generic header too.

import (
	"encoding/binary"
	"strconv"
)

// genericHeaderLen is the length of the generic payload header.
const genericHeaderLen = 4

// criticalBit is the high bit of the generic header's RESERVED byte. IKEv1
// (RFC 2408 3.2) requires the byte to be zero; we borrow IKEv2's meaning
// (RFC 7296 3.2) for unknown payloads: with the bit set, the message is
// rejected instead of the payload being skipped.
const criticalBit = 0x80

// PayloadType is the ISAKMP payload type (RFC 2408 3.1, RFC 3947 for NAT-D and
// NAT-OA, draft-ietf-ipsec-nat-t-ike-02/03 for the private-use numbers 130/131,
// [MS-IKEE] 2.2.3.1 for the IKE fragment, 132).
type PayloadType uint8

// Payload types.
const (
	PayloadNone       PayloadType = 0
	PayloadSA         PayloadType = 1
	PayloadProposal   PayloadType = 2
	PayloadTransform  PayloadType = 3
	PayloadKE         PayloadType = 4
	PayloadID         PayloadType = 5
	PayloadCert       PayloadType = 6
	PayloadCR         PayloadType = 7
	PayloadHash       PayloadType = 8
	PayloadSig        PayloadType = 9
	PayloadNonce      PayloadType = 10
	PayloadNotify     PayloadType = 11
	PayloadDelete     PayloadType = 12
	PayloadVendorID   PayloadType = 13
	PayloadNATD       PayloadType = 20  // RFC 3947
	PayloadNATOA      PayloadType = 21  // RFC 3947
	PayloadNATDDraft  PayloadType = 130 // draft-ietf-ipsec-nat-t-ike-02/03
	PayloadNATOADraft PayloadType = 131 // draft-ietf-ipsec-nat-t-ike-02/03
	PayloadFragment   PayloadType = 132 // IKE fragment (fragment.go)
)

// payloadNames are the short names charon uses in its message summaries.
var payloadNames = map[PayloadType]string{
	PayloadNone:       "NONE",
	PayloadSA:         "SA",
	PayloadProposal:   "PROP",
	PayloadTransform:  "TRANS",
	PayloadKE:         "KE",
	PayloadID:         "ID",
	PayloadCert:       "CERT",
	PayloadCR:         "CERTREQ",
	PayloadHash:       "HASH",
	PayloadSig:        "SIG",
	PayloadNonce:      "No",
	PayloadNotify:     "N",
	PayloadDelete:     "D",
	PayloadVendorID:   "V",
	PayloadNATD:       "NAT-D",
	PayloadNATOA:      "NAT-OA",
	PayloadNATDDraft:  "NAT-D(draft)",
	PayloadNATOADraft: "NAT-OA(draft)",
	PayloadFragment:   "FRAG",
}

func (p PayloadType) String() string {
	if s, ok := payloadNames[p]; ok {
		return s
	}
	return "PAYLOAD(" + strconv.Itoa(int(p)) + ")"
}

// Payload is one decoded payload of a message. The concrete types are *SA,
// *KeyExchange, *Identification, *Cert, *CertRequest, *Hash, *Signature,
// *Nonce, *Notify, *Delete, *VendorID, *NATD, *NATOA, *Fragment and
// *RawPayload.
type Payload interface {
	// Type is the payload type written into the previous next-payload field.
	Type() PayloadType
	// AppendBody appends the payload body, without the generic header, to b.
	AppendBody(b []byte) []byte
}

// RawPayload is a payload of a type this package does not decode. It is kept
// so that a message re-encodes to the same bytes. Body aliases the input.
type RawPayload struct {
	PayloadType PayloadType
	Body        []byte
}

// Type returns the payload type.
func (p *RawPayload) Type() PayloadType { return p.PayloadType }

// AppendBody appends the body.
func (p *RawPayload) AppendBody(b []byte) []byte { return append(b, p.Body...) }

// ParsePayload decodes the body (after the generic header) of one payload of
// type t. Unknown types give a *RawPayload. The result aliases body.
func ParsePayload(t PayloadType, body []byte) (Payload, error) {
	switch t {
	case PayloadSA:
		return wrap(parseSA(body))
	case PayloadKE:
		return wrap(parseKE(body))
	case PayloadID:
		return wrap(parseID(body))
	case PayloadCert:
		return wrap(parseCert(body))
	case PayloadCR:
		return wrap(parseCertRequest(body))
	case PayloadHash:
		return wrap(parseHash(body))
	case PayloadSig:
		return wrap(parseSignature(body))
	case PayloadNonce:
		return wrap(parseNonce(body))
	case PayloadNotify:
		return wrap(parseNotify(body))
	case PayloadDelete:
		return wrap(parseDelete(body))
	case PayloadVendorID:
		return wrap(parseVendorID(body))
	case PayloadNATD, PayloadNATDDraft:
		return wrap(parseNATD(t, body))
	case PayloadNATOA, PayloadNATOADraft:
		return wrap(parseNATOA(t, body))
	case PayloadFragment:
		return wrap(parseFragment(body))
	case PayloadProposal, PayloadTransform, PayloadNone:
		// Proposals and transforms only exist inside an SA (RFC 2408 3.5).
		return nil, malformed(PayloadNone, "%s payload outside an SA", t)
	}
	return &RawPayload{PayloadType: t, Body: body}, nil
}

// wrap turns a typed decoder result into a Payload, with a nil interface on
// error.
func wrap[T Payload](p T, err error) (Payload, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ParsePayloads walks the payload chain in b, starting with a payload of type
// first (the header's NextPayload), and decodes each payload. It stops at the
// payload whose next-payload field is NONE; the bytes after it are returned as
// padding. That is meant for decrypted bodies, which RFC 2409 5.3 lets end in
// padding (charon pads with zeros, SoftEther with 01 02 03 ...); Parse rejects
// any such trailing bytes in clear messages.
//
// Every payload length must be at least 4 and must not run past b (RFC 2408
// 5.1). Payloads of unknown type are kept as *RawPayload unless their critical
// bit is set, which is an error. The payloads and padding alias b.
func ParsePayloads(first PayloadType, b []byte) (payloads []Payload, padding []byte, err error) {
	next := first
	for next != PayloadNone {
		if len(b) < genericHeaderLen {
			return nil, nil, malformed(PayloadNone, "%s payload header truncated (%d bytes left)", next, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < genericHeaderLen {
			return nil, nil, malformed(next, "payload length %d smaller than its header", n)
		}
		if n > len(b) {
			return nil, nil, malformed(next, "payload length %d runs past the message (%d bytes left)", n, len(b))
		}
		t := next
		if _, known := payloadNames[t]; !known && b[1]&criticalBit != 0 {
			return nil, nil, malformed(PayloadNone, "unknown critical payload type %d", uint8(t))
		}
		p, err := ParsePayload(t, b[genericHeaderLen:n])
		if err != nil {
			return nil, nil, err
		}
		payloads = append(payloads, p)
		next = PayloadType(b[0])
		b = b[n:]
	}
	return payloads, b, nil
}

// AppendPayloads appends the payload chain ps to b: each payload gets a
// generic header whose next-payload field names the following payload (NONE
// for the last one). The first payload's type goes into the ISAKMP header's
// NextPayload, see FirstPayload. A payload body must fit the 16-bit length
// field (65531 bytes); ISAKMP messages never come near that.
func AppendPayloads(b []byte, ps []Payload) []byte {
	for i, p := range ps {
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		start := len(b)
		b = append(b, byte(next), 0, 0, 0)
		b = p.AppendBody(b)
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

// FirstPayload is the type of ps[0], or PayloadNone for an empty list.
func FirstPayload(ps []Payload) PayloadType {
	if len(ps) == 0 {
		return PayloadNone
	}
	return ps[0].Type()
}

// FindPayload returns the first payload of type T in ps, for example
// FindPayload[*Nonce](m.Payloads).
func FindPayload[T Payload](ps []Payload) (T, bool) {
	for _, p := range ps {
		if x, ok := p.(T); ok {
			return x, true
		}
	}
	var zero T
	return zero, false
}
