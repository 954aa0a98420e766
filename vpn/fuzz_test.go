package vpn

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// within reports whether sub lies inside b's memory.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	s, e := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[len(b)-1]))
	p, q := uintptr(unsafe.Pointer(&sub[0])), uintptr(unsafe.Pointer(&sub[len(sub)-1]))
	return s <= p && q <= e
}

// FuzzClassifyL2TP feeds any datagram to the data path's demultiplexer
// (L2TP header, then PPP frame). Whatever it accepts agrees with the two
// decoders, the payload lies inside the datagram, and an IP packet it
// returns, encapsulated again by encap, classifies to the same packet.
func FuzzClassifyL2TP(f *testing.F) {
	for _, pkt := range [][]byte{ipv4Packet(20), ipv4Packet(100), append([]byte{0x60}, make([]byte, 39)...)} {
		buf := make([]byte, txHeadroom+bufSize)
		copy(buf[txHeadroom:], pkt)
		d, _ := encap(buf, txHeadroom, len(pkt), 1, 2, new(l2tp.DataSequence))
		f.Add(bytes.Clone(d), uint16(1), uint16(2))
	}
	f.Add([]byte{0x00, 0x02, 0, 1, 0, 2, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0}, uint16(1), uint16(0))
	f.Add([]byte{0x00, 0x02, 0, 1, 0, 2, 0x00, 0x21, 0x45}, uint16(1), uint16(2))
	f.Add([]byte{0xc8, 0x02, 0x00, 0x0c, 0, 1, 0, 0, 0, 0, 0, 0}, uint16(1), uint16(2))
	f.Add([]byte{0x4b, 0x02, 0x00, 0x10, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0x00, 0x21}, uint16(1), uint16(2))
	f.Fuzz(func(t *testing.T, d []byte, tunnel, session uint16) {
		kind, proto, payload := classify(d, tunnel, session, new(l2tp.DataSequence))
		if kind != rxIP && kind != rxPPP && (proto != 0 || payload != nil) {
			t.Fatalf("kind %d with protocol %v and a payload", kind, proto)
		}
		if !within(payload, d) {
			t.Fatal("payload outside the datagram")
		}
		h, _, err := l2tp.ParseHeader(d)
		switch kind {
		case rxMalformed:
			return
		case rxControl:
			if err != nil || !h.Control {
				t.Fatalf("control: %+v %v", h, err)
			}
			return
		case rxWrongSession:
			if err != nil || h.Control || (h.TunnelID == tunnel && (session == 0 || h.SessionID == session)) {
				t.Fatalf("wrong session: %+v %v", h, err)
			}
			return
		case rxIP, rxPPP:
			if err != nil || h.Control || h.TunnelID != tunnel || (session != 0 && h.SessionID != session) {
				t.Fatalf("data for us: %+v %v", h, err)
			}
		default:
			t.Fatalf("kind %d", kind)
		}
		isIP := proto == ppp.ProtoIPv4 || proto == ppp.ProtoIPv6
		if (kind == rxIP) != isIP || (kind == rxIP && len(payload) == 0) {
			t.Fatalf("kind %d, protocol %v, %d bytes", kind, proto, len(payload))
		}
		if kind != rxIP || len(payload) > bufSize {
			return
		}
		buf := make([]byte, txHeadroom+bufSize)
		copy(buf[txHeadroom:], payload)
		d2, ok := encap(buf, txHeadroom, len(payload), h.TunnelID, h.SessionID, new(l2tp.DataSequence))
		if !ok {
			if v := payload[0] >> 4; v == 4 || v == 6 {
				t.Fatalf("encap refused a version-%d packet", v)
			}
			return
		}
		kind2, proto2, payload2 := classify(d2, h.TunnelID, h.SessionID, new(l2tp.DataSequence))
		wantProto := map[byte]ppp.Protocol{4: ppp.ProtoIPv4, 6: ppp.ProtoIPv6}[payload[0]>>4]
		if kind2 != rxIP || proto2 != wantProto || !bytes.Equal(payload2, payload) {
			t.Fatalf("round trip: %d %v %x", kind2, proto2, payload2)
		}
	})
}

// FuzzSplitServer checks the server address parser (HOST[:PORT] from the
// command line or a profile): what it accepts has a host, a port from 1 to
// 65535 and, for a host written as an address, a valid IPv4 or IPv6
// address (no zone); and the accepted host and port, joined again, give
// the same result.
func FuzzSplitServer(f *testing.F) {
	for _, s := range []string{"vpn.example.com", "192.0.2.1", "192.0.2.1:1702", "vpn.example.com:1701",
		"192.0.2.300", "[2001:db8::1]:1701", "2001:db8::1", "[2001:db8::1]", "[fe80::1%eth0]:1701", "2001:db8::1:1701", ":1701", "host:0", "host:65536", "host:", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hp, err := splitServer(s)
		if CheckServer(s) == nil != (err == nil) {
			t.Fatal("CheckServer and splitServer disagree")
		}
		if err != nil {
			if hp != ([2]string{}) {
				t.Fatalf("result %q with an error", hp)
			}
			return
		}
		host, port := hp[0], hp[1]
		if host == "" || strings.ContainsAny(host, "[]%") {
			t.Fatalf("%q: host %q", s, host)
		}
		if strings.Contains(host, ":") {
			if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
				t.Fatalf("%q: host %q is not an IPv6 address", s, host)
			}
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			t.Fatalf("%q: port %q", s, port)
		}
		if strings.Trim(host, "0123456789.") == "" {
			if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
				t.Fatalf("%q: host %q is not an IPv4 address", s, host)
			}
		}
		if hp2, err := splitServer(net.JoinHostPort(host, port)); err != nil || hp2 != hp {
			t.Fatalf("%q: %q joined again gives %q, %v", s, hp, hp2, err)
		}
	})
}

// FuzzClampMSS: on any packet and limit clampMSS never panics; when it
// reports no change the packet is unchanged; when it reports a change, the
// packet was a TCP SYN whose MSS option exceeded the limit, only the two
// MSS octets and the two checksum octets differ, the MSS is now the limit,
// and the TCP checksum (over the IPv4 or IPv6 pseudo-header) verifies
// exactly when it verified before.
func FuzzClampMSS(f *testing.F) {
	ts := []byte{8, 10, 1, 2, 3, 4, 0, 0, 0, 0}
	for _, v6 := range []bool{false, true} {
		f.Add(tcpPacket(v6, flagSYN, mssOpt(1460), nil), uint16(1360))
		f.Add(tcpPacket(v6, flagSYNACK, mssOpt(1460), nil), uint16(1360))
		f.Add(tcpPacket(v6, flagSYN, append(append([]byte{1, 1}, ts...), 4, 2, 1, 2, 4, 5, 0xb4), nil), uint16(1200))
		f.Add(tcpPacket(v6, flagSYN, append(append([]byte{1, 1}, ts...), 4, 2, 2, 4, 5, 0xb4), []byte("x")), uint16(536))
		f.Add(tcpPacket(v6, flagACK, nil, []byte("data")), uint16(1360))
	}
	withOpts := tcpPacket(false, flagSYN, mssOpt(1460), nil)
	withOpts = append(append(bytes.Clone(withOpts[:20]), 1, 1, 1, 0), withOpts[20:]...)
	withOpts[0] = 0x46
	withOpts[3] += 4
	f.Add(withOpts, uint16(1360))
	f.Fuzz(func(t *testing.T, pkt []byte, maxMSS uint16) {
		before := bytes.Clone(pkt)
		validBefore, known := tcpChecksumOK(pkt)
		if !clampMSS(pkt, maxMSS) {
			if !bytes.Equal(pkt, before) {
				t.Fatal("changed without saying so")
			}
			return
		}
		seg, _, ok := tcpSegment(pkt)
		if !ok || !known || len(seg) < 20 || seg[13]&flagSYN == 0 {
			t.Fatalf("clamped something that is not a TCP SYN: % x", before)
		}
		tcpOff := 40
		if pkt[0]>>4 == 4 {
			tcpOff = int(pkt[0]&15) * 4
		}
		doff := int(seg[12]>>4) * 4
		var mssAt []int
		for i := range pkt {
			if pkt[i] == before[i] || i == tcpOff+16 || i == tcpOff+17 {
				continue
			}
			if i < tcpOff+20 || i >= tcpOff+doff {
				t.Fatalf("byte %d outside the TCP options changed", i)
			}
			mssAt = append(mssAt, i)
		}
		mss, found := findMSS(seg)
		oldMSS, _ := findMSS(before[tcpOff : tcpOff+len(seg)])
		if !found || mss != maxMSS || oldMSS <= maxMSS {
			t.Fatalf("MSS %d -> %d (found %v), limit %d", oldMSS, mss, found, maxMSS)
		}
		if len(mssAt) > 2 || (len(mssAt) == 2 && mssAt[1] != mssAt[0]+1) {
			t.Fatalf("changed option bytes at %v", mssAt)
		}
		if validAfter, _ := tcpChecksumOK(pkt); validAfter != validBefore {
			t.Fatalf("checksum verified %v before, %v after", validBefore, validAfter)
		}
	})
}

// FuzzParseNameservers reads any resolv.conf for the server's resolver: the
// result is, in order, the valid address after "nameserver" on each line
// that starts with it (IPv4-mapped addresses unmapped), and written out
// again it reads back the same.
func FuzzParseNameservers(f *testing.F) {
	f.Add([]byte("# generated\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.com\n"))
	f.Add([]byte("nameserver 192.0.2.53\r\nnameserver 2001:db8::53 # v6\nnameserver ::ffff:192.0.2.54\nnameserver bogus\nnameserver\n  nameserver 198.51.100.1"))
	f.Add([]byte("nameserver fe80::1%eth0\n;nameserver 192.0.2.1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseNameservers(b)
		if len(b) < 60000 { // bufio.Scanner's line limit is 64 KiB
			var want []netip.Addr
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
					if a, err := netip.ParseAddr(f[1]); err == nil {
						want = append(want, a.Unmap())
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%q: %v, want %v", b, got, want)
			}
		}
		var out []byte
		for _, a := range got {
			if a.Is4In6() {
				t.Fatalf("%v not unmapped", a)
			}
			out = append(out, "nameserver "+a.String()+"\n"...)
		}
		if again := parseNameservers(out); !slices.Equal(again, got) {
			t.Fatalf("%v written and read back: %v", got, again)
		}
	})
}
