package ppp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"testing"
)

// golden is one captured PPP frame and what it must decode to.
type golden struct {
	name  string
	frame string // hex: FF 03, protocol, packet
	want  any    // wantPacket, PAPPacket or CHAPPacket
}

// wantPacket is an expected LCP/IPCP packet: options for Configure-*, raw
// data otherwise.
type wantPacket struct {
	code    Code
	id      uint8
	opts    []Option
	data    []byte
	hasOpts bool
}

func lcp(code Code, id uint8, opts ...Option) wantPacket {
	return wantPacket{code: code, id: id, opts: opts, hasOpts: true}
}

func raw(code Code, id uint8, data string) wantPacket {
	return wantPacket{code: code, id: id, data: unhex(data)}
}

func opt(typ uint8, data string) Option { return Option{Type: typ, Data: unhex(data)} }

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func allGolden() []golden {
	return append(append([]golden(nil), goldenSoftEtherVectors...), goldenL2TPNSVectors...)
}

// TestGolden decodes each captured packet, checks its fields, and re-encodes
// it to the identical bytes.
func TestGolden(t *testing.T) {
	for _, v := range allGolden() {
		t.Run(v.name, func(t *testing.T) {
			frame := unhex(v.frame)
			proto, info, err := ParseFrame(frame)
			if err != nil {
				t.Fatal(err)
			}
			var re []byte
			switch w := v.want.(type) {
			case wantPacket:
				if proto != ProtoLCP && proto != ProtoIPCP {
					t.Fatalf("protocol %v", proto)
				}
				p, err := ParsePacket(info)
				if err != nil {
					t.Fatal(err)
				}
				if p.Code != w.code || p.ID != w.id {
					t.Errorf("got %v id=%d, want %v id=%d", p.Code, p.ID, w.code, w.id)
				}
				if w.hasOpts {
					opts, err := ParseOptions(p.Data, nil)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(opts) != fmt.Sprint(w.opts) {
						t.Errorf("options %v, want %v", opts, w.opts)
					}
					re = Packet{Code: p.Code, ID: p.ID, Data: AppendOptions(nil, opts...)}.Append(nil)
				} else {
					if !bytes.Equal(p.Data, w.data) {
						t.Errorf("data %x, want %x", p.Data, w.data)
					}
					re = p.Append(nil)
				}
				if len(re) != p.Len() {
					t.Errorf("Len() = %d, encoded %d", p.Len(), len(re))
				}
			case PAPPacket:
				if proto != ProtoPAP {
					t.Fatalf("protocol %v", proto)
				}
				p, err := ParsePAP(info)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(p) != fmt.Sprint(w) {
					t.Errorf("got %+v, want %+v", p, w)
				}
				re = p.Append(nil)
				if len(re) != p.Len() {
					t.Errorf("Len() = %d, encoded %d", p.Len(), len(re))
				}
			case CHAPPacket:
				if proto != ProtoCHAP {
					t.Fatalf("protocol %v", proto)
				}
				p, err := ParseCHAP(info)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(p) != fmt.Sprint(w) {
					t.Errorf("got %+v, want %+v", p, w)
				}
				re = p.Append(nil)
				if len(re) != p.Len() {
					t.Errorf("Len() = %d, encoded %d", p.Len(), len(re))
				}
			default:
				t.Fatalf("bad vector %T", v.want)
			}
			if !bytes.Equal(re, info) {
				t.Errorf("re-encoded\n %x\nwant\n %x", re, info)
			}
			hdr := make([]byte, HeaderLen, HeaderLen+len(re))
			PutHeader(hdr, proto)
			if got := append(hdr, re...); !bytes.Equal(got, frame) {
				t.Errorf("frame %x, want %x", got, frame)
			}
		})
	}
}

func goldenInfo(t *testing.T, name string) []byte {
	t.Helper()
	for _, v := range allGolden() {
		if v.name == name {
			_, info, err := ParseFrame(unhex(v.frame))
			if err != nil {
				t.Fatal(err)
			}
			return info
		}
	}
	t.Fatalf("no golden vector %s", name)
	return nil
}

// TestGoldenCHAPMD5 recomputes the probe's CHAP-MD5 response to l2tpns.
func TestGoldenCHAPMD5(t *testing.T) {
	ch, _ := ParseCHAP(goldenInfo(t, "l2tpns-chap/17"))
	resp, _ := ParseCHAP(goldenInfo(t, "l2tpns-chap/18"))
	got := chapMD5Response(ch.ID, "pfpass", ch.Value)
	if !bytes.Equal(got[:], resp.Value) {
		t.Errorf("MD5 response %x, captured %x", got, resp.Value)
	}
}

// TestGoldenSoftEtherMSCHAPv2 recomputes the NT-Response from the captured
// challenges (user pfuser, password pfpass) and verifies SoftEther's S= value.
func TestGoldenSoftEtherMSCHAPv2(t *testing.T) {
	ch, _ := ParseCHAP(goldenInfo(t, "se-mschapv2/18"))
	resp, _ := ParseCHAP(goldenInfo(t, "se-mschapv2/19"))
	succ, _ := ParseCHAP(goldenInfo(t, "se-mschapv2/20"))
	if len(ch.Value) != 16 || len(resp.Value) != mschapv2ResponseLen {
		t.Fatalf("sizes %d %d", len(ch.Value), len(resp.Value))
	}
	auth, peer := [16]byte(ch.Value), [16]byte(resp.Value[:16])
	nt := generateNTResponse(&auth, &peer, "pfuser", "pfpass")
	if !bytes.Equal(nt[:], resp.Value[24:48]) {
		t.Errorf("NT-Response %x, captured %x", nt, resp.Value[24:48])
	}
	s, err := parseMSCHAPv2Success(succ.Message)
	if err != nil {
		t.Fatal(err)
	}
	want := generateAuthenticatorResponse("pfpass", &nt, &peer, &auth, "pfuser")
	if !checkAuthenticatorResponse(s.AuthResponse, want) {
		t.Errorf("S=%X, computed %X", s.AuthResponse, want)
	}
	if checkAuthenticatorResponse(s.AuthResponse, generateAuthenticatorResponse("pfpasx", &nt, &peer, &auth, "pfuser")) {
		t.Errorf("a wrong password verifies")
	}
}

// TestGoldenLCPReplies feeds the servers' LCP requests to our LCP options
// and checks our replies against what the capture client sent.
func TestGoldenLCPReplies(t *testing.T) {
	for _, tc := range []struct {
		request string
		auth    []AuthMethod
		code    Code
		reply   string // options
	}{
		// SoftEther asks EAP: Nak towards PAP (se-pap frame 13) or MS-CHAPv2 (se-mschapv2 frame 12).
		{"se-pap/10", []AuthMethod{AuthPAP}, CodeConfigureNak, "0304c023"},
		{"se-pap/10", nil, CodeConfigureNak, "0305c22381"},
		// MS-CHAPv2 when only PAP is allowed (se-pap frame 17).
		{"se-pap/16", []AuthMethod{AuthPAP}, CodeConfigureNak, "0304c023"},
		{"se-pap/19", nil, CodeConfigureAck, ""},
		// l2tpns: reject MRRU and Endpoint-Discriminator (l2tpns-pap frame 12).
		{"l2tpns-pap/10", nil, CodeConfigureReject, "1104064e130702cb007101"},
		{"l2tpns-pap/13", nil, CodeConfigureAck, ""},
		// PAP when only CHAP is allowed: Nak towards CHAP-MD5 (l2tpns-chap frame 14).
		{"l2tpns-pap/13", []AuthMethod{AuthCHAPMD5}, CodeConfigureNak, "0305c22305"},
		{"l2tpns-chap/15", []AuthMethod{AuthCHAPMD5}, CodeConfigureAck, ""},
	} {
		l := NewLink(Config{Auth: tc.auth, Logger: slog.New(slog.DiscardHandler)}, nil)
		p, err := ParsePacket(goldenInfo(t, tc.request))
		if err != nil {
			t.Fatal(err)
		}
		code, reply, err := l.lcpL.checkRequest(p.Data, false, nil)
		if err != nil || code != tc.code || hex.EncodeToString(reply) != tc.reply {
			t.Errorf("%s %v: %v %x %v, want %v %s", tc.request, tc.auth, code, reply, err, tc.code, tc.reply)
		}
	}
}

// TestGoldenIPCP applies the servers' IPCP Naks to our request.
func TestGoldenIPCP(t *testing.T) {
	for _, tc := range []struct{ nak, want string }{
		// The captures predate our NBNS options (RFC 1877 1.2, 1.4):
		// they stay at 0.0.0.0 until the server Naks or rejects them.
		{"se-pap/24", "0306c633640a810600000000830600000000820600000000840600000000"},
		{"l2tpns-pap/20", "0306cb0071c0810600000000830600000000820600000000840600000000"},
	} {
		l := NewLink(Config{}, nil)
		p, _ := ParsePacket(goldenInfo(t, tc.nak))
		if err := l.ipcpL.gotNak(p.Data); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(l.ipcpL.appendRequest(nil)); got != tc.want {
			t.Errorf("%s: next request %s, want %s", tc.nak, got, tc.want)
		}
	}
}
