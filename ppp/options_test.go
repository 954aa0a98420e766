package ppp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

func testLink(cfg Config) *Link {
	cfg.Rand = rand.NewChaCha8([32]byte{9})
	return NewLink(cfg, func([]byte) error { return nil })
}

func TestLCPCheckRequest(t *testing.T) {
	l := testLink(Config{Auth: []AuthMethod{AuthPAP, AuthCHAPMD5}})
	h := l.lcpL
	h.appendRequest(nil) // choose our magic
	ours := binary.BigEndian.AppendUint32(nil, h.magic)
	for _, tc := range []struct {
		name, req string
		code      Code
		reply     string
	}{
		{"mru ok", "010405b6", CodeConfigureAck, ""},
		{"mru too small", "01040040", CodeConfigureNak, "01040080"},
		{"mru bad length", "0103ff", CodeConfigureReject, "0103ff"},
		{"accm", "020600000000", CodeConfigureAck, ""},
		{"pap", "0304c023", CodeConfigureAck, ""},
		{"chap-md5", "0305c22305", CodeConfigureAck, ""},
		{"eap", "0304c227", CodeConfigureNak, "0305c22305"},
		{"mschapv2 not allowed", "0305c22381", CodeConfigureNak, "0305c22305"},
		{"mschapv1", "0305c22380", CodeConfigureNak, "0305c22305"},
		{"pfc acfc", "07020802", CodeConfigureAck, ""},
		{"pfc with data", "0703000802", CodeConfigureReject, "070300"},
		{"multilink", "1104064e130702cb007101", CodeConfigureReject, "1104064e130702cb007101"},
		{"quality callback", "0408c025000001f40d0306", CodeConfigureReject, "0408c025000001f40d0306"},
		{"reject wins over nak", "0304c2270d0306", CodeConfigureReject, "0d0306"},
		{"magic", "05066b0506cf", CodeConfigureAck, ""},
	} {
		code, reply, err := h.checkRequest(unhex(tc.req), false, nil)
		if err != nil || code != tc.code || hex.EncodeToString(reply) != tc.reply {
			t.Errorf("%s: %v %x %v, want %v %s", tc.name, code, reply, err, tc.code, tc.reply)
		}
	}
	// The last request's values are the negotiated ones.
	h.checkRequest(unhex("010405b60304c02305066b0506cf"), false, nil)
	if h.peerMRU != 1462 || h.auth != AuthPAP || h.peerMagic != 0x6b0506cf {
		t.Errorf("peer values %d %v %#x", h.peerMRU, h.auth, h.peerMagic)
	}

	// Magic zero and our own magic (loopback suspicion) are Nak'd with a
	// different number; our own one changes too.
	for _, m := range [][]byte{make([]byte, 4), ours} {
		before := h.magic
		code, reply, _ := h.checkRequest(append([]byte{lcpMagicNumber, 6}, m...), false, nil)
		if code != CodeConfigureNak || len(reply) != 6 || reply[0] != lcpMagicNumber {
			t.Fatalf("magic %x: %v %x", m, code, reply)
		}
		if s := binary.BigEndian.Uint32(reply[2:]); s == 0 || s == h.magic || s == binary.BigEndian.Uint32(m) {
			t.Errorf("suggested magic %#x", s)
		}
		if changed := h.magic != before; changed != (binary.BigEndian.Uint32(m) != 0) {
			t.Errorf("own magic changed=%v for peer magic %x", changed, m)
		}
	}
	ours = binary.BigEndian.AppendUint32(nil, h.magic)

	// Past Max-Failure: a looped-back link and a forbidden method are fatal.
	if _, _, err := h.checkRequest(append([]byte{lcpMagicNumber, 6}, ours...), true, nil); !errors.Is(err, ErrNegotiation) {
		t.Errorf("loopback past Max-Failure: %v", err)
	}
	_, _, err := h.checkRequest(unhex("0304c227"), true, nil)
	var ne *NoAuthMethodError
	if !errors.As(err, &ne) || ne.Requested != "EAP" {
		t.Errorf("EAP past Max-Failure: %v", err)
	}
	if code, reply, _ := h.checkRequest(unhex("01040040"), true, nil); code != CodeConfigureReject || hex.EncodeToString(reply) != "01040040" {
		t.Errorf("small MRU past Max-Failure: %v %x", code, reply)
	}
}

func TestLCPOurRequest(t *testing.T) {
	l := testLink(Config{MRU: 1400})
	h := l.lcpL
	req := h.appendRequest(nil)
	if len(req) != 10 || hex.EncodeToString(req[:4]) != "01040578" || req[4] != lcpMagicNumber {
		t.Fatalf("request %x", req)
	}
	magic := h.magic
	h.gotNak(unhex("010405dc05060000002a"))
	if h.sendMRU || h.magic == magic || !h.sendMagic {
		t.Errorf("after Nak: sendMRU=%v magic %#x→%#x", h.sendMRU, magic, h.magic)
	}
	h.gotNak(unhex("01040500"))
	if !h.sendMRU || h.mru != 1280 {
		t.Errorf("Nak towards 1280: %v %d", h.sendMRU, h.mru)
	}
	h.gotNak(unhex("01040010"))
	if h.sendMRU {
		t.Errorf("a silly MRU suggestion must drop the option")
	}
	// SoftEther rejects the Magic-Number: stop sending it, echo with 0.
	h.gotReject(unhex("05062c401b64"))
	if req := h.appendRequest(nil); len(req) != 0 {
		t.Errorf("request after rejects %x", req)
	}
	h.gotAck(nil)
	if h.ourMagic() != 0 || h.localMRU != 1500 {
		t.Errorf("magic %#x mru %d", h.ourMagic(), h.localMRU)
	}

	if testLink(Config{MRU: 1500}).lcpL.sendMRU {
		t.Errorf("MRU 1500 is the default and is not sent")
	}
}

func TestIPCPOptions(t *testing.T) {
	l := testLink(Config{})
	h := l.ipcpL
	if got := hex.EncodeToString(h.appendRequest(nil)); got != "030600000000810600000000830600000000820600000000840600000000" {
		t.Errorf("first request %s", got)
	}
	for _, tc := range []struct{ req, reply string }{
		{"0306c6336401", ""},
		{"030600000000", "030600000000"},                         // we cannot assign the server an address
		{"0206002d0f01", "0206002d0f01"},                         // VJ compression
		{"8206c6336401840600000000", "8206c6336401840600000000"}, // NBNS
		{"810600000000", "810600000000"},                         // the server asking us for DNS
		{"0306c63364010a0a0000000000000000", "0a0a0000000000000000"},
	} {
		code, reply, _ := h.checkRequest(unhex(tc.req), false, nil)
		want := CodeConfigureAck
		if tc.reply != "" {
			want = CodeConfigureReject
		}
		if code != want || hex.EncodeToString(reply) != tc.reply {
			t.Errorf("%s: %v %x, want %s", tc.req, code, reply, tc.reply)
		}
	}
	// DNS and NBNS rejected (l2tpns), then the address Nak'd.
	h.gotReject(unhex("810600000000830600000000820600000000840600000000"))
	h.gotNak(unhex("0306cb0071c0"))
	if got := hex.EncodeToString(h.appendRequest(nil)); got != "0306cb0071c0" {
		t.Errorf("request %s", got)
	}
	if a, ok := h.localAddr(); !ok || a.String() != "203.0.113.192" || len(h.dnsAddrs()) != 0 {
		t.Errorf("local %v %v dns %v", a, ok, h.dnsAddrs())
	}
	// A Nak of 0.0.0.0 does not count as an address; a rejected address fails.
	h2 := testLink(Config{}).ipcpL
	h2.gotNak(unhex("030600000000810608080808"))
	if _, ok := h2.localAddr(); ok || len(h2.dnsAddrs()) != 1 {
		t.Errorf("zero Nak: %v", h2.dnsAddrs())
	}
	h2.gotReject(unhex("030600000000"))
	if _, ok := h2.localAddr(); ok {
		t.Errorf("rejected address counts")
	}
}

func TestIPV6CPOptions(t *testing.T) {
	l := testLink(Config{IPv6: true})
	h := l.ipv6cpL
	req := h.appendRequest(nil)
	if len(req) != 10 || req[0] != ipv6cpInterfaceID || h.id == ([8]byte{}) {
		t.Fatalf("request %x", req)
	}
	if code, _, _ := h.checkRequest(unhex("010a0200000000000001"), false, nil); code != CodeConfigureAck || !h.havePeer {
		t.Errorf("distinct id: %v", code)
	}
	for _, bad := range [][]byte{unhex("010a0000000000000000"), req} {
		code, reply, _ := h.checkRequest(bad, false, nil)
		if code != CodeConfigureNak || len(reply) != 10 || [8]byte(reply[2:]) == h.id || [8]byte(reply[2:]) == ([8]byte{}) {
			t.Errorf("id %x: %v %x", bad, code, reply)
		}
	}
	if code, _, _ := h.checkRequest(unhex("02040000"), false, nil); code != CodeConfigureReject {
		t.Errorf("compression: %v", code)
	}
	h.gotNak(unhex("010a1111111111111111"))
	if h.id != [8]byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11} {
		t.Errorf("Nak'd id not taken: %x", h.id)
	}
	h.gotNak(unhex("010a0000000000000000"))
	if h.id == ([8]byte{}) {
		t.Errorf("took a zero id")
	}
}
