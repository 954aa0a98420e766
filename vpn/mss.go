package vpn

// TCP MSS clamping, as users of pppd and strongSwan set up by hand with
// iptables' TCPMSS target: a TCP connection through the tunnel announces in
// its SYN (RFC 9293 section 3.7.1) a maximum segment size that fits the
// tunnel's MTU, so neither end sends segments that would have to be
// fragmented or that vanish in a path-MTU black hole.

import "encoding/binary"

const (
	ipProtoTCP       = 6
	tcpHeaderLen     = 20 // without options (RFC 9293 section 3.1)
	ipv6HeaderLen    = 40 // RFC 8200 section 3
	tcpFlagSYN       = 0x02
	tcpOptEOL        = 0 // End of Option List (RFC 9293 section 3.2)
	tcpOptNOP        = 1 // No-Operation
	tcpOptMSS        = 2 // Maximum Segment Size
	tcpOptMSSLen     = 4
	tcpChecksumField = 16 // offset of the checksum in the TCP header
)

// clampMSS lowers the Maximum Segment Size option of a TCP SYN (or SYN-ACK)
// in pkt, an IPv4 or IPv6 packet, to maxMSS if it announces more. It rewrites
// the two option bytes and updates the TCP checksum incrementally (RFC 1624
// equation 3), in place, and reports whether it changed pkt. It changes
// nothing else and allocates nothing, and any input is safe.
//
// Packets it leaves alone: anything that is not IPv4 or IPv6; IPv4 that is
// not the first fragment (Fragment Offset not 0), whose header (IHL,
// options included) or Total Length does not fit in pkt, or that does not
// carry TCP; IPv6 whose Next Header is not TCP directly (TCP behind an
// extension header is not looked for) or whose Payload Length does not fit
// in pkt; TCP without SYN, with a Data Offset below 5 or beyond the
// segment, or without an MSS option of length 4 in its options; an MSS
// of maxMSS or less. Options are walked by their length octets: End of
// Option List stops the walk, No-Operation is one octet, and an option
// whose length is below 2 or runs past the header stops it too.
//
// maxMSS is used as is for both families: the caller passes the MTU minus 40
// for IPv4 and minus 60 for IPv6 (RFC 9293 section 3.7.1).
func clampMSS(pkt []byte, maxMSS uint16) bool {
	if len(pkt) < 1 {
		return false
	}
	var seg []byte // the TCP segment
	switch pkt[0] >> 4 {
	case 4:
		// RFC 791 section 3.1.
		if len(pkt) < 20 {
			return false
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:]))
		if ihl < 20 || total < ihl || total > len(pkt) || pkt[9] != ipProtoTCP {
			return false
		}
		if binary.BigEndian.Uint16(pkt[6:])&0x1fff != 0 { // not the first fragment
			return false
		}
		seg = pkt[ihl:total]
	case 6:
		// RFC 8200 section 3.
		if len(pkt) < ipv6HeaderLen || pkt[6] != ipProtoTCP {
			return false
		}
		n := int(binary.BigEndian.Uint16(pkt[4:]))
		if ipv6HeaderLen+n > len(pkt) {
			return false
		}
		seg = pkt[ipv6HeaderLen : ipv6HeaderLen+n]
	default:
		return false
	}
	// RFC 9293 section 3.1: Data Offset, flags, options.
	if len(seg) < tcpHeaderLen || seg[13]&tcpFlagSYN == 0 {
		return false
	}
	doff := int(seg[12]>>4) * 4
	if doff < tcpHeaderLen || doff > len(seg) {
		return false
	}
	for i := tcpHeaderLen; i < doff; {
		switch seg[i] {
		case tcpOptEOL:
			return false
		case tcpOptNOP:
			i++
			continue
		}
		if i+1 >= doff {
			return false
		}
		l := int(seg[i+1])
		if l < 2 || i+l > doff {
			return false
		}
		if seg[i] == tcpOptMSS && l == tcpOptMSSLen {
			at := i + 2
			old := binary.BigEndian.Uint16(seg[at:])
			if old <= maxMSS {
				return false
			}
			binary.BigEndian.PutUint16(seg[at:], maxMSS)
			// The checksum sums 16-bit words from the start of the TCP
			// header; a value at an odd offset straddles two words, where it
			// counts as its byte-swapped self.
			o, m := old, maxMSS
			if at%2 == 1 {
				o, m = o>>8|o<<8, m>>8|m<<8
			}
			c := binary.BigEndian.Uint16(seg[tcpChecksumField:])
			binary.BigEndian.PutUint16(seg[tcpChecksumField:], checksumReplace(c, o, m))
			return true
		}
		i += l
	}
	return false
}

// checksumReplace is RFC 1624 equation 3: the Internet checksum c of data
// in which one 16-bit word changed from old to new,
// HC' = ~(~HC + ~m + m').
func checksumReplace(c, old, new uint16) uint16 {
	sum := uint32(^c) + uint32(^old) + uint32(new)
	sum = sum&0xffff + sum>>16
	sum = sum&0xffff + sum>>16
	return ^uint16(sum)
}
