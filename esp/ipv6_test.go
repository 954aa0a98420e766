package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

var (
	ipv6Server = netip.MustParseAddr("2001:db8:5e::1")
	ipv6Client = netip.MustParseAddr("2001:db8:5e::2")
)

// refUDP6Checksum is the UDP checksum over IPv6 written out the long way
// (RFC 8200 section 8.1: source, destination, upper-layer length, three
// zero bytes and next header 17; RFC 1071: the ones' complement of the
// ones' complement sum of 16-bit words, an odd byte padded with zero), as
// an independent reference for udpChecksum.
func refUDP6Checksum(src, dst netip.Addr, udp []byte) uint16 {
	s, d := src.As16(), dst.As16()
	var b []byte
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(udp)))
	b = append(b, 0, 0, 0, 17)
	b = append(b, udp...)
	b[40+6], b[40+7] = 0, 0 // the checksum field counts as zero
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xFFFF {
		sum = sum>>16 + sum&0xFFFF
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xFFFF
	}
	return c
}

// TestUDPChecksumIPv6Golden: the transport-mode inner UDP header over an
// IPv6 underlay carries the checksum over the IPv6 pseudo header. The
// expected value 0x8a5f was computed outside Go (RFC 1071 sum over the
// pseudo header and the datagram) and agrees with refUDP6Checksum.
func TestUDPChecksumIPv6Golden(t *testing.T) {
	payload := []byte{0xc8, 0x02, 0x00, 0x0c, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}
	b := make([]byte, UDPHeaderLen+len(payload))
	copy(b[UDPHeaderLen:], payload)
	if err := PutUDPChecksum(b, ipv6Client, ipv6Server, 1701, 1701, len(payload)); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x06, 0xa5, 0x06, 0xa5, 0x00, 0x19, 0x8a, 0x5f}
	if !bytes.Equal(b[:UDPHeaderLen], want) {
		t.Fatalf("header % x, want % x", b[:UDPHeaderLen], want)
	}
	if ref := refUDP6Checksum(ipv6Client, ipv6Server, b); ref != 0x8a5f {
		t.Fatalf("reference checksum %#04x", ref)
	}
	if !VerifyUDPChecksum(b, ipv6Client, ipv6Server) {
		t.Fatal("does not verify")
	}
	// The pseudo header matters: the same datagram between other
	// addresses, or summed as IPv4, does not verify.
	if VerifyUDPChecksum(b, ipv6Server, netip.MustParseAddr("2001:db8:5e::3")) {
		t.Error("verifies for other addresses")
	}
	// Many lengths against the reference.
	for n := 0; n < 70; n++ {
		b := make([]byte, UDPHeaderLen+n)
		for i := range n {
			b[UDPHeaderLen+i] = byte(i*37 + 0xA0)
		}
		if err := PutUDPChecksum(b, ipv6Client, ipv6Server, 1701, 1701, n); err != nil {
			t.Fatal(err)
		}
		if got, ref := binary.BigEndian.Uint16(b[6:]), refUDP6Checksum(ipv6Client, ipv6Server, b); got != ref {
			t.Fatalf("n=%d: checksum %#04x, reference %#04x", n, got, ref)
		}
	}
}

func TestPutIPv6UDPGolden(t *testing.T) {
	// 2001:db8:5e::2 -> 2001:db8:5e::1, payload length 13 (UDP with 5
	// bytes), next header 17, hop limit 64.
	want := []byte{
		0x60, 0, 0, 0, 0x00, 0x0d, 0x11, 0x40,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	}
	b := bytes.Repeat([]byte{0xEE}, IPv6HeaderLen+4)
	if err := PutIPv6UDP(b, ipv6Client, ipv6Server, IPv6HeaderLen+13); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:IPv6HeaderLen], want) {
		t.Fatalf("header\n got % x\nwant % x", b[:IPv6HeaderLen], want)
	}
	if !bytes.Equal(b[IPv6HeaderLen:], []byte{0xEE, 0xEE, 0xEE, 0xEE}) {
		t.Fatal("PutIPv6UDP wrote beyond the header")
	}
}

func TestPutIPv6UDPErrors(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	cases := []struct {
		b        []byte
		src, dst netip.Addr
		total    int
	}{
		{make([]byte, IPv6HeaderLen-1), ipv6Client, ipv6Server, 60},
		{make([]byte, IPv6HeaderLen), ipv6Client, ipv6Server, IPv6HeaderLen + UDPHeaderLen - 1},
		{make([]byte, IPv6HeaderLen), ipv6Client, ipv6Server, IPv6HeaderLen + 0x10000},
		{make([]byte, IPv6HeaderLen), v4, ipv6Server, 60},
		{make([]byte, IPv6HeaderLen), ipv6Client, mapped, 60},
		{make([]byte, IPv6HeaderLen), netip.Addr{}, ipv6Server, 60},
	}
	for i, c := range cases {
		if err := PutIPv6UDP(c.b, c.src, c.dst, c.total); !errors.Is(err, ErrIPv6) {
			t.Errorf("case %d: %v, want ErrIPv6", i, err)
		}
	}
}

// tunnelPacket6 is a tunnel-mode inner packet from the server over IPv6.
func tunnelPacket6(t testing.TB, payload string) []byte {
	t.Helper()
	n := IPv6HeaderLen + UDPHeaderLen + len(payload)
	b := make([]byte, n)
	copy(b[IPv6HeaderLen+UDPHeaderLen:], payload)
	if err := PutUDPChecksum(b[IPv6HeaderLen:], ipv6Server, ipv6Client, 1701, 1701, len(payload)); err != nil {
		t.Fatal(err)
	}
	if err := PutIPv6UDP(b, ipv6Server, ipv6Client, n); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutParseIPv6UDP(t *testing.T) {
	pkt := tunnelPacket6(t, "hello")
	udp, ok := ParseIPv6UDP(pkt, ipv6Server)
	if !ok {
		t.Fatal("refused")
	}
	h, payload, err := ParseUDP(udp)
	if err != nil || h.DstPort != 1701 || string(payload) != "hello" || !VerifyUDPChecksum(udp, ipv6Server, ipv6Client) {
		t.Fatalf("%+v %q %v", h, payload, err)
	}
	padded := append(bytes.Clone(pkt), 0, 0, 0) // ESP padding is not ours to see, but extra bytes are ignored
	if udp, ok := ParseIPv6UDP(padded, ipv6Server); !ok || len(udp) != len(pkt)-IPv6HeaderLen {
		t.Fatalf("trailing bytes: %v %d", ok, len(udp))
	}
	if _, ok := ParseIPv6UDP(pkt, ipv6Client); ok {
		t.Error("accepted a packet from another source")
	}
	for n := range len(pkt) {
		if udp, ok := ParseIPv6UDP(pkt[:n], ipv6Server); ok || udp != nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
	for i, mod := range []func(b []byte){
		func(b []byte) { b[0] = 0x40 },                           // version 4
		func(b []byte) { b[6] = 0 },                              // hop-by-hop options header
		func(b []byte) { b[6] = 6 },                              // TCP
		func(b []byte) { binary.BigEndian.PutUint16(b[4:], 0) },  // jumbogram
		func(b []byte) { binary.BigEndian.PutUint16(b[4:], 99) }, // beyond b
	} {
		b := bytes.Clone(pkt)
		mod(b)
		if _, ok := ParseIPv6UDP(b, ipv6Server); ok {
			t.Errorf("modification %d accepted", i)
		}
	}
}

// FuzzParseIPv6UDP: ParseIPv6UDP never panics; what it accepts is a UDP
// datagram inside b, and re-wrapping it gives the same datagram.
func FuzzParseIPv6UDP(f *testing.F) {
	f.Add(tunnelPacket6(f, "hello"))
	f.Add(tunnelPacket6(f, ""))
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		udp, ok := ParseIPv6UDP(b, ipv6Server)
		if !ok {
			return
		}
		if len(udp) == 0 || len(udp) > len(b)-IPv6HeaderLen {
			t.Fatalf("accepted %d bytes of %d", len(udp), len(b))
		}
		re := make([]byte, IPv6HeaderLen+len(udp))
		copy(re[IPv6HeaderLen:], udp)
		if len(udp) < UDPHeaderLen {
			return // PutIPv6UDP wants a UDP header; ParseUDP refuses this one
		}
		if err := PutIPv6UDP(re, ipv6Server, ipv6Client, len(re)); err != nil {
			t.Fatal(err)
		}
		if udp2, ok := ParseIPv6UDP(re, ipv6Server); !ok || !bytes.Equal(udp2, udp) {
			t.Fatal("re-wrapped packet differs")
		}
	})
}
