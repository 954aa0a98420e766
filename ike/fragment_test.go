package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
)

// goldenFragment is an IKE fragment message written byte by byte from
// [MS-IKEE] 2.2.3.1 and strongSwan's fragment_payload.c: the second and
// last fragment (ID 1) of a Main Mode message, as strongSwan sends it
// (message ID 0, ID_PROT, no flags).
//
//	0000  01 02 03 04 05 06 07 08  11 12 13 14 15 16 17 18   initiator, responder cookie
//	0010  84 10 02 00 00 00 00 00  00 00 00 2a               FRAG, v1.0, ID_PROT, flags 0, message ID 0, length 42
//	001c  00 00 00 0e                                         next NONE, reserved, payload length 14
//	0020  00 01 02 01                                         fragment ID 1, number 2, flags LAST
//	0024  de ad be ef 00 01                                   data
const goldenFragment = "0102030405060708" + "1112131415161718" + "8410020000000000" + "0000002a" +
	"0000000e" + "00010201" + "deadbeef0001"

// specFragment builds a fragment message of orig from the layout above,
// independently of the package's encoder.
func specFragment(orig []byte, exch ExchangeType, id uint16, num, flags byte, data []byte) []byte {
	b := append([]byte{}, orig[:16]...)
	b = append(b, byte(PayloadFragment), orig[17], byte(exch), 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(28+8+len(data)))
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(data)))
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, num, flags)
	return append(b, data...)
}

// reencodeFragment encodes a decoded fragment message with its own header.
func reencodeFragment(h Header, f *Fragment) []byte {
	return AppendPayloads(h.Append(nil), []Payload{f})
}

func TestFragmentGolden(t *testing.T) {
	b := unhex(t, goldenFragment)
	h, f, err := ParseFragment(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.InitiatorCookie != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} || h.ResponderCookie != [8]byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18} ||
		h.NextPayload != PayloadFragment || h.Exchange != ExchangeIDProt || h.Flags != 0 || h.MessageID != 0 || h.Length != 42 {
		t.Errorf("header %+v", h)
	}
	if f.ID != 1 || f.Number != 2 || !f.Last() || !bytes.Equal(f.Data, []byte{0xde, 0xad, 0xbe, 0xef, 0, 1}) {
		t.Errorf("fragment %+v", f)
	}
	if got := reencodeFragment(h, f); !bytes.Equal(got, b) {
		t.Errorf("re-encoded\n%x\nwant\n%x", got, b)
	}
	// Our encoder writes the same bytes for that fragment of a message.
	orig := append(b[:16:16], make([]byte, 12)...)
	orig[17], orig[18] = Version, byte(ExchangeIDProt)
	if got := appendFragmentMessage(nil, orig, f); !bytes.Equal(got, b) {
		t.Errorf("appendFragmentMessage\n%x\nwant\n%x", got, b)
	}
	if got := (&Message{Header: h, Payloads: []Payload{f}}).String(); got != "ID_PROT [ FRAG ]" {
		t.Errorf("summary %q", got)
	}
	// racoon sets the E flag on fragments; they are not encrypted.
	racoon := bytes.Clone(b)
	racoon[19] = byte(FlagEncryption)
	if _, f2, err := ParseFragment(racoon); err != nil || f2.Number != 2 {
		t.Errorf("fragment with the E flag: %v", err)
	}
	// The payload decoder is reached through ParsePayload too.
	if p, err := ParsePayload(PayloadFragment, b[32:]); err != nil || p.(*Fragment).ID != 1 {
		t.Errorf("ParsePayload: %v", err)
	}
}

func TestFragmentMalformed(t *testing.T) {
	good := unhex(t, goldenFragment)
	for _, tc := range []struct {
		name string
		mut  func(b []byte) []byte
	}{
		{"not a fragment", func(b []byte) []byte { b[16] = byte(PayloadSA); return b }},
		{"next payload after it", func(b []byte) []byte { b[28] = byte(PayloadVendorID); return b }},
		{"payload length short", func(b []byte) []byte { b[31] = 7; return b }},
		{"payload length below the data", func(b []byte) []byte { b[31] = 13; return b }},
		{"payload length past the message", func(b []byte) []byte { b[31] = 15; return b }},
		{"a second payload", func(b []byte) []byte {
			b = append(b, 0, 0, 0, 4)
			binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
			return b
		}},
		{"version 2", func(b []byte) []byte { b[17] = 0x20; return b }},
	} {
		b := tc.mut(bytes.Clone(good))
		if _, _, err := ParseFragment(b); err == nil {
			t.Errorf("%s: parsed", tc.name)
		} else if tc.name != "version 2" && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v is not ErrMalformed", tc.name, err)
		}
	}
}

// TestFragmentTruncationSweep cuts the golden fragment at every length, as
// is and with the header length patched to the cut: every prefix fails.
// Every prefix of the payload body decodes or fails cleanly.
func TestFragmentTruncationSweep(t *testing.T) {
	full := unhex(t, goldenFragment)
	for n := 0; n < len(full); n++ {
		if _, _, err := ParseFragment(full[:n]); err == nil {
			t.Errorf("prefix of %d bytes parsed", n)
		}
		if n >= HeaderLen {
			b := bytes.Clone(full[:n])
			binary.BigEndian.PutUint32(b[24:], uint32(n))
			if _, _, err := ParseFragment(b); err == nil {
				t.Errorf("prefix of %d bytes with its length patched parsed", n)
			}
		}
	}
	body := full[32:]
	for n := 0; n <= len(body); n++ {
		p, err := ParsePayload(PayloadFragment, body[:n])
		if (err != nil) != (n < 4) {
			t.Errorf("body prefix %d: %v", n, err)
		}
		if err == nil {
			checkCanonical(t, PayloadFragment, body[:n], p)
		}
	}
}

// testMessage is an ISAKMP message of about n bytes (a Vendor ID payload
// padded out), with the given exchange, flags and message ID.
func testMessage(n int, exch ExchangeType, flags Flags, mid uint32) []byte {
	m := Message{Header: Header{InitiatorCookie: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, ResponderCookie: [8]byte{9, 9, 9, 9, 9, 9, 9, 9},
		Exchange: exch, MessageID: mid}, Payloads: []Payload{&VendorID{Data: bytes.Repeat([]byte{0x5a}, max(n-HeaderLen-4, 1))}}}
	b := m.Append(nil)
	b[19] = byte(flags) // the body stays a clear payload chain; only the header matters here
	for i := HeaderLen + 4; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func TestSplitMessage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, size   int
		natt      bool
		exch      ExchangeType
		flags     Flags
		mid       uint32
		count     int
		wantExch  ExchangeType
		perWanted int
	}{
		// 576: 508 bytes of data per fragment on port 4500, 512 on 500.
		{name: "mm5 4500", n: 4000, size: 576, natt: true, exch: ExchangeIDProt, flags: FlagEncryption, count: 8, wantExch: ExchangeIDProt, perWanted: 508},
		{name: "mm3 500", n: 1100, size: 576, exch: ExchangeIDProt, count: 3, wantExch: ExchangeIDProt, perWanted: 512},
		{name: "quick mode", n: 700, size: 576, natt: true, exch: ExchangeQuickMode, flags: FlagEncryption, mid: 0x6b87efaf,
			count: 2, wantExch: ExchangeIDProt, perWanted: 508},
		{name: "aggressive", n: 700, size: 576, exch: ExchangeAggressive, count: 2, wantExch: ExchangeAggressive, perWanted: 512},
		{name: "exactly fits 4500", n: 576 - 32, size: 576, natt: true, exch: ExchangeIDProt},
		{name: "one byte over 4500", n: 576 - 31, size: 576, natt: true, exch: ExchangeIDProt, count: 2, wantExch: ExchangeIDProt, perWanted: 508},
		{name: "exactly fits 500", n: 576 - 28, size: 576, exch: ExchangeIDProt},
		{name: "tiny size", n: 200, size: 10, exch: ExchangeIDProt, count: 7, wantExch: ExchangeIDProt, perWanted: minFragmentData},
		{name: "too many fragments", n: 256*minFragmentData + 1, size: 10, exch: ExchangeIDProt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := testMessage(tc.n, tc.exch, tc.flags, tc.mid)
			if len(msg) != tc.n {
				t.Fatalf("test message has %d bytes, want %d", len(msg), tc.n)
			}
			per, count := fragmentPlan(len(msg), tc.size, tc.natt)
			if count != tc.count || (count > 0 && per != tc.perWanted) {
				t.Fatalf("plan %d fragments of %d bytes, want %d of %d", count, per, tc.count, tc.perWanted)
			}
			if count == 0 {
				return
			}
			frags := splitMessage(msg, 7, per, count)
			var data []byte
			for i, fb := range frags {
				dgram := 28 + len(fb)
				if tc.natt {
					dgram += 4
				}
				if dgram > max(tc.size, 28+4+HeaderLen+fragmentHeaderLen+minFragmentData) {
					t.Errorf("fragment %d: %d-byte datagram, size %d", i+1, dgram, tc.size)
				}
				h, f, err := ParseFragment(fb)
				if err != nil {
					t.Fatalf("fragment %d: %v", i+1, err)
				}
				last := byte(0)
				if i == len(frags)-1 {
					last = FragmentLast
				}
				want := specFragment(msg, tc.wantExch, 7, byte(i+1), last, f.Data)
				if !bytes.Equal(fb, want) {
					t.Errorf("fragment %d:\n%x\nwant\n%x", i+1, fb, want)
				}
				if h.MessageID != 0 || h.Flags != 0 {
					t.Errorf("fragment %d header %+v", i+1, h)
				}
				data = append(data, f.Data...)
			}
			if !bytes.Equal(data, msg) {
				t.Error("the fragments' data is not the whole message")
			}
		})
	}
}

func TestFragmentPolicy(t *testing.T) {
	mm5 := testMessage(100, ExchangeIDProt, FlagEncryption, 0)
	mm3 := testMessage(100, ExchangeIDProt, 0, 0)
	qm := testMessage(100, ExchangeQuickMode, FlagEncryption, 5)
	for _, tc := range []struct {
		mode          FragmentMode
		peer, windows bool
		want          [3]bool // mm5, mm3, qm
	}{
		{mode: FragmentOff, peer: true, want: [3]bool{false, false, false}},
		{mode: FragmentForce, want: [3]bool{true, true, true}},
		{mode: FragmentForce, windows: true, want: [3]bool{true, true, true}},
		{mode: FragmentAuto, want: [3]bool{false, false, false}},
		{mode: FragmentAuto, peer: true, want: [3]bool{true, true, true}},
		{mode: FragmentAuto, peer: true, windows: true, want: [3]bool{true, false, false}},
		{mode: FragmentMode(9), peer: true, want: [3]bool{false, false, false}},
	} {
		f := fragmenter{peer: tc.peer, windows: tc.windows}
		cfg := Config{Fragmentation: tc.mode}
		for i, m := range [][]byte{mm5, mm3, qm} {
			if got := f.wanted(&cfg, m); got != tc.want[i] {
				t.Errorf("mode %d peer %v windows %v message %d: %v", tc.mode, tc.peer, tc.windows, i, got)
			}
		}
	}
}

func TestFragmentNotePeer(t *testing.T) {
	hash := VendorFragmentation.ID()[:16]
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"windows, bare", hash, true},
		{"strongswan 80000000", VendorFragmentation.ID(), true},
		{"cisco c0000000", append(bytes.Clone(hash), 0xc0, 0, 0, 0), true},
		{"base isakmp only 40000000", append(bytes.Clone(hash), 0x40, 0, 0, 0), false},
		{"no capabilities 00000000", append(bytes.Clone(hash), 0, 0, 0, 0), false},
		{"truncated", hash[:15], false},
		{"dpd", VendorDPD.ID(), false},
	} {
		var f fragmenter
		f.notePeer([]Payload{&VendorID{Data: tc.data}})
		if f.peer != tc.want || f.windows {
			t.Errorf("%s: peer %v windows %v, want %v", tc.name, f.peer, f.windows, tc.want)
		}
	}
	var f fragmenter
	f.notePeer([]Payload{&SA{}, NewVendorID(VendorMSNT5ISAKMPOAKLEY), &VendorID{Data: VendorFragmentation.ID()[:16]}})
	if !f.peer || !f.windows {
		t.Errorf("windows server: %+v", f)
	}
	if v := (&VendorID{Data: append(bytes.Clone(hash), 0xc0, 0, 0, 0)}).Vendor(); v != VendorFragmentation || v.String() != "FRAGMENTATION" {
		t.Errorf("Cisco's FRAGMENTATION vendor ID named %v", v)
	}
}

// A retransmission goes out as the same fragments (the same fragment ID);
// another message gets the next ID.
func TestFragmentID(t *testing.T) {
	var f fragmenter
	msgs := make([][]byte, 6)
	for i := range msgs {
		msgs[i] = testMessage(600+i, ExchangeIDProt, 0, 0)
	}
	if id := f.fragmentID(msgs[0]); id != 1 {
		t.Fatalf("first ID %d", id)
	}
	if id := f.fragmentID(bytes.Clone(msgs[0])); id != 1 {
		t.Errorf("retransmission got ID %d", id)
	}
	for i := 1; i < 5; i++ {
		if id := f.fragmentID(msgs[i]); id != uint16(i+1) {
			t.Errorf("message %d got ID %d", i, id)
		}
		if id := f.fragmentID(msgs[i]); id != uint16(i+1) {
			t.Errorf("message %d again got ID %d", i, id)
		}
	}
	// Four are remembered: the first is forgotten by now.
	if id := f.fragmentID(msgs[0]); id != 6 {
		t.Errorf("forgotten message got ID %d, want 6", id)
	}
}

// ikeMessagesFromPcap returns the ISAKMP messages of a capture (UDP 500, or
// 4500 with the non-ESP marker removed; ESP and keepalives are left out).
// It is the way in for a capture of a real peer's fragments.
func ikeMessagesFromPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	payloads, ports := udpPayloads(t, path)
	var out [][]byte
	for i, p := range payloads {
		if ports[i] == 4500 || (len(p) >= 4 && p[0]|p[1]|p[2]|p[3] == 0) {
			if len(p) < 4 || p[0]|p[1]|p[2]|p[3] != 0 {
				continue // ESP or a keepalive
			}
			p = p[4:]
		}
		if _, err := ParseHeader(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// TestFragmentCaptures decodes, re-encodes and reassembles the fragments of
// every capture testdata/*frag*.pcap (from a peer with fragmentation =
// force), and checks that every reassembled message decodes.
func TestFragmentCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(capturesDir, "*frag*.pcap"))
	if len(files) == 0 {
		t.Fatal("no capture of IKE fragments in testdata (sw-cert-frag.pcap)")
	}
	for _, file := range files {
		var r reassembler
		frags, whole := 0, 0
		for _, m := range ikeMessagesFromPcap(t, file) {
			if !isFragment(m) {
				continue
			}
			frags++
			h, f, err := ParseFragment(m)
			if err != nil {
				t.Errorf("%s: fragment %d: %v", file, frags, err)
				continue
			}
			if got := reencodeFragment(h, f); !bytes.Equal(got, m[:h.Length]) {
				t.Errorf("%s: fragment %d re-encodes differently", file, frags)
			}
			if w, _ := r.add(h, f, testEpoch); w != nil {
				whole++
				if _, err := ParseHeader(w); err != nil {
					t.Errorf("%s: reassembled message: %v", file, err)
				}
			}
		}
		if frags == 0 || whole == 0 {
			t.Errorf("%s: %d fragments, %d reassembled messages", file, frags, whole)
		}
	}
}
