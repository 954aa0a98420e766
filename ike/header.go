package ike

// The ISAKMP header, RFC 2408 3.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!                          Initiator                            !
//	!                            Cookie                             !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!                          Responder                            !
//	!                            Cookie                             !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!                          Message ID                           !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!                            Length                             !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// HeaderLen is the length of the ISAKMP header.
const HeaderLen = 28

// Version is the ISAKMP version byte this package speaks: major 1, minor 0.
const Version = 0x10

// ExchangeType is the ISAKMP exchange type (RFC 2408 3.1, RFC 2409 appendix A).
type ExchangeType uint8

// Exchange types.
const (
	ExchangeNone          ExchangeType = 0
	ExchangeBase          ExchangeType = 1
	ExchangeIDProt        ExchangeType = 2 // Identity Protection: IKE Main Mode
	ExchangeAuthOnly      ExchangeType = 3
	ExchangeAggressive    ExchangeType = 4
	ExchangeInformational ExchangeType = 5
	ExchangeQuickMode     ExchangeType = 32 // RFC 2409 appendix A
	ExchangeNewGroupMode  ExchangeType = 33
)

var exchangeNames = map[ExchangeType]string{
	ExchangeNone:          "NONE",
	ExchangeBase:          "BASE",
	ExchangeIDProt:        "ID_PROT",
	ExchangeAuthOnly:      "AUTH_ONLY",
	ExchangeAggressive:    "AGGRESSIVE",
	ExchangeInformational: "INFORMATIONAL",
	ExchangeQuickMode:     "QUICK_MODE",
	ExchangeNewGroupMode:  "NEW_GROUP_MODE",
}

func (e ExchangeType) String() string {
	if s, ok := exchangeNames[e]; ok {
		return s
	}
	return "EXCHANGE(" + strconv.Itoa(int(e)) + ")"
}

// Flags are the ISAKMP header flags (RFC 2408 3.1).
type Flags uint8

// Header flags.
const (
	FlagEncryption Flags = 1 << 0 // E: the payloads after the header are encrypted
	FlagCommit     Flags = 1 << 1 // C: commit (RFC 2408 4.8)
	FlagAuthOnly   Flags = 1 << 2 // A: authentication only
)

func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, x := range []struct {
		f Flags
		s string
	}{{FlagEncryption, "E"}, {FlagCommit, "C"}, {FlagAuthOnly, "A"}} {
		if f&x.f != 0 {
			parts = append(parts, x.s)
			f &^= x.f
		}
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}

// Header is the ISAKMP header.
type Header struct {
	InitiatorCookie [8]byte
	ResponderCookie [8]byte
	// NextPayload is the type of the first payload. Message.Append fills it in
	// from the payload list, except for encrypted messages.
	NextPayload PayloadType
	// Version is the version byte: major in the high nibble, minor in the low.
	// Zero means Version (0x10) when encoding.
	Version   uint8
	Exchange  ExchangeType
	Flags     Flags
	MessageID uint32
	// Length is the length of the whole message, header included. Message.Append
	// computes it.
	Length uint32
}

// ParseHeader decodes the ISAKMP header at the start of b. It checks the major
// version and that Length is at least HeaderLen and not beyond len(b)
// (RFC 2408 5.1).
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, malformed(PayloadNone, "%d bytes, shorter than the ISAKMP header", len(b))
	}
	copy(h.InitiatorCookie[:], b[0:8])
	copy(h.ResponderCookie[:], b[8:16])
	h.NextPayload = PayloadType(b[16])
	h.Version = b[17]
	h.Exchange = ExchangeType(b[18])
	h.Flags = Flags(b[19])
	h.MessageID = binary.BigEndian.Uint32(b[20:24])
	h.Length = binary.BigEndian.Uint32(b[24:28])
	if h.Version>>4 != 1 {
		return h, ErrVersion
	}
	if h.Length < HeaderLen {
		return h, malformed(PayloadNone, "length field %d smaller than the header", h.Length)
	}
	if uint64(h.Length) > uint64(len(b)) {
		return h, malformed(PayloadNone, "length field %d larger than the %d-byte datagram", h.Length, len(b))
	}
	return h, nil
}

// Append appends the header, exactly as its fields say, to b.
func (h *Header) Append(b []byte) []byte {
	b = append(b, h.InitiatorCookie[:]...)
	b = append(b, h.ResponderCookie[:]...)
	v := h.Version
	if v == 0 {
		v = Version
	}
	b = append(b, byte(h.NextPayload), v, byte(h.Exchange), byte(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}
