package esp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// FuzzOpen feeds arbitrary packets to inbound SAs of a CBC+HMAC and a GCM
// transform, seeded with the golden packets and with Seal output. Open must
// never panic, must fail with one of its sentinels, and a payload it returns
// must lie inside the packet.
func FuzzOpen(f *testing.F) {
	g := goldenSAs[0]  // AES-CBC-128 + HMAC-SHA1-96
	gg := goldenSAs[1] // AES-GCM-16-256
	for _, s := range []goldenSA{g, gg} {
		for _, p := range s.pkts {
			f.Add(unhex(f, p.pkt))
		}
	}
	for _, s := range []goldenSA{g, gg} {
		out, err := NewSA(s.spi, s.t, unhex(f, s.keymat), Tunnel, nil)
		if err != nil {
			f.Fatal(err)
		}
		for _, n := range []int{0, 1, 13, 100} {
			f.Add(seal(f, out, bytes.Repeat([]byte{0x45}, n), 4))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x9c, 0x4a, 0xe6, 0xb5, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, s := range []goldenSA{g, gg} {
			in, err := NewSA(s.spi, s.t, unhex(t, s.keymat), Tunnel, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := bytes.Clone(pkt)
			payload, _, err := in.Open(c)
			if err != nil {
				for _, want := range []error{ErrMalformed, ErrAuth, ErrReplay, ErrPadding, ErrWrongSPI} {
					if errors.Is(err, want) {
						return
					}
				}
				t.Fatalf("unexpected error %v", err)
			}
			if len(payload) > len(c) {
				t.Fatalf("payload longer than packet")
			}
			if _, _, err := in.Open(bytes.Clone(pkt)); !errors.Is(err, ErrReplay) {
				t.Fatalf("second open of the same packet: %v", err)
			}
		}
	})
}

// FuzzClassify checks Classify's invariants on any datagram.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{0xFF})
	f.Add([]byte{0, 0, 0, 0, 1, 2, 3})
	for _, s := range goldenSAs {
		f.Add(unhex(f, s.pkts[0].pkt))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		k, spi := Classify(d)
		switch k {
		case KindKeepalive:
			if len(d) != 1 || d[0] != 0xFF {
				t.Fatalf("keepalive %x", d)
			}
		case KindIKE:
			if len(d) < 4 || !bytes.Equal(d[:4], []byte{0, 0, 0, 0}) {
				t.Fatalf("ike %x", d)
			}
		case KindESP:
			if len(d) < 8 || spi < 256 {
				t.Fatalf("esp %x spi %d", d, spi)
			}
		case KindInvalid:
		default:
			t.Fatalf("kind %v", k)
		}
	})
}

// FuzzParseUDP checks ParseUDP never panics and that the checksum helpers
// agree with each other.
func FuzzParseUDP(f *testing.F) {
	f.Add(unhex(f, goldenSAs[0].pkts[0].inner)[20:])
	f.Add([]byte{0x06, 0xa5, 0x06, 0xa5, 0, 8, 0, 0})
	src, dst := netip.MustParseAddr("203.0.113.130"), netip.MustParseAddr("203.0.113.129")
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := ParseUDP(b)
		if err != nil {
			return
		}
		if int(h.Length) != UDPHeaderLen+len(payload) {
			t.Fatalf("length %d, payload %d", h.Length, len(payload))
		}
		c := make([]byte, h.Length)
		copy(c[UDPHeaderLen:], payload)
		if err := PutUDPChecksum(c, src, dst, h.SrcPort, h.DstPort, len(payload)); err != nil {
			t.Fatal(err)
		}
		if !VerifyUDPChecksum(c, src, dst) {
			t.Fatalf("own checksum does not verify: %x", c)
		}
	})
}

// FuzzParseIPv4UDP checks ParseIPv4UDP on any bytes: what it accepts is an
// unfragmented UDP packet from the given source with a verifying header
// checksum, the datagram it returns lies inside the packet where IHL and
// Total Length put it, and writing our own header in front of that datagram
// gives a packet that parses to the same bytes.
func FuzzParseIPv4UDP(f *testing.F) {
	for _, g := range goldenSAs {
		f.Add(unhex(f, g.pkts[0].inner), g.src.AsSlice())
	}
	own := tunnelPacket(f, "golden-udp-1\n")
	f.Add(own, ipv4Server.AsSlice())
	f.Add(own[:IPv4HeaderLen+3], ipv4Server.AsSlice())
	f.Add([]byte{0x46, 0, 0, 24, 0, 0, 0x20, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 1, 1, 1, 0}, ipv4Server.AsSlice())
	f.Fuzz(func(t *testing.T, b, src []byte) {
		if len(src) != 4 {
			return
		}
		from := netip.AddrFrom4([4]byte(src))
		udp, ok := ParseIPv4UDP(b, from)
		if !ok {
			if udp != nil {
				t.Fatal("datagram returned with a refusal")
			}
			return
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(b[2])<<8 | int(b[3])
		switch {
		case b[0]>>4 != 4 || ihl < IPv4HeaderLen || b[9] != 17:
			t.Fatalf("accepted version/ihl/protocol % x", b[:10])
		case b[6]&0x3f != 0 || b[7] != 0:
			t.Fatalf("accepted a fragment % x", b[6:8])
		case ipv4Checksum(b[:ihl]) != 0:
			t.Fatal("accepted a bad checksum")
		case netip.AddrFrom4([4]byte(b[12:16])) != from:
			t.Fatal("accepted another source")
		case len(udp) != total-ihl || (len(udp) > 0 && &udp[0] != &b[ihl]):
			t.Fatalf("datagram of %d bytes at the wrong place (ihl %d, total %d)", len(udp), ihl, total)
		}
		if len(udp) < UDPHeaderLen {
			return
		}
		re := make([]byte, IPv4HeaderLen+len(udp))
		copy(re[IPv4HeaderLen:], udp)
		dst := netip.AddrFrom4([4]byte(b[16:20]))
		if err := PutIPv4UDP(re, from, dst, len(re)); err != nil {
			t.Fatal(err)
		}
		if udp2, ok := ParseIPv4UDP(re, from); !ok || !bytes.Equal(udp2, udp) {
			t.Fatalf("re-encoded packet: ok %v", ok)
		}
	})
}
