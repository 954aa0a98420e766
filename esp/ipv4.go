package esp

import (
	"encoding/binary"
	"net/netip"
)

// The inner IPv4 header of tunnel-mode L2TP (RFC 791 section 3.1). In
// tunnel mode the ESP payload (next header 4, IP-in-IP) is a whole IPv4
// packet: this header, the UDP header (udp.go) and the L2TP message. We
// write a header without options; we accept what the server writes, options
// included, as long as it is one unfragmented UDP packet from the server.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	|         Identification        |Flags|      Fragment Offset    |
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	|                       Source Address                          |
//	|                    Destination Address                        |
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// IPv4HeaderLen is the length of an IPv4 header without options (IHL 5),
// the header PutIPv4UDP writes.
const IPv4HeaderLen = 20

const (
	ipv4ProtoUDP   = 17     // RFC 768, "Assigned Numbers"
	ipv4FlagDF     = 0x4000 // Don't Fragment (RFC 791 section 3.1, Flags bit 1)
	ipv4FragMask   = 0x3fff // More Fragments and the Fragment Offset
	ipv4DefaultTTL = 64     // RFC 1700's recommended default
)

// PutIPv4UDP writes into b[:IPv4HeaderLen] the inner IPv4 header of a
// tunnel-mode packet from src to dst carrying UDP: version 4, IHL 5, no
// options, identification 0, DF set (RFC 6864 section 4.1 allows a zero
// identification on atomic datagrams), TTL 64 and the header checksum (RFC
// 791 section 3.1). total is the whole packet's length: this header, the
// UDP header and its payload. Both addresses must be IPv4.
func PutIPv4UDP(b []byte, src, dst netip.Addr, total int) error {
	if len(b) < IPv4HeaderLen || total < IPv4HeaderLen+UDPHeaderLen || total > 0xFFFF ||
		!src.Is4() || !dst.Is4() {
		return ErrIPv4
	}
	b[0] = 4<<4 | IPv4HeaderLen/4
	b[1] = 0 // type of service
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], 0) // identification
	binary.BigEndian.PutUint16(b[6:], ipv4FlagDF)
	b[8] = ipv4DefaultTTL
	b[9] = ipv4ProtoUDP
	b[10], b[11] = 0, 0
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], ipv4Checksum(b[:IPv4HeaderLen]))
	return nil
}

// ParseIPv4UDP checks the inner IPv4 header of a tunnel-mode packet and
// returns the UDP datagram it carries, which aliases b. It accepts only a
// packet that is version 4 with an IHL of at least 5 (options are skipped),
// a Total Length within b (bytes after it are ignored), protocol UDP, not a
// fragment (More Fragments clear, Fragment Offset 0), a header checksum that
// verifies (RFC 791 section 3.1) and source address from. The UDP header
// itself is left to ParseUDP.
func ParseIPv4UDP(b []byte, from netip.Addr) ([]byte, bool) {
	if len(b) < IPv4HeaderLen || b[0]>>4 != 4 {
		return nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < IPv4HeaderLen || total < ihl || total > len(b) || b[9] != ipv4ProtoUDP {
		return nil, false
	}
	if binary.BigEndian.Uint16(b[6:])&ipv4FragMask != 0 {
		return nil, false
	}
	if ipv4Checksum(b[:ihl]) != 0 {
		return nil, false
	}
	if netip.AddrFrom4([4]byte(b[12:16])) != from {
		return nil, false
	}
	return b[ihl:total], true
}

// ipv4Checksum is the Internet checksum (RFC 1071) of an IPv4 header, whose
// length is a multiple of 4. Over a header with a correct checksum in place
// it returns 0.
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
