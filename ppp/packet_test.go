package ppp

import (
	"bytes"
	"errors"
	"testing"
)

func TestPacketCodec(t *testing.T) {
	p := Packet{Code: CodeConfigureRequest, ID: 7, Data: AppendOptions(nil, Option{Type: lcpMRU, Data: []byte{5, 0x78}}, Option{Type: lcpPFC})}
	b := p.Append([]byte{0xaa})
	if want := unhex("aa0107000a010405780702"); !bytes.Equal(b, want) {
		t.Fatalf("Append = %x, want %x", b, want)
	}
	if len(b)-1 != p.Len() {
		t.Errorf("Len %d", p.Len())
	}
	// Padding after Length is ignored (RFC 1661 section 5).
	q, err := ParsePacket(append(b[1:], 0, 0, 0))
	if err != nil || q.Code != p.Code || q.ID != 7 || !bytes.Equal(q.Data, p.Data) {
		t.Fatalf("ParsePacket = %+v %v", q, err)
	}
	opts, err := ParseOptions(q.Data, nil)
	if err != nil || len(opts) != 2 || opts[1].Type != lcpPFC || len(opts[1].Data) != 0 {
		t.Fatalf("ParseOptions = %v %v", opts, err)
	}
	for _, bad := range []string{"", "010700", "01070003", "0107000b0104057807", "01070008"} {
		if _, err := ParsePacket(unhex(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePacket(%s) = %v, want ErrMalformed", bad, err)
		}
	}
	for _, bad := range []string{"01", "0101", "010504", "0104057807"} {
		if _, err := ParseOptions(unhex(bad), nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseOptions(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestPacketTruncation: every prefix of a captured packet fails cleanly, and
// every prefix of an option list fails or parses to a prefix of the options.
func TestPacketTruncation(t *testing.T) {
	for _, v := range allGolden() {
		proto, info, _ := ParseFrame(unhex(v.frame))
		if proto != ProtoLCP && proto != ProtoIPCP {
			continue
		}
		full, _ := ParsePacket(info)
		for n := 0; n < len(info); n++ {
			if _, err := ParsePacket(info[:n]); err == nil {
				t.Errorf("%s: prefix %d parsed", v.name, n)
			}
		}
		for n := 0; n <= len(full.Data); n++ {
			opts, err := ParseOptions(full.Data[:n], nil)
			if err == nil && !bytes.Equal(AppendOptions(nil, opts...), full.Data[:n]) {
				t.Errorf("%s: option prefix %d re-encodes differently", v.name, n)
			}
		}
	}
}

func lcpSeeds(f *testing.F, protos ...Protocol) {
	for _, v := range allGolden() {
		proto, info, _ := ParseFrame(unhex(v.frame))
		for _, p := range protos {
			if proto == p {
				f.Add(info)
			}
		}
	}
}

// checkReply checks a layer's answer to a Configure-Request.
func checkReply(t *testing.T, req []byte, code Code, reply []byte) {
	switch code {
	case CodeConfigureAck:
	case CodeConfigureNak:
		if checkOptions(reply) != nil || len(reply) == 0 {
			t.Fatalf("bad Nak options %x", reply)
		}
	case CodeConfigureReject:
		if checkOptions(reply) != nil || len(reply) == 0 {
			t.Fatalf("bad Reject options %x", reply)
		}
		for b := reply; len(b) > 0; {
			o, rest, _ := NextOption(b)
			if !hasOption(req, o) {
				t.Fatalf("rejected option %d not in the request %x", o.Type, req)
			}
			b = rest
		}
	default:
		t.Fatalf("reply code %v", code)
	}
}

// fuzzPacket checks the packet and option codec on b and returns the
// packet's options if they are well formed.
func fuzzPacket(t *testing.T, b []byte) ([]byte, bool) {
	p, err := ParsePacket(b)
	if err != nil {
		return nil, false
	}
	if re := p.Append(nil); !bytes.Equal(re, b[:p.Len()]) {
		t.Fatalf("re-encoded %x, want %x", re, b[:p.Len()])
	}
	opts, err := ParseOptions(p.Data, nil)
	if err != nil {
		return nil, false
	}
	if re := AppendOptions(nil, opts...); !bytes.Equal(re, p.Data) {
		t.Fatalf("options re-encoded %x, want %x", re, p.Data)
	}
	_ = describePacket(ProtoLCP, p)
	_ = describePacket(ProtoIPCP, p)
	_ = describePacket(ProtoIPV6CP, p)
	return p.Data, true
}

func FuzzLCPPacket(f *testing.F) {
	lcpSeeds(f, ProtoLCP)
	f.Add(Packet{Code: CodeConfigureRequest, ID: 1, Data: AppendOptions(nil,
		Option{Type: lcpMRU, Data: []byte{0, 10}}, Option{Type: lcpMagicNumber, Data: make([]byte, 4)},
		Option{Type: lcpAuthProtocol, Data: []byte{0xc2, 0x23, 0x80}}, Option{Type: lcpACFC})}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, ok := fuzzPacket(t, b)
		if !ok {
			return
		}
		for _, rejectNaks := range []bool{false, true} {
			l := NewLink(Config{Auth: []AuthMethod{AuthCHAPMD5}}, nil)
			code, reply, err := l.lcpL.checkRequest(opts, rejectNaks, nil)
			if err == nil {
				checkReply(t, opts, code, reply)
			} else if !errors.Is(err, ErrNoAuthMethod) && !errors.Is(err, ErrNegotiation) {
				t.Fatalf("checkRequest error %v", err)
			}
			_ = l.lcpL.gotNak(opts)
			l.lcpL.gotReject(opts)
			if req := l.lcpL.appendRequest(nil); checkOptions(req) != nil {
				t.Fatalf("our request is malformed: %x", req)
			}
		}
	})
}

func FuzzIPCPOptions(f *testing.F) {
	lcpSeeds(f, ProtoIPCP)
	f.Add(Packet{Code: CodeConfigureNak, ID: 1, Data: AppendOptions(nil,
		Option{Type: ipcpIPAddress, Data: []byte{10, 0, 0, 1}}, Option{Type: ipcpPrimaryDNS, Data: []byte{10, 0, 0, 2}},
		Option{Type: ipcpCompression, Data: []byte{0, 0x2d, 15, 1}}, Option{Type: ipcpPrimaryNBNS, Data: []byte{1, 2, 3, 4}})}.Append(nil))
	f.Add(Packet{Code: CodeConfigureRequest, ID: 1, Data: AppendOptions(nil,
		Option{Type: ipv6cpInterfaceID, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}})}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, ok := fuzzPacket(t, b)
		if !ok {
			return
		}
		l := NewLink(Config{IPv6: true}, nil)
		for _, h := range []layer{l.ipcpL, l.ipv6cpL} {
			for _, rejectNaks := range []bool{false, true} {
				code, reply, err := h.checkRequest(opts, rejectNaks, nil)
				if err != nil {
					t.Fatalf("checkRequest error %v", err)
				}
				checkReply(t, opts, code, reply)
			}
			_ = h.gotNak(opts)
			if req := h.appendRequest(nil); checkOptions(req) != nil {
				t.Fatalf("our request is malformed: %x", req)
			}
			_ = h.gotReject(opts)
		}
		if a, ok := l.ipcpL.localAddr(); ok && !a.Is4() {
			t.Fatalf("local address %v", a)
		}
		for _, d := range l.ipcpL.dnsAddrs() {
			if !d.Is4() || d.IsUnspecified() {
				t.Fatalf("dns %v", d)
			}
		}
	})
}
