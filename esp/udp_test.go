package esp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestPutParseUDP(t *testing.T) {
	b := make([]byte, 8+5)
	copy(b[8:], "hello")
	if err := PutUDP(b, 1701, 1701, 5); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x06, 0xa5, 0x06, 0xa5, 0, 13, 0, 0}; !bytes.Equal(b[:8], want) {
		t.Fatalf("header %x", b[:8])
	}
	h, p, err := ParseUDP(b)
	if err != nil || h.SrcPort != 1701 || h.DstPort != 1701 || h.Length != 13 || string(p) != "hello" {
		t.Fatalf("%+v %q %v", h, p, err)
	}
	v4a, v4b := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	if !VerifyUDPChecksum(b, v4a, v4b) {
		t.Error("checksum 0 refused for IPv4")
	}
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	if VerifyUDPChecksum(b, v6a, v6b) {
		t.Error("checksum 0 accepted for IPv6")
	}
	for _, a := range [][2]netip.Addr{{v4a, v4b}, {v6a, v6b}} {
		for n := range 8 { // odd and even lengths
			b := make([]byte, 8+n)
			for i := range n {
				b[8+i] = byte(0xF0 + i)
			}
			if err := PutUDPChecksum(b, a[0], a[1], 1701, 4500, n); err != nil {
				t.Fatal(err)
			}
			if b[6] == 0 && b[7] == 0 {
				t.Fatal("zero checksum written")
			}
			if !VerifyUDPChecksum(b, a[0], a[1]) {
				t.Fatalf("%v n=%d: checksum does not verify", a, n)
			}
			if n > 0 {
				b[8] ^= 1
				if VerifyUDPChecksum(b, a[0], a[1]) {
					t.Fatalf("%v n=%d: corrupted datagram verifies", a, n)
				}
			}
		}
	}
	if err := PutUDPChecksum(make([]byte, 8), v4a, v6b, 1, 2, 0); !errors.Is(err, ErrUDP) {
		t.Error("mixed families accepted")
	}
	if err := PutUDPChecksum(make([]byte, 8), v4a, v4b, 1, 2, 1); !errors.Is(err, ErrUDP) {
		t.Error("payload beyond buffer accepted")
	}
	if err := PutUDP(make([]byte, 7), 1, 2, 0); !errors.Is(err, ErrUDP) {
		t.Error("short buffer accepted")
	}
	if err := PutUDP(make([]byte, 8), 1, 2, 0x10000); !errors.Is(err, ErrUDP) {
		t.Error("oversized payload accepted")
	}
}

func TestParseUDPErrors(t *testing.T) {
	good := []byte{0x06, 0xa5, 0x06, 0xa5, 0, 10, 0, 0, 'h', 'i', 'x'}
	// Truncation sweep: every prefix shorter than the length field fails.
	for n := range 10 {
		if _, _, err := ParseUDP(good[:n]); !errors.Is(err, ErrUDP) {
			t.Fatalf("prefix %d: err = %v", n, err)
		}
	}
	// Trailing bytes beyond the length field are ignored.
	if _, p, err := ParseUDP(good); err != nil || string(p) != "hi" {
		t.Fatalf("%q %v", p, err)
	}
	bad := bytes.Clone(good)
	bad[5] = 7 // length below the header
	if _, _, err := ParseUDP(bad); !errors.Is(err, ErrUDP) {
		t.Error("length 7 accepted")
	}
	bad = bytes.Clone(good)
	bad[2], bad[3] = 0, 0 // destination port 0
	if _, _, err := ParseUDP(bad); !errors.Is(err, ErrUDP) {
		t.Error("destination port 0 accepted")
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		d    []byte
		kind Kind
		spi  uint32
	}{
		{nil, KindInvalid, 0},
		{[]byte{0xFF}, KindKeepalive, 0},
		{[]byte{0xFE}, KindInvalid, 0},
		{[]byte{0xFF, 0xFF}, KindInvalid, 0},
		{[]byte{0, 0, 0}, KindInvalid, 0},
		{[]byte{0, 0, 0, 0}, KindIKE, 0},
		{append(make([]byte, 4), bytes.Repeat([]byte{1}, 28)...), KindIKE, 0},
		{[]byte{0, 0, 0, 0xFF, 0, 0, 0, 1}, KindInvalid, 0}, // reserved SPI
		{[]byte{0, 0, 1, 0, 0, 0, 0, 1}, KindESP, 256},
		{[]byte{0x9c, 0x4a, 0xe6, 0xb5, 0, 0, 0}, KindInvalid, 0}, // shorter than the ESP header
		{[]byte{0x9c, 0x4a, 0xe6, 0xb5, 0, 0, 0, 1}, KindESP, 0x9c4ae6b5},
	}
	for _, c := range cases {
		k, spi := Classify(c.d)
		if k != c.kind || spi != c.spi {
			t.Errorf("Classify(%x) = %v %#x, want %v %#x", c.d, k, spi, c.kind, c.spi)
		}
	}
	if got := AppendNonESPMarker([]byte{9}); !bytes.Equal(got, []byte{9, 0, 0, 0, 0}) {
		t.Errorf("AppendNonESPMarker = %x", got)
	}
}
