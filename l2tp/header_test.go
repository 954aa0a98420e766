package l2tp

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseHeaderControl(t *testing.T) {
	b := unhex(t, seZLB1)
	h, p, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Control: true, HasLength: true, HasSequence: true, Version: 2, Length: 12,
		TunnelID: 54636, Ns: 1, Nr: 2}
	if h != want {
		t.Errorf("got %+v, want %+v", h, want)
	}
	if len(p) != 0 {
		t.Errorf("payload %x, want none", p)
	}
}

func TestParseHeaderData(t *testing.T) {
	// L, S, O and P set; 3 octets of offset pad; Length 22 with 2 trailing bytes beyond it.
	b := []byte{
		0x4b, 0x02, 0x00, 22, // flags: L S O P, ver 2; Length
		0x12, 0x34, 0x56, 0x78, // tunnel, session
		0x00, 0x05, 0x00, 0x00, // Ns, Nr
		0x00, 0x03, 0xaa, 0xbb, 0xcc, // Offset Size 3, pad
		0xff, 0x03, 0xc0, 0x21, 0x01, // payload
		0xee, 0xee, // beyond Length: ignored
	}
	h, p, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{HasLength: true, HasSequence: true, HasOffset: true, Priority: true, Version: 2,
		Length: 22, TunnelID: 0x1234, SessionID: 0x5678, Ns: 5, OffsetSize: 3}
	if h != want {
		t.Errorf("got %+v, want %+v", h, want)
	}
	if !bytes.Equal(p, b[17:22]) || &p[0] != &b[17] {
		t.Errorf("payload %x does not alias b[17:22]", p)
	}
	if h.Len() != 17 {
		t.Errorf("Len %d, want 17", h.Len())
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"one byte", []byte{0x00}, ErrMalformed},
		{"L2F version 1", []byte{0x00, 0x01, 0, 0, 0, 0}, ErrVersion},
		{"L2TPv3", []byte{0xc8, 0x03, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0}, ErrVersion},
		{"data too short", []byte{0x00, 0x02, 0, 0, 0}, ErrMalformed},
		{"control without L", []byte{0x88, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"control without S", []byte{0xc0, 0x02, 0, 8, 0, 0, 0, 0}, ErrMalformed},
		{"control with O", []byte{0xca, 0x02, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"control short", []byte{0xc8, 0x02, 0, 12, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"length below header", []byte{0xc8, 0x02, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"length beyond datagram", []byte{0xc8, 0x02, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0}, ErrMalformed},
		{"offset pad beyond end", []byte{0x02, 0x02, 0, 0, 0, 0, 0, 3, 0, 0}, ErrMalformed},
		{"offset pad beyond Length", []byte{0x42, 0x02, 0, 10, 0, 0, 0, 0, 0, 1, 0xaa}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, err := ParseHeader(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Errorf("payload %x on error", p)
			}
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Control: true, HasLength: true, HasSequence: true, Version: 2, Length: 12, TunnelID: 1, Ns: 65535, Nr: 7},
		{Version: 2, TunnelID: 0xffff, SessionID: 0x0102},
		{HasSequence: true, Priority: true, Version: 2, Ns: 3},
		{HasOffset: true, Version: 2, OffsetSize: 4},
		{HasLength: true, HasOffset: true, Version: 2, Length: 10, OffsetSize: 0},
	} {
		b := h.Append(nil)
		if len(b) != h.Len() {
			t.Errorf("%+v: Append gives %d bytes, Len %d", h, len(b), h.Len())
		}
		got, p, err := ParseHeader(b)
		if err != nil {
			t.Errorf("%+v: %v", h, err)
			continue
		}
		if got != h || len(p) != 0 {
			t.Errorf("round trip %+v → %+v (payload %x)", h, got, p)
		}
	}
}

func TestPutDataHeader(t *testing.T) {
	b := make([]byte, DataHeaderLen+4)
	copy(b[DataHeaderLen:], []byte{0xff, 0x03, 0x00, 0x21})
	PutDataHeader(b, 54636, 62572)
	if want := []byte{0x00, 0x02, 0xd5, 0x6c, 0xf4, 0x6c}; !bytes.Equal(b[:6], want) {
		t.Fatalf("header %x, want %x", b[:6], want)
	}
	h, p, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Control || h.HasLength || h.HasSequence || h.HasOffset || h.TunnelID != 54636 || h.SessionID != 62572 {
		t.Errorf("got %+v", h)
	}
	if !bytes.Equal(p, []byte{0xff, 0x03, 0x00, 0x21}) {
		t.Errorf("payload %x", p)
	}
}

func TestHeaderAllocs(t *testing.T) {
	data := make([]byte, 64)
	PutDataHeader(data, 1, 2)
	ctl := unhex(t, seICRP)
	bad := []byte{0xc8, 0x02, 0, 200, 0, 0}
	if n := testing.AllocsPerRun(100, func() {
		ParseHeader(data)
		ParseHeader(ctl)
		ParseHeader(bad)
	}); n != 0 {
		t.Errorf("ParseHeader: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { PutDataHeader(data, 3, 4) }); n != 0 {
		t.Errorf("PutDataHeader: %v allocations", n)
	}
}

// TestParseHeaderTruncation: every prefix of valid messages fails cleanly or,
// for data messages without L, parses consistently.
func TestParseHeaderTruncation(t *testing.T) {
	data := []byte{0x0a, 0x02, 0, 1, 0, 2, 0, 9, 0, 0, 0, 2, 0xaa, 0xbb, 0xff, 0x03, 0xc0, 0x21}
	for _, full := range [][]byte{unhex(t, seSCCRP), unhex(t, xlICCN), data} {
		for n := range len(full) {
			b := full[:n]
			h, p, err := ParseHeader(b)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("prefix %d of %x: %v is not ErrMalformed", n, full, err)
				}
				continue
			}
			if h.HasLength {
				t.Errorf("prefix %d of %x with Length %d parsed", n, full, h.Length)
			}
			if h.Len()+len(p) != n {
				t.Errorf("prefix %d: header %d + payload %d", n, h.Len(), len(p))
			}
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{seSCCRP, seZLB1, seICRP, xlSCCRQ, "00020001000200000021", "4b020016123456780005000000030000ffff03c02101"} {
		f.Add(unhex(f, s))
	}
	d := make([]byte, 10)
	PutDataHeader(d, 7, 8)
	f.Add(d)
	f.Add(bytes.Clone(seqDataGolden))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseHeader(b)
		if err != nil {
			if p != nil {
				t.Fatal("payload on error")
			}
			return
		}
		end := len(b)
		if h.HasLength {
			end = int(h.Length)
		}
		if h.Len()+len(p) != end {
			t.Fatalf("header %d + payload %d != %d", h.Len(), len(p), end)
		}
		if h.Control && (!h.HasLength || !h.HasSequence || h.HasOffset) {
			t.Fatal("control message with bad flags accepted")
		}
		enc := h.Append(nil)
		enc = append(enc, p...)
		h2, p2, err := ParseHeader(enc)
		if err != nil {
			t.Fatalf("re-encoded header: %v", err)
		}
		if h2 != h || !bytes.Equal(p2, p) {
			t.Fatalf("round trip %+v → %+v", h, h2)
		}
	})
}
