package vpn

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

const (
	flagSYN    = 0x02
	flagACK    = 0x10
	flagSYNACK = flagSYN | flagACK
)

var (
	mssV4Src = netip.MustParseAddr("10.8.0.2")
	mssV4Dst = netip.MustParseAddr("198.51.100.7")
	mssV6Src = netip.MustParseAddr("2001:db8::2")
	mssV6Dst = netip.MustParseAddr("2001:db8:1::7")
)

// mssOpt is the MSS option with value v (RFC 9293 section 3.2).
func mssOpt(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }

// tcpPacket builds an IPv4 (or IPv6) packet carrying a TCP segment from
// port 40000 to 443 with the given flags, options (padded to a multiple of
// 4 with EOL) and payload, and a correct TCP checksum.
func tcpPacket(v6 bool, flags byte, opts, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	tcp := make([]byte, 20, 20+len(opts)+len(payload))
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 443)
	binary.BigEndian.PutUint32(tcp[4:], 0x01020304) // sequence number
	if flags&flagACK != 0 {
		binary.BigEndian.PutUint32(tcp[8:], 0x0a0b0c0d)
	}
	tcp[12] = byte((20+len(opts))/4) << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 64240) // window
	tcp = append(append(tcp, opts...), payload...)
	var pkt []byte
	if v6 {
		pkt = make([]byte, 40, 40+len(tcp))
		pkt[0] = 0x60
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(tcp)))
		pkt[6], pkt[7] = ipProtoTCP, 64
		s, d := mssV6Src.As16(), mssV6Dst.As16()
		copy(pkt[8:], s[:])
		copy(pkt[24:], d[:])
	} else {
		pkt = make([]byte, 20, 20+len(tcp))
		pkt[0] = 0x45
		binary.BigEndian.PutUint16(pkt[2:], uint16(20+len(tcp)))
		binary.BigEndian.PutUint16(pkt[6:], 0x4000)
		pkt[8], pkt[9] = 64, ipProtoTCP
		s, d := mssV4Src.As4(), mssV4Dst.As4()
		copy(pkt[12:], s[:])
		copy(pkt[16:], d[:])
	}
	pkt = append(pkt, tcp...)
	setTCPChecksum(pkt)
	return pkt
}

// tcpSegment finds the TCP segment and the pseudo-header sum of pkt the
// way the checksum of RFC 9293 section 3.1 (IPv4) and RFC 8200 section 8.1
// (IPv6) covers it; ok is false when pkt is not IPv4/IPv6 carrying TCP.
// It is written independently of clampMSS.
func tcpSegment(pkt []byte) (seg []byte, pseudo uint64, ok bool) {
	if len(pkt) >= 20 && pkt[0]>>4 == 4 {
		ihl := int(pkt[0]&15) * 4
		total := int(pkt[2])<<8 | int(pkt[3])
		if ihl < 20 || total < ihl || total > len(pkt) || pkt[9] != ipProtoTCP {
			return nil, 0, false
		}
		seg = pkt[ihl:total]
		pseudo = sum16(pkt[12:20]) + ipProtoTCP + uint64(len(seg))
		return seg, pseudo, true
	}
	if len(pkt) >= 40 && pkt[0]>>4 == 6 && pkt[6] == ipProtoTCP {
		n := int(pkt[4])<<8 | int(pkt[5])
		if 40+n > len(pkt) {
			return nil, 0, false
		}
		seg = pkt[40 : 40+n]
		pseudo = sum16(pkt[8:40]) + ipProtoTCP + uint64(len(seg))
		return seg, pseudo, true
	}
	return nil, 0, false
}

// sum16 adds b as big-endian 16-bit words, an odd last octet padded with
// zero (RFC 1071).
func sum16(b []byte) uint64 {
	var s uint64
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// tcpChecksumOK reports whether pkt's TCP checksum verifies (known is
// false when there is no TCP segment with a checksum field).
func tcpChecksumOK(pkt []byte) (valid, known bool) {
	seg, pseudo, ok := tcpSegment(pkt)
	if !ok || len(seg) < 18 {
		return false, false
	}
	return fold(pseudo+sum16(seg)) == 0xffff, true
}

// setTCPChecksum computes pkt's TCP checksum from scratch.
func setTCPChecksum(pkt []byte) {
	seg, pseudo, ok := tcpSegment(pkt)
	if !ok || len(seg) < 18 {
		panic("setTCPChecksum: no TCP segment")
	}
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], ^fold(pseudo+sum16(seg)))
}

// checkClamped requires that clampMSS(pkt, to) changed exactly the MSS
// value and the checksum, that the checksum equals one computed from
// scratch and that the MSS is now to.
func checkClamped(t *testing.T, pkt []byte, to uint16) {
	t.Helper()
	before := bytes.Clone(pkt)
	if !clampMSS(pkt, to) {
		t.Fatalf("not clamped: % x", before)
	}
	seg, _, _ := tcpSegment(pkt)
	tcpOff := int(pkt[0]&15) * 4
	if pkt[0]>>4 == 6 {
		tcpOff = 40
	}
	var diff []int
	for i := range pkt {
		if pkt[i] != before[i] {
			diff = append(diff, i)
		}
	}
	for _, i := range diff {
		if i != tcpOff+16 && i != tcpOff+17 && (i < tcpOff+20 || i >= tcpOff+int(seg[12]>>4)*4) {
			t.Fatalf("byte %d changed (tcp at %d): % x", i, tcpOff, pkt)
		}
	}
	if valid, _ := tcpChecksumOK(pkt); !valid {
		t.Fatalf("checksum does not verify after clamping: % x", pkt)
	}
	want := bytes.Clone(pkt)
	setTCPChecksum(want)
	if !bytes.Equal(want, pkt) {
		t.Fatalf("incremental checksum %x, from scratch %x", pkt[tcpOff+16:tcpOff+18], want[tcpOff+16:tcpOff+18])
	}
	if mss, ok := findMSS(seg); !ok || mss != to {
		t.Fatalf("MSS now %d (%v), want %d", mss, ok, to)
	}
}

// findMSS is a plain reading of the MSS option, for the checks.
func findMSS(seg []byte) (uint16, bool) {
	opts := seg[20 : int(seg[12]>>4)*4]
	for len(opts) > 0 {
		switch {
		case opts[0] == 0:
			return 0, false
		case opts[0] == 1:
			opts = opts[1:]
		case len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts):
			return 0, false
		case opts[0] == 2 && opts[1] == 4:
			return uint16(opts[2])<<8 | uint16(opts[3]), true
		default:
			opts = opts[opts[1]:]
		}
	}
	return 0, false
}

func TestClampMSSIPv4SYN(t *testing.T) {
	pkt := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	checkClamped(t, pkt, 1360)
	// Clamping again changes nothing.
	again := bytes.Clone(pkt)
	if clampMSS(again, 1360) || !bytes.Equal(again, pkt) {
		t.Fatal("second clamp changed the packet")
	}
}

func TestClampMSSSYNACK(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		checkClamped(t, tcpPacket(v6, flagSYNACK, mssOpt(1460), nil), 1360)
	}
}

func TestClampMSSIPv6SYN(t *testing.T) {
	checkClamped(t, tcpPacket(true, flagSYN, mssOpt(1440), nil), 1340)
}

// TestClampMSSLinuxSYN: the options of a Linux SYN, MSS first.
func TestClampMSSLinuxSYN(t *testing.T) {
	opts := append(mssOpt(1460), 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7)
	checkClamped(t, tcpPacket(false, flagSYN, opts, nil), 1360)
}

// TestClampMSSOptionsBefore: NOPs, timestamps and SACK-permitted before
// the MSS, with the MSS value at an even and at an odd offset from the TCP
// header (the odd one straddles two checksum words).
func TestClampMSSOptionsBefore(t *testing.T) {
	ts := []byte{8, 10, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0}
	even := append(append(append([]byte{1, 1}, ts...), 4, 2), mssOpt(1460)...)
	odd := append(append(append([]byte{1, 1}, ts...), 4, 2, 1), mssOpt(1460)...)
	for name, opts := range map[string][]byte{"even": even, "odd": odd} {
		for _, v6 := range []bool{false, true} {
			pkt := tcpPacket(v6, flagSYN, opts, nil)
			checkClamped(t, pkt, 1360)
			seg, _, _ := tcpSegment(pkt)
			at := bytes.Index(seg[20:], []byte{2, 4}) + 20 + 2
			if (at%2 == 1) != (name == "odd") {
				t.Fatalf("%s: MSS value at offset %d", name, at)
			}
		}
	}
	// Every MSS value and limit, at both offsets: the incremental checksum
	// always equals one computed from scratch (checkClamped).
	for _, opts := range [][]byte{even, odd} {
		for _, old := range []uint16{1, 10, 37, 118, 361, 1090, 1460, 3277, 9838, 29521, 0xff00, 0xffff} {
			o := bytes.Clone(opts)
			binary.BigEndian.PutUint16(o[len(o)-2:], old)
			for _, to := range []uint16{0, 1, 536, 1220, 0x00ff, 0xff00, old - 1} {
				if to < old {
					checkClamped(t, tcpPacket(false, flagSYN, o, []byte{0xAB}), to)
				}
			}
		}
	}
}

func TestClampMSSUntouched(t *testing.T) {
	ts := []byte{8, 10, 1, 2, 3, 4, 5, 6, 7, 8}
	cases := []struct {
		name string
		pkt  []byte
	}{
		{"ack", tcpPacket(false, flagACK, mssOpt(1460), nil)},
		{"data", tcpPacket(false, flagACK, nil, []byte("GET / HTTP/1.1\r\n"))},
		{"mss lower", tcpPacket(false, flagSYN, mssOpt(1200), nil)},
		{"mss equal", tcpPacket(false, flagSYN, mssOpt(1360), nil)},
		{"ipv6 mss lower", tcpPacket(true, flagSYN, mssOpt(1280), nil)},
		{"no options", tcpPacket(false, flagSYN, nil, nil)},
		{"no mss", tcpPacket(false, flagSYN, append([]byte{1, 1}, ts...), nil)},
		{"mss after EOL", tcpPacket(false, flagSYN, append([]byte{0, 1, 1, 1}, mssOpt(1460)...), nil)},
		{"mss of length 3", tcpPacket(false, flagSYN, []byte{2, 3, 5, 0xb4}, nil)},
		{"mss after a zero-length option", tcpPacket(false, flagSYN, append([]byte{30, 0, 1, 1}, mssOpt(1460)...), nil)},
		{"mss after an option running past the header", tcpPacket(false, flagSYN, append([]byte{30, 9, 1, 1}, mssOpt(1460)...), nil)},
		{"mss kind as the last option octet", tcpPacket(false, flagSYN, []byte{1, 1, 1, 2}, nil)},
	}
	// Data offset 6 keeps the option octets 01 01 01 02: the MSS option's
	// length octet is outside the header.
	cut := tcpPacket(false, flagSYN, []byte{1, 1, 1, 2, 4, 5, 0xb4, 0}, nil)[:20+20+4]
	cut[20+12] = 6 << 4
	binary.BigEndian.PutUint16(cut[2:], uint16(len(cut)))
	udp := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	udp[9] = 17
	frag := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	binary.BigEndian.PutUint16(frag[6:], 0x0001) // fragment offset 8
	hopByHop := tcpPacket(true, flagSYN, mssOpt(1460), nil)
	hopByHop[6] = 0 // TCP behind an extension header is not looked for
	badDoff := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	badDoff[20+12] = 4 << 4
	longDoff := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	longDoff[20+12] = 7 << 4
	longTotal := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	binary.BigEndian.PutUint16(longTotal[2:], uint16(len(longTotal)+1))
	longV6 := tcpPacket(true, flagSYN, mssOpt(1460), nil)
	binary.BigEndian.PutUint16(longV6[4:], uint16(len(longV6)-40+1))
	bigIHL := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	bigIHL[0] = 0x4f
	v5 := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	v5[0] = 0x55
	cases = append(cases, []struct {
		name string
		pkt  []byte
	}{
		{"mss cut by the data offset", cut}, {"udp", udp}, {"later fragment", frag}, {"ipv6 hop-by-hop", hopByHop},
		{"data offset 4", badDoff}, {"data offset past the segment", longDoff},
		{"total length past the packet", longTotal}, {"payload length past the packet", longV6},
		{"ihl past the total length", bigIHL}, {"version 5", v5},
		{"empty", nil}, {"one octet", []byte{0x45}}, {"ipv6 one octet", []byte{0x60}},
	}...)
	for _, c := range cases {
		before := bytes.Clone(c.pkt)
		if clampMSS(c.pkt, 1360) {
			t.Errorf("%s: clamped", c.name)
		}
		if !bytes.Equal(before, c.pkt) {
			t.Errorf("%s: changed", c.name)
		}
	}
}

// TestClampMSSTruncated: every prefix of a SYN (its length fields left as
// they were) is left alone, and so is every prefix with the length fields
// made to fit, unless the prefix still holds the whole MSS option.
func TestClampMSSTruncated(t *testing.T) {
	opts := append([]byte{1, 1, 4, 2}, mssOpt(1460)...)
	for _, v6 := range []bool{false, true} {
		pkt := tcpPacket(v6, flagSYN, opts, nil)
		hl := 20
		if v6 {
			hl = 40
		}
		for n := range len(pkt) {
			p := bytes.Clone(pkt[:n])
			if clampMSS(p, 1360) || !bytes.Equal(p, pkt[:n]) {
				t.Fatalf("v6 %v: prefix %d clamped", v6, n)
			}
			if n < hl {
				continue
			}
			if v6 {
				binary.BigEndian.PutUint16(p[4:], uint16(n-hl))
			} else {
				binary.BigEndian.PutUint16(p[2:], uint16(n))
			}
			// The data offset still says 32 octets of TCP header.
			if clampMSS(p, 1360) {
				t.Fatalf("v6 %v: prefix %d with fitting length clamped", v6, n)
			}
		}
	}
}

func TestClampMSSIPv4Options(t *testing.T) {
	pkt := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	withOpts := append(append(bytes.Clone(pkt[:20]), 1, 1, 1, 0), pkt[20:]...)
	withOpts[0] = 0x46
	binary.BigEndian.PutUint16(withOpts[2:], uint16(len(withOpts)))
	checkClamped(t, withOpts, 1360)
	// A first fragment (More Fragments set, offset 0) is clamped.
	first := tcpPacket(false, flagSYN, mssOpt(1460), []byte("data"))
	binary.BigEndian.PutUint16(first[6:], 0x2000)
	checkClamped(t, first, 1360)
}

func TestClampMSSAllocs(t *testing.T) {
	pkt := tcpPacket(false, flagSYN, append([]byte{1, 1, 4, 2}, mssOpt(1460)...), nil)
	work := make([]byte, len(pkt))
	allocs := testing.AllocsPerRun(1000, func() {
		copy(work, pkt)
		if !clampMSS(work, 1360) {
			t.Fatal("not clamped")
		}
	})
	if allocs != 0 {
		t.Fatalf("clampMSS allocates %v times per packet, want 0", allocs)
	}
}

func BenchmarkClampMSS(b *testing.B) {
	syn := tcpPacket(false, flagSYN, append([]byte{1, 1, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 4, 2}, mssOpt(1460)...), nil)
	data := tcpPacket(false, flagACK, nil, make([]byte, 1360))
	work := make([]byte, len(syn))
	b.Run("syn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(work, syn)
			clampMSS(work, 1360)
		}
	})
	b.Run("data", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			clampMSS(data, 1360)
		}
	})
}
