package esp

import (
	"encoding/binary"
	"net/netip"
)

// The inner IPv6 header of tunnel-mode L2TP over an IPv6 underlay (RFC 8200
// section 3). In tunnel mode the traffic selectors are the two endpoints'
// own addresses, so over IPv6 the ESP payload (next header 41, IPv6) is a
// whole IPv6 packet: this header, the UDP header (udp.go) and the L2TP
// message. Over IPv6 the UDP checksum is mandatory (RFC 8200 section 8.1):
// the sender computes it with PutUDPChecksum over this header's addresses.
// We write a header without extension headers and accept only one whose
// next header is UDP: a server has no reason to add any to L2TP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	|                  Source Address (128 bits)                    |
//	|               Destination Address (128 bits)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// IPv6HeaderLen is the length of the fixed IPv6 header, the header
// PutIPv6UDP writes.
const IPv6HeaderLen = 40

const ipv6DefaultHopLimit = 64

// PutIPv6UDP writes into b[:IPv6HeaderLen] the inner IPv6 header of a
// tunnel-mode packet from src to dst carrying UDP: version 6, traffic class
// and flow label 0, next header UDP, hop limit 64. total is the whole
// packet's length: this header, the UDP header and its payload. Both
// addresses must be IPv6 (not IPv4-mapped).
func PutIPv6UDP(b []byte, src, dst netip.Addr, total int) error {
	if len(b) < IPv6HeaderLen || total < IPv6HeaderLen+UDPHeaderLen || total-IPv6HeaderLen > 0xFFFF ||
		!isIPv6(src) || !isIPv6(dst) {
		return ErrIPv6
	}
	binary.BigEndian.PutUint32(b[0:], 6<<28)
	binary.BigEndian.PutUint16(b[4:], uint16(total-IPv6HeaderLen))
	b[6] = ipv4ProtoUDP // the same protocol number (IANA)
	b[7] = ipv6DefaultHopLimit
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return nil
}

// ParseIPv6UDP checks the inner IPv6 header of a tunnel-mode packet and
// returns the UDP datagram it carries, which aliases b. It accepts only
// version 6, next header UDP (no extension headers), a Payload Length
// within b (bytes after it are ignored; 0, a jumbogram, is refused) and
// source address from. The UDP header itself is left to ParseUDP.
func ParseIPv6UDP(b []byte, from netip.Addr) ([]byte, bool) {
	if len(b) < IPv6HeaderLen || b[0]>>4 != 6 || b[6] != ipv4ProtoUDP {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n == 0 || IPv6HeaderLen+n > len(b) {
		return nil, false
	}
	if netip.AddrFrom16([16]byte(b[8:24])) != from {
		return nil, false
	}
	return b[IPv6HeaderLen : IPv6HeaderLen+n], true
}

func isIPv6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6()
}
