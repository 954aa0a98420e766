package dhcp

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"testing"
)

// refChecksum is a plain RFC 1071 checksum, written independently of the
// package's, to check what the package computes.
func refChecksum(parts ...[]byte) uint16 {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var s uint64
	for i := 0; i < len(b); i += 2 {
		s += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// buildReply wraps BOOTP options (everything after the magic cookie) in a
// BOOTREPLY with xid, and that in UDP from src:67 to dst:68 and IPv4, with
// correct checksums.
func buildReply(t testing.TB, src, dst netip.Addr, xid uint32, opts []byte) []byte {
	t.Helper()
	bp := make([]byte, bootpFixedLen, bootpFixedLen+len(opts))
	bp[0], bp[1], bp[2] = 2, 1, 6
	binary.BigEndian.PutUint32(bp[4:], xid)
	d4 := dst.As4()
	copy(bp[12:], d4[:]) // ciaddr
	copy(bp[236:], magicCookie[:])
	bp = append(bp, opts...)
	return wrapUDP(src, dst, ServerPort, ClientPort, bp)
}

func wrapUDP(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	p := make([]byte, ipHeaderLen+udpHeaderLen+len(payload))
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s4, d4 := src.As4(), dst.As4()
	copy(p[12:], s4[:])
	copy(p[16:], d4[:])
	binary.BigEndian.PutUint16(p[10:], refChecksum(p[:ipHeaderLen]))
	u := p[ipHeaderLen:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[udpHeaderLen:], payload)
	pseudo := append(append(append([]byte{}, s4[:]...), d4[:]...), 0, 17, byte(len(u)>>8), byte(len(u)))
	c := refChecksum(pseudo, u)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return p
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
