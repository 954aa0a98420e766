package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

var (
	ipv4Server = netip.MustParseAddr("192.0.2.1")
	ipv4Client = netip.MustParseAddr("192.0.2.2")
)

// tunnelPacket is a tunnel-mode inner packet from the server: an IPv4
// header written by PutIPv4UDP, UDP 1701 -> 1701 and payload.
func tunnelPacket(t testing.TB, payload string) []byte {
	t.Helper()
	n := IPv4HeaderLen + UDPHeaderLen + len(payload)
	b := make([]byte, n)
	copy(b[IPv4HeaderLen+UDPHeaderLen:], payload)
	if err := PutUDP(b[IPv4HeaderLen:], 1701, 1701, len(payload)); err != nil {
		t.Fatal(err)
	}
	if err := PutIPv4UDP(b, ipv4Server, ipv4Client, n); err != nil {
		t.Fatal(err)
	}
	return b
}

// fixChecksum recomputes the header checksum after a test changed a field.
func fixChecksum(b []byte) {
	ihl := int(b[0]&0x0f) * 4
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], ipv4Checksum(b[:ihl]))
}

func TestPutIPv4UDPGolden(t *testing.T) {
	// 192.0.2.2 -> 192.0.2.1, total 33 (UDP with 5 bytes of payload), id 0,
	// DF, TTL 64, UDP; checksum 0xb6c8 computed independently (RFC 1071).
	want := []byte{
		0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb6, 0xc8,
		0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00, 0x02, 0x01,
	}
	b := bytes.Repeat([]byte{0xEE}, IPv4HeaderLen+4)
	if err := PutIPv4UDP(b, ipv4Client, ipv4Server, 33); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:IPv4HeaderLen], want) {
		t.Fatalf("header\n got % x\nwant % x", b[:IPv4HeaderLen], want)
	}
	if !bytes.Equal(b[IPv4HeaderLen:], []byte{0xEE, 0xEE, 0xEE, 0xEE}) {
		t.Fatal("PutIPv4UDP wrote beyond the header")
	}
}

func TestPutIPv4UDPErrors(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	cases := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		total    int
	}{
		{"short buffer", make([]byte, IPv4HeaderLen-1), ipv4Client, ipv4Server, 28},
		{"total below headers", make([]byte, IPv4HeaderLen), ipv4Client, ipv4Server, 27},
		{"total above 65535", make([]byte, IPv4HeaderLen), ipv4Client, ipv4Server, 0x10000},
		{"ipv6 source", make([]byte, IPv4HeaderLen), v6, ipv4Server, 28},
		{"ipv6 destination", make([]byte, IPv4HeaderLen), ipv4Client, v6, 28},
		{"invalid source", make([]byte, IPv4HeaderLen), netip.Addr{}, ipv4Server, 28},
	}
	for _, c := range cases {
		if err := PutIPv4UDP(c.b, c.src, c.dst, c.total); !errors.Is(err, ErrIPv4) {
			t.Errorf("%s: err = %v, want ErrIPv4", c.name, err)
		}
	}
	if err := PutIPv4UDP(make([]byte, IPv4HeaderLen), ipv4Client, ipv4Server, 0xFFFF); err != nil {
		t.Errorf("total 65535: %v", err)
	}
}

// TestIPv4Checksum checks the checksum against the headers charon wrote in
// the captured tunnel-mode packets (golden_test.go): each verifies, and
// any single flipped bit is caught.
func TestIPv4Checksum(t *testing.T) {
	for _, g := range goldenSAs {
		for _, p := range g.pkts {
			h := unhex(t, p.inner)[:IPv4HeaderLen]
			if c := ipv4Checksum(h); c != 0 {
				t.Fatalf("%s frame %d: captured header sums to %#04x", g.name, p.frame, c)
			}
			for bit := range IPv4HeaderLen * 8 {
				c := bytes.Clone(h)
				c[bit/8] ^= 1 << (bit % 8)
				if ipv4Checksum(c) == 0 {
					t.Fatalf("%s frame %d: flipped bit %d verifies", g.name, p.frame, bit)
				}
			}
		}
	}
	// Recomputing over a header with the field zeroed gives the field.
	h := unhex(t, goldenSAs[0].pkts[0].inner)[:IPv4HeaderLen]
	want := binary.BigEndian.Uint16(h[10:])
	h[10], h[11] = 0, 0
	if got := ipv4Checksum(h); got != want {
		t.Fatalf("checksum %#04x, want %#04x", got, want)
	}
}

// TestParseIPv4UDPGolden parses the inner packets charon sent in tunnel
// mode (identification set, DF): each yields its UDP datagram.
func TestParseIPv4UDPGolden(t *testing.T) {
	for _, g := range goldenSAs {
		for _, p := range g.pkts {
			pkt := unhex(t, p.inner)
			udp, ok := ParseIPv4UDP(pkt, g.src)
			if !ok {
				t.Fatalf("%s frame %d: refused", g.name, p.frame)
			}
			if !bytes.Equal(udp, pkt[IPv4HeaderLen:]) {
				t.Fatalf("%s frame %d: datagram % x", g.name, p.frame, udp)
			}
			if _, ok := ParseIPv4UDP(pkt, g.dst); ok {
				t.Fatalf("%s frame %d: accepted from the wrong source", g.name, p.frame)
			}
		}
	}
}

func TestPutParseIPv4UDP(t *testing.T) {
	pkt := tunnelPacket(t, "hello")
	udp, ok := ParseIPv4UDP(pkt, ipv4Server)
	if !ok {
		t.Fatal("own packet refused")
	}
	h, payload, err := ParseUDP(udp)
	if err != nil || h.SrcPort != 1701 || h.DstPort != 1701 || string(payload) != "hello" {
		t.Fatalf("%+v %q %v", h, payload, err)
	}
	if &udp[0] != &pkt[IPv4HeaderLen] {
		t.Error("datagram does not alias the packet")
	}
	// Bytes after Total Length (link padding) are not part of the datagram.
	padded := append(bytes.Clone(pkt), 0, 0, 0)
	if udp, ok := ParseIPv4UDP(padded, ipv4Server); !ok || len(udp) != len(pkt)-IPv4HeaderLen {
		t.Errorf("padded packet: ok %v, %d bytes", ok, len(udp))
	}
}

// TestParseIPv4UDPTruncated: every prefix of a valid packet is refused
// (Total Length then exceeds the bytes there are).
func TestParseIPv4UDPTruncated(t *testing.T) {
	pkt := tunnelPacket(t, "truncate me")
	for n := range len(pkt) {
		if udp, ok := ParseIPv4UDP(pkt[:n], ipv4Server); ok || udp != nil {
			t.Fatalf("prefix %d accepted", n)
		}
	}
}

func TestParseIPv4UDPRefuses(t *testing.T) {
	cases := []struct {
		name   string
		change func(b []byte)
	}{
		{"more fragments", func(b []byte) { b[6] |= 0x20 }},
		{"fragment offset", func(b []byte) { binary.BigEndian.PutUint16(b[6:], 0x4000|1) }},
		{"last fragment", func(b []byte) { binary.BigEndian.PutUint16(b[6:], 0x0100) }},
		{"version 6", func(b []byte) { b[0] = 0x65 }},
		{"ihl 4", func(b []byte) { b[0] = 0x44 }},
		{"total below ihl", func(b []byte) { binary.BigEndian.PutUint16(b[2:], 19) }},
		{"tcp", func(b []byte) { b[9] = 6 }},
		{"wrong source", func(b []byte) { b[15] = 9 }},
	}
	for _, c := range cases {
		b := tunnelPacket(t, "x")
		c.change(b)
		fixChecksum(b) // only the change itself is wrong
		if udp, ok := ParseIPv4UDP(b, ipv4Server); ok || udp != nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// A bad checksum alone.
	b := tunnelPacket(t, "x")
	b[10] ^= 0x01
	if _, ok := ParseIPv4UDP(b, ipv4Server); ok {
		t.Error("bad checksum accepted")
	}
	// The reserved flag bit and the TTL are not checked.
	b = tunnelPacket(t, "x")
	b[6] |= 0x80
	b[8] = 1
	fixChecksum(b)
	if _, ok := ParseIPv4UDP(b, ipv4Server); !ok {
		t.Error("reserved flag or TTL 1 refused")
	}
}

// TestParseIPv4UDPOptions: a header with options (IHL 6) is skipped as a
// whole and its checksum covers the options.
func TestParseIPv4UDPOptions(t *testing.T) {
	plain := tunnelPacket(t, "opt")
	b := make([]byte, 0, len(plain)+4)
	b = append(b, plain[:IPv4HeaderLen]...)
	b = append(b, 0x01, 0x01, 0x01, 0x00) // NOP NOP NOP EOL (RFC 791 section 3.1)
	b = append(b, plain[IPv4HeaderLen:]...)
	b[0] = 0x46
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	fixChecksum(b)
	udp, ok := ParseIPv4UDP(b, ipv4Server)
	if !ok || !bytes.Equal(udp, plain[IPv4HeaderLen:]) {
		t.Fatalf("ok %v, datagram % x", ok, udp)
	}
	b[21] = 0x07 // an option byte: the checksum must notice
	if _, ok := ParseIPv4UDP(b, ipv4Server); ok {
		t.Fatal("corrupted option accepted")
	}
}

func TestIPv4UDPAllocs(t *testing.T) {
	pkt := tunnelPacket(t, "no allocations")
	hdr := make([]byte, IPv4HeaderLen)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := PutIPv4UDP(hdr, ipv4Server, ipv4Client, len(pkt)); err != nil {
			t.Fatal(err)
		}
		if _, ok := ParseIPv4UDP(pkt, ipv4Server); !ok {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet, want 0", allocs)
	}
}
