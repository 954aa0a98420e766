package esp

import (
	"encoding/binary"
	"net/netip"
)

// The inner UDP header of transport-mode L2TP (RFC 768). In transport mode
// the ESP payload is this header and the L2TP message; the outer IP header
// belongs to the kernel's UDP socket on port 4500, so the addresses that
// enter the checksum are the SA's endpoints. Over IPv4 a sender may use
// checksum 0 (RFC 768; RFC 3948 section 3.1.2 has the receiver of
// NAT-traversed transport mode ignore or recompute it anyway). Over IPv6
// the checksum is mandatory (RFC 8200 section 8.1): PutUDPChecksum computes
// it over the IPv6 pseudo header. A receiver of ESP need not verify it: the
// ICV already authenticates the datagram, and a NAT on the path changes the
// addresses the sender summed (RFC 3948 section 3.1.2, step 5).

// UDPHeaderLen is the length of a UDP header.
const UDPHeaderLen = 8

// UDPHeader is a decoded UDP header.
type UDPHeader struct {
	SrcPort, DstPort uint16
	Length           uint16 // header plus payload
	Checksum         uint16
}

// PutUDP writes a UDP header with checksum 0 into b[:8], for a payload of
// payloadLen bytes that follows it. Checksum 0 means "none" and is allowed
// for IPv4 only.
func PutUDP(b []byte, srcPort, dstPort uint16, payloadLen int) error {
	if len(b) < UDPHeaderLen || payloadLen < 0 || payloadLen > 0xFFFF-UDPHeaderLen {
		return ErrUDP
	}
	binary.BigEndian.PutUint16(b[0:], srcPort)
	binary.BigEndian.PutUint16(b[2:], dstPort)
	binary.BigEndian.PutUint16(b[4:], uint16(UDPHeaderLen+payloadLen))
	binary.BigEndian.PutUint16(b[6:], 0)
	return nil
}

// PutUDPChecksum writes a UDP header into b[:8] with the checksum computed
// over the pseudo header of src and dst (both IPv4 or both IPv6), the header
// and the payload, which must already be in b[8:8+payloadLen].
func PutUDPChecksum(b []byte, src, dst netip.Addr, srcPort, dstPort uint16, payloadLen int) error {
	if payloadLen < 0 || len(b)-UDPHeaderLen < payloadLen {
		return ErrUDP
	}
	if !src.IsValid() || src.Is4() != dst.Is4() {
		return ErrUDP
	}
	if err := PutUDP(b, srcPort, dstPort, payloadLen); err != nil {
		return err
	}
	c := udpChecksum(b[:UDPHeaderLen+payloadLen], src, dst)
	if c == 0 {
		c = 0xFFFF // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(b[6:], c)
	return nil
}

// ParseUDP decodes the UDP header at the start of b. The length field must
// be at least 8 and at most len(b) (bytes after it are ignored) and the
// destination port must not be 0. payload aliases b.
func ParseUDP(b []byte) (h UDPHeader, payload []byte, err error) {
	if len(b) < UDPHeaderLen {
		return UDPHeader{}, nil, ErrUDP
	}
	h = UDPHeader{
		SrcPort:  binary.BigEndian.Uint16(b[0:]),
		DstPort:  binary.BigEndian.Uint16(b[2:]),
		Length:   binary.BigEndian.Uint16(b[4:]),
		Checksum: binary.BigEndian.Uint16(b[6:]),
	}
	if int(h.Length) < UDPHeaderLen || int(h.Length) > len(b) || h.DstPort == 0 {
		return UDPHeader{}, nil, ErrUDP
	}
	return h, b[UDPHeaderLen:h.Length], nil
}

// VerifyUDPChecksum reports whether the UDP datagram b (header and payload,
// as bounded by its length field) has a correct checksum for the pseudo
// header of src and dst. A zero checksum is accepted for IPv4 (RFC 768: no
// checksum) and rejected for IPv6 (RFC 8200 section 8.1).
func VerifyUDPChecksum(b []byte, src, dst netip.Addr) bool {
	h, _, err := ParseUDP(b)
	if err != nil || !src.IsValid() || src.Is4() != dst.Is4() {
		return false
	}
	if h.Checksum == 0 {
		return src.Is4()
	}
	return udpChecksum(b[:h.Length], src, dst) == 0
}

// udpChecksum returns the Internet checksum (RFC 1071) of the pseudo header
// and seg; over a segment with a correct checksum in place it returns 0.
func udpChecksum(seg []byte, src, dst netip.Addr) uint16 {
	var sum uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum += uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		s, d := src.As16(), dst.As16()
		for i := 0; i < 16; i += 4 {
			sum += uint64(binary.BigEndian.Uint32(s[i:])) + uint64(binary.BigEndian.Uint32(d[i:]))
		}
	}
	sum += 17 + uint64(len(seg)) // protocol and UDP length
	for len(seg) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(seg))
		seg = seg[4:]
	}
	if len(seg) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(seg))
		seg = seg[2:]
	}
	if len(seg) == 1 {
		sum += uint64(seg[0]) << 8
	}
	for sum > 0xFFFF {
		sum = (sum >> 16) + (sum & 0xFFFF)
	}
	return ^uint16(sum)
}
