package esp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestInnerFrameUnframe(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	v6a, v6b := netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::1")
	d := []byte("an L2TP datagram")
	for _, tc := range []struct {
		name     string
		mode     Mode
		a, b     netip.Addr
		hl       int
		next     byte
		checksum bool
	}{
		{"transport-v4", Transport, v4a, v4b, 0, NextHeaderUDP, false},
		{"transport-v6", Transport, v6a, v6b, 0, NextHeaderUDP, true},
		{"tunnel-v4", Tunnel, v4a, v4b, IPv4HeaderLen, NextHeaderIPv4, false},
		{"tunnel-v6", Tunnel, v6a, v6b, IPv6HeaderLen, NextHeaderIPv6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := Inner{Mode: tc.mode, Local: tc.a, Peer: tc.b, LocalPort: L2TPPort, PeerPort: 40000}
			rx := Inner{Mode: tc.mode, Local: tc.b, Peer: tc.a, LocalPort: 40000, PeerPort: L2TPPort}
			if tx.IPLen() != tc.hl || tx.Len() != tc.hl+UDPHeaderLen {
				t.Fatalf("IPLen %d, Len %d; want %d, %d", tx.IPLen(), tx.Len(), tc.hl, tc.hl+UDPHeaderLen)
			}
			off := 64
			buf := make([]byte, off+len(d)+16)
			copy(buf[off:], d)
			start, next, err := tx.Frame(buf, off, len(d))
			if err != nil || start != off-tx.Len() || next != tc.next {
				t.Fatalf("Frame = %d, %d, %v; want %d, %d", start, next, err, off-tx.Len(), tc.next)
			}
			udp := buf[off-UDPHeaderLen : off]
			if sum := binary.BigEndian.Uint16(udp[6:]); (sum != 0) != tc.checksum {
				t.Errorf("UDP checksum %#04x; want one: %v", sum, tc.checksum)
			}
			if got, port, ok := rx.Unframe(buf[start:off+len(d)], next); !ok || port != L2TPPort || !bytes.Equal(got, d) {
				t.Fatalf("Unframe = %q, %d, %v", got, port, ok)
			}
			// What Unframe refuses: another next header, another
			// destination port, and in tunnel mode another source.
			if _, _, ok := rx.Unframe(buf[start:off+len(d)], NextHeaderNone); ok {
				t.Errorf("Unframe took next header %d", NextHeaderNone)
			}
			other := rx
			other.LocalPort = 40001
			if _, _, ok := other.Unframe(buf[start:off+len(d)], next); ok {
				t.Errorf("Unframe took a datagram for port 40000 as 40001's")
			}
			if tc.mode == Tunnel {
				other = rx
				other.Peer = tc.b
				if _, _, ok := other.Unframe(buf[start:off+len(d)], next); ok {
					t.Errorf("Unframe took an inner header from %v as %v's", tc.a, tc.b)
				}
			}
			if n := testing.AllocsPerRun(100, func() {
				start, next, _ = tx.Frame(buf, off, len(d))
				rx.Unframe(buf[start:off+len(d)], next)
			}); n != 0 {
				t.Errorf("%v allocations per Frame and Unframe", n)
			}
		})
	}
}

func TestInnerFrameNoRoom(t *testing.T) {
	in := Inner{Mode: Tunnel, Local: netip.MustParseAddr("192.0.2.2"), Peer: netip.MustParseAddr("192.0.2.1"), LocalPort: L2TPPort, PeerPort: L2TPPort}
	for _, off := range []int{UDPHeaderLen - 1, UDPHeaderLen + IPv4HeaderLen - 1} {
		buf := make([]byte, off+4)
		if _, _, err := in.Frame(buf, off, 4); !errors.Is(err, ErrBufferSpace) {
			t.Errorf("headroom %d: Frame = %v, want ErrBufferSpace", off, err)
		}
	}
	buf := make([]byte, 40)
	if _, _, err := in.Frame(buf, 30, 20); !errors.Is(err, ErrBufferSpace) {
		t.Errorf("datagram past the buffer: Frame = %v, want ErrBufferSpace", err)
	}
}
