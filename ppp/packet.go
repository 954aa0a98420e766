package ppp

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// Code is the Code field of an LCP, IPCP or IPV6CP packet (RFC 1661
// section 5; codes 12 and 13 from RFC 1570).
type Code uint8

// Packet codes.
const (
	CodeConfigureRequest Code = 1
	CodeConfigureAck     Code = 2
	CodeConfigureNak     Code = 3
	CodeConfigureReject  Code = 4
	CodeTerminateRequest Code = 5
	CodeTerminateAck     Code = 6
	CodeCodeReject       Code = 7
	CodeProtocolReject   Code = 8  // LCP only
	CodeEchoRequest      Code = 9  // LCP only
	CodeEchoReply        Code = 10 // LCP only
	CodeDiscardRequest   Code = 11 // LCP only
	CodeIdentification   Code = 12 // LCP only, RFC 1570 section 2.1
	CodeTimeRemaining    Code = 13 // LCP only, RFC 1570 section 2.2
)

var codeNames = [...]string{
	CodeConfigureRequest: "Configure-Request",
	CodeConfigureAck:     "Configure-Ack",
	CodeConfigureNak:     "Configure-Nak",
	CodeConfigureReject:  "Configure-Reject",
	CodeTerminateRequest: "Terminate-Request",
	CodeTerminateAck:     "Terminate-Ack",
	CodeCodeReject:       "Code-Reject",
	CodeProtocolReject:   "Protocol-Reject",
	CodeEchoRequest:      "Echo-Request",
	CodeEchoReply:        "Echo-Reply",
	CodeDiscardRequest:   "Discard-Request",
	CodeIdentification:   "Identification",
	CodeTimeRemaining:    "Time-Remaining",
}

func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("Code-%d", uint8(c))
}

// packetHeaderLen is Code, Identifier and Length (RFC 1661 section 5).
const packetHeaderLen = 4

// Packet is one LCP, IPCP or IPV6CP packet (RFC 1661 section 5):
//
//	Code (1) | Identifier (1) | Length (2) | Data ...
type Packet struct {
	Code Code
	ID   uint8
	Data []byte // options for Configure-*, else code specific
}

// ParsePacket decodes the information field of an LCP, IPCP or IPV6CP frame.
// Octets beyond the Length field are padding and are ignored (RFC 1661
// section 5). Data aliases b.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < packetHeaderLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, need %d for the header", ErrMalformed, len(b), packetHeaderLen)
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < packetHeaderLen || n > len(b) {
		return Packet{}, fmt.Errorf("%w: length field %d, have %d bytes", ErrMalformed, n, len(b))
	}
	return Packet{Code: Code(b[0]), ID: b[1], Data: b[packetHeaderLen:n]}, nil
}

// Len is the encoded length of p.
func (p Packet) Len() int { return packetHeaderLen + len(p.Data) }

// Append appends the encoded packet to b.
func (p Packet) Append(b []byte) []byte {
	b = append(b, byte(p.Code), p.ID, 0, 0)
	binary.BigEndian.PutUint16(b[len(b)-2:], uint16(p.Len()))
	return append(b, p.Data...)
}

// Option is one Configuration Option (RFC 1661 section 6):
//
//	Type (1) | Length (1) | Data ...
//
// where Length counts the Type and Length octets too.
type Option struct {
	Type uint8
	Data []byte
}

// Len is the encoded length of o.
func (o Option) Len() int { return 2 + len(o.Data) }

// Append appends the encoded option to b. Data must be at most 253 bytes.
func (o Option) Append(b []byte) []byte {
	return append(append(b, o.Type, byte(o.Len())), o.Data...)
}

// NextOption splits the first option off b. Data and rest alias b.
func NextOption(b []byte) (o Option, rest []byte, err error) {
	if len(b) < 2 {
		return Option{}, nil, fmt.Errorf("%w: truncated option header", ErrMalformed)
	}
	n := int(b[1])
	if n < 2 || n > len(b) {
		return Option{}, nil, fmt.Errorf("%w: option %d has length %d, %d bytes left", ErrMalformed, b[0], n, len(b))
	}
	return Option{Type: b[0], Data: b[2:n]}, b[n:], nil
}

// ParseOptions appends the options in b to dst. The options alias b. It
// fails if an option's length is below 2 or runs past the end of b.
func ParseOptions(b []byte, dst []Option) ([]Option, error) {
	for len(b) > 0 {
		o, rest, err := NextOption(b)
		if err != nil {
			return dst, err
		}
		dst = append(dst, o)
		b = rest
	}
	return dst, nil
}

// checkOptions reports whether b is a well-formed option list.
func checkOptions(b []byte) error {
	for len(b) > 0 {
		_, rest, err := NextOption(b)
		if err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// options iterates over the option list b, stopping at the first malformed
// option (the layers get lists the automaton has checked). The options
// alias b.
func options(b []byte) iter.Seq[Option] {
	return func(yield func(Option) bool) {
		for len(b) > 0 {
			o, rest, err := NextOption(b)
			if err != nil || !yield(o) {
				return
			}
			b = rest
		}
	}
}

// AppendOptions appends the encoded options to b.
func AppendOptions(b []byte, opts ...Option) []byte {
	for _, o := range opts {
		b = o.Append(b)
	}
	return b
}

// hasOption reports whether the option list b contains o byte for byte.
// b must be well formed.
func hasOption(b []byte, o Option) bool {
	for len(b) > 0 {
		x, rest, err := NextOption(b)
		if err != nil {
			return false
		}
		if x.Type == o.Type && string(x.Data) == string(o.Data) {
			return true
		}
		b = rest
	}
	return false
}

// appendFrame appends a control frame: the 2-byte protocol and the packet.
func appendFrame(b []byte, proto Protocol, p Packet) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(proto))
	return p.Append(b)
}
