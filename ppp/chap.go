package ppp

// CHAP packets (RFC 1994 section 4) and the MD5 response (RFC 1994 section
// 4.1, algorithm 5). MS-CHAPv2 (RFC 2759) uses the same packets.

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// CHAPCode is the Code field of a CHAP packet (RFC 1994 section 4).
type CHAPCode uint8

// CHAP codes.
const (
	CHAPChallenge CHAPCode = 1
	CHAPResponse  CHAPCode = 2
	CHAPSuccess   CHAPCode = 3
	CHAPFailure   CHAPCode = 4
)

func (c CHAPCode) String() string {
	switch c {
	case CHAPChallenge:
		return "Challenge"
	case CHAPResponse:
		return "Response"
	case CHAPSuccess:
		return "Success"
	case CHAPFailure:
		return "Failure"
	}
	return fmt.Sprintf("CHAP-Code-%d", uint8(c))
}

// CHAPPacket is a CHAP packet:
//
//	Challenge/Response: Code | Identifier | Length | Value-Size | Value | Name
//	Success/Failure:    Code | Identifier | Length | Message
type CHAPPacket struct {
	Code    CHAPCode
	ID      uint8
	Value   []byte // Challenge/Response
	Name    []byte // Challenge/Response
	Message []byte // Success/Failure
}

// ParseCHAP decodes the information field of a CHAP frame. The slices alias
// b; octets beyond the Length field are ignored.
func ParseCHAP(b []byte) (CHAPPacket, error) {
	if len(b) < packetHeaderLen {
		return CHAPPacket{}, fmt.Errorf("%w: chap: %d bytes", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < packetHeaderLen || n > len(b) {
		return CHAPPacket{}, fmt.Errorf("%w: chap: length field %d, have %d bytes", ErrMalformed, n, len(b))
	}
	p := CHAPPacket{Code: CHAPCode(b[0]), ID: b[1]}
	data := b[packetHeaderLen:n]
	switch p.Code {
	case CHAPChallenge, CHAPResponse:
		s := cryptobyte.String(data)
		var v cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&v) || len(v) == 0 {
			return CHAPPacket{}, fmt.Errorf("%w: chap: bad Value-Size", ErrMalformed)
		}
		p.Value, p.Name = v, s
	case CHAPSuccess, CHAPFailure:
		p.Message = data
	default:
		return CHAPPacket{}, fmt.Errorf("%w: chap: unknown code %d", ErrMalformed, b[0])
	}
	return p, nil
}

// Len is the encoded length of p.
func (p CHAPPacket) Len() int {
	switch p.Code {
	case CHAPChallenge, CHAPResponse:
		return packetHeaderLen + 1 + len(p.Value) + len(p.Name)
	default:
		return packetHeaderLen + len(p.Message)
	}
}

// Append appends the encoded packet to b. Value must be at most 255 bytes.
func (p CHAPPacket) Append(b []byte) []byte {
	b = append(b, byte(p.Code), p.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Len()))
	switch p.Code {
	case CHAPChallenge, CHAPResponse:
		b = append(append(b, byte(len(p.Value))), p.Value...)
		return append(b, p.Name...)
	default:
		return append(b, p.Message...)
	}
}

// chapMD5Response is MD5(Identifier ‖ secret ‖ challenge) (RFC 1994
// section 4.1 with algorithm 5, RFC 1321).
func chapMD5Response(id uint8, secret string, challenge []byte) [md5.Size]byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write([]byte(secret))
	h.Write(challenge)
	var out [md5.Size]byte
	h.Sum(out[:0])
	return out
}
