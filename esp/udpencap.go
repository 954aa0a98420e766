package esp

import (
	"encoding/binary"
	"strconv"
)

// UDP encapsulation of ESP, RFC 3948 section 2: on UDP port 4500 a datagram
// is a NAT-keepalive (one 0xFF byte), an IKE message behind a 4-byte zero
// non-ESP marker, or an ESP packet whose first 4 bytes are its non-zero SPI.

const (
	// PortNATT is the UDP port of IKE and UDP-encapsulated ESP (RFC 3948).
	PortNATT = 4500
	// NonESPMarkerLen is the length of the zero marker before IKE messages.
	NonESPMarkerLen = 4
	// KeepaliveByte is the single byte of a NAT-keepalive (RFC 3948 section 2.3).
	KeepaliveByte = 0xFF
)

// Kind is the class of a datagram received on UDP port 4500.
type Kind uint8

const (
	// KindInvalid is a datagram that is none of the others; drop it.
	KindInvalid Kind = iota
	// KindKeepalive is a NAT-keepalive; drop it.
	KindKeepalive
	// KindIKE is an IKE message; it starts after the 4-byte non-ESP marker.
	KindIKE
	// KindESP is an ESP packet, from its SPI on.
	KindESP
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindKeepalive:
		return "keepalive"
	case KindIKE:
		return "ike"
	case KindESP:
		return "esp"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Classify tells what a UDP payload received on port 4500 holds. For
// KindESP it also returns the SPI. For KindIKE the IKE message is
// d[NonESPMarkerLen:]. SPIs 1 to 255 are reserved (RFC 4303 section 2.1)
// and an ESP packet shorter than its header is invalid.
func Classify(d []byte) (kind Kind, spi uint32) {
	if len(d) == 1 && d[0] == KeepaliveByte {
		return KindKeepalive, 0
	}
	if len(d) < NonESPMarkerLen {
		return KindInvalid, 0
	}
	spi = binary.BigEndian.Uint32(d)
	if spi == 0 {
		return KindIKE, 0
	}
	if spi <= 255 || len(d) < headerLen {
		return KindInvalid, 0
	}
	return KindESP, spi
}

// AppendNonESPMarker appends the 4-byte zero marker that precedes an IKE
// message sent on port 4500.
func AppendNonESPMarker(b []byte) []byte { return append(b, 0, 0, 0, 0) }
