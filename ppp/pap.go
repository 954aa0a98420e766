package ppp

// PAP packets (RFC 1334 section 2.2).

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// PAPCode is the Code field of a PAP packet (RFC 1334 section 2.2).
type PAPCode uint8

// PAP codes.
const (
	PAPAuthenticateRequest PAPCode = 1
	PAPAuthenticateAck     PAPCode = 2
	PAPAuthenticateNak     PAPCode = 3
)

func (c PAPCode) String() string {
	switch c {
	case PAPAuthenticateRequest:
		return "Authenticate-Request"
	case PAPAuthenticateAck:
		return "Authenticate-Ack"
	case PAPAuthenticateNak:
		return "Authenticate-Nak"
	}
	return fmt.Sprintf("PAP-Code-%d", uint8(c))
}

// PAPPacket is a PAP packet:
//
//	Authenticate-Request: Code | Identifier | Length | Peer-ID-Length | Peer-Id | Passwd-Length | Password
//	Authenticate-Ack/Nak: Code | Identifier | Length | Msg-Length | Message
//
// Password is a secret: never log it.
type PAPPacket struct {
	Code     PAPCode
	ID       uint8
	PeerID   []byte // Authenticate-Request
	Password []byte // Authenticate-Request
	Message  []byte // Authenticate-Ack/Nak
	// NoMsgLength is set for an Ack/Nak of Length 4, without the
	// Msg-Length octet. SoftEther sends its Authenticate-Ack like that;
	// we accept it and re-encode it the same way.
	NoMsgLength bool
}

// ParsePAP decodes the information field of a PAP frame. The slices alias b;
// octets beyond the Length field are ignored.
func ParsePAP(b []byte) (PAPPacket, error) {
	if len(b) < packetHeaderLen {
		return PAPPacket{}, fmt.Errorf("%w: pap: %d bytes", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < packetHeaderLen || n > len(b) {
		return PAPPacket{}, fmt.Errorf("%w: pap: length field %d, have %d bytes", ErrMalformed, n, len(b))
	}
	p := PAPPacket{Code: PAPCode(b[0]), ID: b[1]}
	s := cryptobyte.String(b[packetHeaderLen:n])
	switch p.Code {
	case PAPAuthenticateRequest:
		var id, pw cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&id) || !s.ReadUint8LengthPrefixed(&pw) {
			return PAPPacket{}, fmt.Errorf("%w: pap: truncated Authenticate-Request", ErrMalformed)
		}
		p.PeerID, p.Password = id, pw
	case PAPAuthenticateAck, PAPAuthenticateNak:
		if s.Empty() {
			p.NoMsgLength = true
			break
		}
		var msg cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&msg) {
			return PAPPacket{}, fmt.Errorf("%w: pap: Msg-Length beyond the packet", ErrMalformed)
		}
		p.Message = msg
	default:
		return PAPPacket{}, fmt.Errorf("%w: pap: unknown code %d", ErrMalformed, b[0])
	}
	return p, nil
}

// Len is the encoded length of p.
func (p PAPPacket) Len() int {
	switch p.Code {
	case PAPAuthenticateRequest:
		return packetHeaderLen + 2 + len(p.PeerID) + len(p.Password)
	default:
		if p.NoMsgLength {
			return packetHeaderLen
		}
		return packetHeaderLen + 1 + len(p.Message)
	}
}

// Append appends the encoded packet to b. PeerID, Password and Message must
// be at most 255 bytes each.
func (p PAPPacket) Append(b []byte) []byte {
	b = append(b, byte(p.Code), p.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Len()))
	switch p.Code {
	case PAPAuthenticateRequest:
		b = append(append(b, byte(len(p.PeerID))), p.PeerID...)
		b = append(append(b, byte(len(p.Password))), p.Password...)
	default:
		if !p.NoMsgLength {
			b = append(append(b, byte(len(p.Message))), p.Message...)
		}
	}
	return b
}
