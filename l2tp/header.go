package l2tp

import "encoding/binary"

// L2TP header, RFC 2661 3.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Tunnel ID           |           Session ID          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|             Ns (opt)          |             Nr (opt)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Offset Size (opt)        |    Offset pad... (opt)
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

const (
	bitT      = 0x8000
	bitL      = 0x4000
	bitS      = 0x0800
	bitO      = 0x0200
	bitP      = 0x0100
	versionV2 = 2

	// controlHeaderLen is the header of every control message: T, L and S set.
	controlHeaderLen = 12
)

// DataHeaderLen is the size of the header PutDataHeader writes: flags and
// version, Tunnel ID, Session ID (no Length, no sequence numbers, no offset).
const DataHeaderLen = 6

// Header is the L2TP header (RFC 2661 3.1). Optional fields are meaningful only
// when their bit is set.
type Header struct {
	Control     bool // T: control message
	HasLength   bool // L: Length present
	HasSequence bool // S: Ns and Nr present
	HasOffset   bool // O: Offset Size present
	Priority    bool // P: preferential treatment (data messages only)
	Version     uint8

	Length     uint16 // total message length, when HasLength
	TunnelID   uint16 // the recipient's tunnel ID
	SessionID  uint16 // the recipient's session ID
	Ns, Nr     uint16 // when HasSequence
	OffsetSize uint16 // when HasOffset: octets of pad after the Offset Size field
}

// ParseHeader decodes the header of one L2TP message and returns the payload.
// It checks Ver = 2 (anything else, e.g. L2F or L2TPv3, gives ErrVersion), that a
// control message has L and S set and O clear (3.1), the Length field against
// len(b) and the offset pad against the end of the message. Bytes after Length
// are ignored. The payload aliases b. ParseHeader does not allocate.
func ParseHeader(b []byte) (Header, []byte, error) {
	var h Header
	if len(b) < 2 {
		return h, nil, errShortHeader
	}
	flags := binary.BigEndian.Uint16(b)
	h.Version = uint8(flags & 0x000f)
	if h.Version != versionV2 {
		return h, nil, ErrVersion
	}
	h.Control = flags&bitT != 0
	h.HasLength = flags&bitL != 0
	h.HasSequence = flags&bitS != 0
	h.HasOffset = flags&bitO != 0
	h.Priority = flags&bitP != 0
	if h.Control && (!h.HasLength || !h.HasSequence || h.HasOffset) {
		return h, nil, errControlFlags
	}
	n := h.fixedLen()
	if len(b) < n {
		return h, nil, errShortHeader
	}
	off := 2
	end := len(b)
	if h.HasLength {
		h.Length = binary.BigEndian.Uint16(b[off:])
		off += 2
		switch {
		case int(h.Length) < n:
			return h, nil, errLengthShort
		case int(h.Length) > len(b):
			return h, nil, errLengthOverrun
		}
		end = int(h.Length)
	}
	h.TunnelID = binary.BigEndian.Uint16(b[off:])
	h.SessionID = binary.BigEndian.Uint16(b[off+2:])
	off += 4
	if h.HasSequence {
		h.Ns = binary.BigEndian.Uint16(b[off:])
		h.Nr = binary.BigEndian.Uint16(b[off+2:])
		off += 4
	}
	if h.HasOffset {
		h.OffsetSize = binary.BigEndian.Uint16(b[off:])
		off += 2 + int(h.OffsetSize)
		if off > end {
			return h, nil, errOffsetOverrun
		}
	}
	return h, b[off:end], nil
}

// fixedLen is the header length without the offset pad.
func (h *Header) fixedLen() int {
	n := 6
	if h.HasLength {
		n += 2
	}
	if h.HasSequence {
		n += 4
	}
	if h.HasOffset {
		n += 2
	}
	return n
}

// Len is the encoded length of the header including any offset pad.
func (h *Header) Len() int {
	n := h.fixedLen()
	if h.HasOffset {
		n += int(h.OffsetSize)
	}
	return n
}

// Append appends the encoded header to b. Length is written as given (Message.Append
// fills it in); the offset pad is written as zeros. A zero Version is written as 2.
func (h *Header) Append(b []byte) []byte {
	var flags uint16
	if h.Control {
		flags |= bitT
	}
	if h.HasLength {
		flags |= bitL
	}
	if h.HasSequence {
		flags |= bitS
	}
	if h.HasOffset {
		flags |= bitO
	}
	if h.Priority {
		flags |= bitP
	}
	v := h.Version
	if v == 0 {
		v = versionV2
	}
	flags |= uint16(v & 0x0f)
	b = binary.BigEndian.AppendUint16(b, flags)
	if h.HasLength {
		b = binary.BigEndian.AppendUint16(b, h.Length)
	}
	b = binary.BigEndian.AppendUint16(b, h.TunnelID)
	b = binary.BigEndian.AppendUint16(b, h.SessionID)
	if h.HasSequence {
		b = binary.BigEndian.AppendUint16(b, h.Ns)
		b = binary.BigEndian.AppendUint16(b, h.Nr)
	}
	if h.HasOffset {
		b = binary.BigEndian.AppendUint16(b, h.OffsetSize)
		for range h.OffsetSize {
			b = append(b, 0)
		}
	}
	return b
}

// PutDataHeader writes the 6-byte header of a data message (version 2, no L, S
// or O bit) into b[:6], for the data path: reserve DataHeaderLen bytes of
// headroom in front of the PPP frame and fill them in place. It panics if
// len(b) < DataHeaderLen, like binary.BigEndian.PutUint16. It does not allocate.
func PutDataHeader(b []byte, tunnelID, sessionID uint16) {
	_ = b[DataHeaderLen-1]
	b[0] = 0
	b[1] = versionV2
	binary.BigEndian.PutUint16(b[2:], tunnelID)
	binary.BigEndian.PutUint16(b[4:], sessionID)
}
