package vpn

import (
	"bytes"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// ipv4Packet is a minimal IPv4/UDP packet (the content does not matter to
// the data path beyond the version nibble).
func ipv4Packet(n int) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	for i := 20; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

func TestEncapClassifyRoundTrip(t *testing.T) {
	for _, pkt := range [][]byte{ipv4Packet(20), ipv4Packet(1400), append([]byte{0x60}, make([]byte, 59)...)} {
		buf := make([]byte, txHeadroom+bufSize)
		copy(buf[txHeadroom:], pkt)
		d, ok := encap(buf, txHeadroom, len(pkt), 0x1234, 0x5678, new(l2tp.DataSequence))
		if !ok {
			t.Fatalf("encap refused a valid packet")
		}
		want := []byte{0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0xff, 0x03}
		if !bytes.Equal(d[:8], want) {
			t.Fatalf("headers % x, want % x", d[:8], want)
		}
		// The server's view: its tunnel/session ids are what we sent.
		kind, proto, payload := classify(d, 0x1234, 0x5678, new(l2tp.DataSequence))
		if kind != rxIP || !bytes.Equal(payload, pkt) {
			t.Fatalf("classify = %v %v, payload equal %v", kind, proto, bytes.Equal(payload, pkt))
		}
		if wantProto := map[byte]ppp.Protocol{4: ppp.ProtoIPv4, 6: ppp.ProtoIPv6}[pkt[0]>>4]; proto != wantProto {
			t.Fatalf("protocol %v, want %v", proto, wantProto)
		}
	}
}

func TestEncapRejects(t *testing.T) {
	buf := make([]byte, txHeadroom+bufSize)
	buf[txHeadroom] = 0x20 // neither IPv4 nor IPv6
	var seq l2tp.DataSequence
	if _, ok := encap(buf, txHeadroom, 20, 1, 1, &seq); ok {
		t.Error("encap accepted a version-2 packet")
	}
	if _, ok := encap(buf, 4, 20, 1, 1, &seq); ok {
		t.Error("encap accepted an offset without headroom")
	}
	if _, ok := encap(buf, txHeadroom, 0, 1, 1, &seq); ok {
		t.Error("encap accepted an empty packet")
	}
	// Sequencing can start at any time: the headroom must fit the longer
	// header even while it is off.
	short := l2tp.DataHeaderLen + ppp.HeaderLen
	buf[short] = 0x45
	if _, ok := encap(buf, short, 20, 1, 1, &seq); ok {
		t.Error("encap accepted headroom without room for Ns and Nr")
	}
	seq.Require()
	buf[txHeadroom] = 0x20
	if _, ok := encap(buf, txHeadroom, 20, 1, 1, &seq); ok {
		t.Error("encap accepted a version-2 packet")
	}
	if ns, _ := seq.Next(); ns != 0 {
		t.Errorf("refused packets used up Ns 0 to %d", ns-1)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		d    []byte
		want rxKind
	}{
		{"empty", nil, rxMalformed},
		{"short", []byte{0x00, 0x02, 0, 1}, rxMalformed},
		{"version 3", []byte{0x00, 0x03, 0, 1, 0, 2, 0xff, 0x03, 0x00, 0x21, 0x45}, rxMalformed},
		{"other tunnel", []byte{0x00, 0x02, 0, 9, 0, 2, 0xff, 0x03, 0x00, 0x21, 0x45}, rxWrongSession},
		{"other session", []byte{0x00, 0x02, 0, 1, 0, 9, 0xff, 0x03, 0x00, 0x21, 0x45}, rxWrongSession},
		{"ipv4", []byte{0x00, 0x02, 0, 1, 0, 2, 0xff, 0x03, 0x00, 0x21, 0x45}, rxIP},
		{"ipv4 without ff03", []byte{0x00, 0x02, 0, 1, 0, 2, 0x00, 0x21, 0x45}, rxIP},
		{"empty ipv4", []byte{0x00, 0x02, 0, 1, 0, 2, 0xff, 0x03, 0x00, 0x21}, rxMalformed},
		{"lcp", []byte{0x00, 0x02, 0, 1, 0, 2, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0}, rxPPP},
		{"no ppp frame", []byte{0x00, 0x02, 0, 1, 0, 2}, rxMalformed},
		{"ff03 alone", []byte{0x00, 0x02, 0, 1, 0, 2, 0xff, 0x03}, rxMalformed},
		{"control", []byte{0xc8, 0x02, 0x00, 0x0c, 0, 1, 0, 0, 0, 0, 0, 0}, rxControl},
	}
	for _, tc := range cases {
		if got, _, _ := classify(tc.d, 1, 2, new(l2tp.DataSequence)); got != tc.want {
			t.Errorf("%s: classify = %d, want %d", tc.name, got, tc.want)
		}
	}
	// While the session is being set up any session id of our tunnel counts.
	if got, _, _ := classify([]byte{0x00, 0x02, 0, 1, 0, 9, 0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, 1, 0, new(l2tp.DataSequence)); got != rxPPP {
		t.Errorf("setup phase: classify = %d, want rxPPP", got)
	}
}

// Unsequenced and sequenced (RFC 2661 5.4): the sender's and the receiver's
// sequencing state are separate, as on the wire.
func TestDataPathAllocs(t *testing.T) {
	for _, sequenced := range []bool{false, true} {
		var tx, rx l2tp.DataSequence
		if sequenced {
			tx.Require()
		}
		buf := make([]byte, txHeadroom+bufSize)
		copy(buf[txHeadroom:], ipv4Packet(1400))
		allocs := testing.AllocsPerRun(1000, func() {
			d, ok := encap(buf, txHeadroom, 1400, 7, 8, &tx)
			if !ok {
				t.Fatal("encap failed")
			}
			if k, _, _ := classify(d, 7, 8, &rx); k != rxIP {
				t.Fatalf("classify: %d", k)
			}
		})
		if allocs != 0 {
			t.Fatalf("sequenced %v: encap+classify allocate %v times per packet, want 0", sequenced, allocs)
		}
		if rx.Sending() != sequenced {
			t.Fatalf("sequenced %v: the receiver did not follow", sequenced)
		}
	}
}

func BenchmarkEncap1400(b *testing.B) {
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], ipv4Packet(1400))
	var seq l2tp.DataSequence
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		encap(buf, txHeadroom, 1400, 7, 8, &seq)
	}
}

func BenchmarkEncapSequenced1400(b *testing.B) {
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], ipv4Packet(1400))
	var seq l2tp.DataSequence
	seq.Require()
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		encap(buf, txHeadroom, 1400, 7, 8, &seq)
	}
}

func BenchmarkClassify1400(b *testing.B) {
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], ipv4Packet(1400))
	var seq l2tp.DataSequence
	d, _ := encap(buf, txHeadroom, 1400, 7, 8, &seq)
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		classify(d, 7, 8, &seq)
	}
}

func BenchmarkClassifySequenced1400(b *testing.B) {
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], ipv4Packet(1400))
	var tx, rx l2tp.DataSequence
	tx.Require()
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		d, _ := encap(buf, txHeadroom, 1400, 7, 8, &tx) // a new Ns each time: none is late
		classify(d, 7, 8, &rx)
	}
}
