package ppp

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		in    string
		proto Protocol
		info  string
		err   bool
	}{
		{"ff03c021010000080304c227", ProtoLCP, "010000080304c227", false},
		{"c021010000080304c227", ProtoLCP, "010000080304c227", false}, // ACFC
		{"ff03002145", ProtoIPv4, "45", false},
		{"ff032145", ProtoIPv4, "45", false}, // PFC
		{"2145", ProtoIPv4, "45", false},     // ACFC + PFC
		{"ff035760", ProtoIPv6, "60", false},
		{"ff038021", ProtoIPCP, "", false},
		{"ff03", 0, "", true},
		{"", 0, "", true},
		{"ff0380", 0, "", true},           // half a protocol field
		{"ff038020", 0, "", true},         // even low octet: invalid
		{"ff", Protocol(0xff), "", false}, // a lone compressed protocol field
	} {
		proto, info, err := ParseFrame(unhex(tc.in))
		if (err != nil) != tc.err || proto != tc.proto || !bytes.Equal(info, unhex(tc.info)) {
			t.Errorf("ParseFrame(%s) = %v %x %v, want %v %s err=%v", tc.in, proto, info, err, tc.proto, tc.info, tc.err)
		}
	}
}

func TestPutHeader(t *testing.T) {
	b := make([]byte, 6)
	PutHeader(b, ProtoIPv6)
	if !bytes.Equal(b[:HeaderLen], []byte{0xff, 0x03, 0x00, 0x57}) {
		t.Errorf("header %x", b)
	}
	proto, info, err := ParseFrame(b)
	if err != nil || proto != ProtoIPv6 || len(info) != 2 || &info[0] != &b[4] {
		t.Errorf("ParseFrame(PutHeader) = %v %x %v; the info must alias the input", proto, info, err)
	}
}

func TestFrameNoAllocs(t *testing.T) {
	b := unhex("ff030021450000540000400040010000c0000202c6336401")
	var sink Protocol
	if n := testing.AllocsPerRun(1000, func() {
		PutHeader(b, ProtoIPv4)
		p, _, err := ParseFrame(b)
		sink += p
		if err != nil {
			panic(err)
		}
		_, _, _ = ParseFrame(b[:1]) // the error path too
	}); n != 0 {
		t.Errorf("PutHeader+ParseFrame allocate %v times per run", n)
	}
	_ = sink
}

func TestParseFrameTruncation(t *testing.T) {
	for _, v := range allGolden() {
		full := unhex(v.frame)
		wantProto, _, _ := ParseFrame(full)
		for n := 0; n <= len(full); n++ {
			proto, info, err := ParseFrame(full[:n])
			if err != nil {
				if n >= HeaderLen {
					t.Errorf("%s: prefix %d: %v", v.name, n, err)
				}
				continue
			}
			// A prefix of FF 03 C0 21 may parse as a compressed field
			// (FF, 0xc0?...), but a 4-byte one must be what we sent.
			if n >= HeaderLen && (proto != wantProto || !bytes.Equal(info, full[HeaderLen:n])) {
				t.Errorf("%s: prefix %d: %v %x", v.name, n, proto, info)
			}
		}
	}
}

func TestProtocolString(t *testing.T) {
	for p, s := range map[Protocol]string{ProtoLCP: "LCP", ProtoIPV6CP: "IPV6CP", ProtoCCP: "CCP", 0x1234: "protocol 0x1234"} {
		if p.String() != s {
			t.Errorf("%#x: %q", uint16(p), p.String())
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, v := range allGolden() {
		f.Add(unhex(v.frame))
	}
	f.Add([]byte{0x21, 0x45})
	f.Add([]byte{0xff, 0x03, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		proto, info, err := ParseFrame(b)
		if err != nil {
			if !errors.Is(err, errShortFrame) && !errors.Is(err, errBadProtocol) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(info) > len(b) || (len(info) > 0 && &info[len(info)-1] != &b[len(b)-1]) {
			t.Fatalf("info does not alias the end of the input")
		}
		if proto&0x0100 != 0 || proto&1 == 0 {
			t.Fatalf("invalid protocol %#x accepted", uint16(proto))
		}
		// Re-encoding uncompressed and parsing again is consistent.
		re := make([]byte, HeaderLen, HeaderLen+len(info))
		PutHeader(re, proto)
		re = append(re, info...)
		p2, i2, err := ParseFrame(re)
		if err != nil || p2 != proto || !bytes.Equal(i2, info) {
			t.Fatalf("re-encoded frame parses as %v %x %v", p2, i2, err)
		}
	})
}
