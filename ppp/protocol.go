package ppp

import (
	"encoding/binary"
	"fmt"
)

// Protocol is the PPP Protocol field (RFC 1661 section 2).
type Protocol uint16

// Protocol numbers used by this package.
const (
	ProtoIPv4   Protocol = 0x0021 // Internet Protocol version 4
	ProtoIPv6   Protocol = 0x0057 // Internet Protocol version 6
	ProtoLCP    Protocol = 0xc021 // Link Control Protocol (RFC 1661)
	ProtoPAP    Protocol = 0xc023 // Password Authentication Protocol (RFC 1334)
	ProtoCHAP   Protocol = 0xc223 // Challenge Handshake Authentication Protocol (RFC 1994, RFC 2759)
	ProtoEAP    Protocol = 0xc227 // Extensible Authentication Protocol (never negotiated here)
	ProtoIPCP   Protocol = 0x8021 // IP Control Protocol (RFC 1332)
	ProtoIPV6CP Protocol = 0x8057 // IPv6 Control Protocol (RFC 5072)
	ProtoCCP    Protocol = 0x80fd // Compression Control Protocol (RFC 1962), for MPPE only
)

func (p Protocol) String() string {
	switch p {
	case ProtoIPv4:
		return "IPv4"
	case ProtoIPv6:
		return "IPv6"
	case ProtoLCP:
		return "LCP"
	case ProtoPAP:
		return "PAP"
	case ProtoCHAP:
		return "CHAP"
	case ProtoEAP:
		return "EAP"
	case ProtoIPCP:
		return "IPCP"
	case ProtoIPV6CP:
		return "IPV6CP"
	case ProtoCCP:
		return "CCP"
	}
	return fmt.Sprintf("protocol 0x%04x", uint16(p))
}

// HeaderLen is the length of the header PutHeader writes: the HDLC-like
// Address and Control bytes FF 03 (RFC 1662 section 3.1) and a 2-byte
// Protocol field. That is what we always send: we never compress either.
const HeaderLen = 4

// PutHeader writes FF 03 and proto into b[0:4]. b must be at least
// HeaderLen bytes long; the data path writes it into headroom in place.
func PutHeader(b []byte, proto Protocol) {
	_ = b[3]
	b[0], b[1] = 0xff, 0x03
	binary.BigEndian.PutUint16(b[2:4], uint16(proto))
}

// ParseFrame splits a received PPP frame into its protocol and information
// field. It accepts the frame with or without the FF 03 Address and Control
// bytes (RFC 1662 section 3.2, Address-and-Control-Field-Compression) and with
// a 1- or 2-byte Protocol field (RFC 1661 section 6.5,
// Protocol-Field-Compression). The information field aliases b. It does not
// allocate.
func ParseFrame(b []byte) (Protocol, []byte, error) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return 0, nil, errShortFrame
	}
	// RFC 1661 section 2: the least significant bit of the least
	// significant octet is 1, that of the most significant octet is 0.
	if b[0]&1 == 1 {
		return Protocol(b[0]), b[1:], nil
	}
	if len(b) < 2 {
		return 0, nil, errShortFrame
	}
	if b[1]&1 == 0 {
		return 0, nil, errBadProtocol
	}
	return Protocol(binary.BigEndian.Uint16(b)), b[2:], nil
}
