package ppp

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestPAPCodec(t *testing.T) {
	req := PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("pfuser"), Password: []byte("pfpass")}
	b := req.Append(nil)
	// The probe's Authenticate-Request (se-l2tp-ppp-pap.pcap frame 21).
	if hex.EncodeToString(b) != "010100120670667573657206706670617373" || len(b) != req.Len() {
		t.Fatalf("request %x", b)
	}
	p, err := ParsePAP(b)
	if err != nil || string(p.PeerID) != "pfuser" || string(p.Password) != "pfpass" {
		t.Fatalf("ParsePAP = %+v %v", p, err)
	}
	nak := PAPPacket{Code: PAPAuthenticateNak, ID: 3, Message: []byte("Authentication failure")}
	if p, err := ParsePAP(nak.Append(nil)); err != nil || string(p.Message) != "Authentication failure" || p.NoMsgLength {
		t.Fatalf("Nak round trip %+v %v", p, err)
	}
	for _, bad := range []string{"", "020100", "02010003", "0201000501ff", "0101000501", "01010007037573", "04010004"} {
		if _, err := ParsePAP(unhex(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePAP(%s) = %v", bad, err)
		}
	}
	if PAPAuthenticateNak.String() != "Authenticate-Nak" || PAPCode(9).String() != "PAP-Code-9" {
		t.Error("PAPCode.String")
	}
}

func TestCHAPCodec(t *testing.T) {
	for _, bad := range []string{"", "010100", "01010004", "0101000500", "010100061001", "09010004"} {
		if _, err := ParseCHAP(unhex(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCHAP(%s) = %v", bad, err)
		}
	}
	p := CHAPPacket{Code: CHAPFailure, ID: 2, Message: []byte("E=691 R=0")}
	if q, err := ParseCHAP(p.Append(nil)); err != nil || string(q.Message) != "E=691 R=0" {
		t.Fatalf("round trip %+v %v", q, err)
	}
	if CHAPFailure.String() != "Failure" || CHAPCode(9).String() != "CHAP-Code-9" {
		t.Error("CHAPCode.String")
	}
}

// TestAuthTruncation: every prefix of a PAP or CHAP packet fails cleanly.
func TestAuthTruncation(t *testing.T) {
	pkts := [][]byte{
		PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("pfuser"), Password: []byte("pfpass")}.Append(nil),
		PAPPacket{Code: PAPAuthenticateAck, ID: 1, Message: []byte("hi")}.Append(nil),
	}
	for _, v := range allGolden() {
		if proto, info, _ := ParseFrame(unhex(v.frame)); proto == ProtoPAP || proto == ProtoCHAP {
			pkts = append(pkts, info)
		}
	}
	for _, b := range pkts {
		for n := 0; n < len(b); n++ {
			if _, err := ParsePAP(b[:n]); err == nil {
				t.Errorf("ParsePAP(%x) parsed", b[:n])
			}
			if _, err := ParseCHAP(b[:n]); err == nil {
				t.Errorf("ParseCHAP(%x) parsed", b[:n])
			}
		}
	}
}

// RFC 2759 section 9.2: user "User", password "clientPass".
func TestMSCHAPv2RFCVectors(t *testing.T) {
	auth := [16]byte(unhex("5B5D7C7D7B3F2F3E3C2C602132262628"))
	peer := [16]byte(unhex("21402324255E262A28295F2B3A337C7E"))
	if ch := challengeHash(&peer, &auth, "User"); hex.EncodeToString(ch[:]) != "d02e4386bce91226" {
		t.Errorf("ChallengeHash %x", ch)
	}
	if ph := ntPasswordHash("clientPass"); hex.EncodeToString(ph[:]) != "44ebba8d5312b8d611474411f56989ae" {
		t.Errorf("PasswordHash %x", ph)
	}
	nt := generateNTResponse(&auth, &peer, "User", "clientPass")
	if hex.EncodeToString(nt[:]) != "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df" {
		t.Errorf("NT-Response %x", nt)
	}
	ar := generateAuthenticatorResponse("clientPass", &nt, &peer, &auth, "User")
	if "S="+strings.ToUpper(hex.EncodeToString(ar[:])) != "S=407A5589115FD0D6209F510FE9C04566932CDA56" {
		t.Errorf("AuthenticatorResponse %X", ar)
	}
	// A domain prefix is not part of the challenge hash (RFC 2759 8.2).
	if generateNTResponse(&auth, &peer, `BIGCO\User`, "clientPass") != nt {
		t.Errorf("domain prefix changed the NT-Response")
	}
}

// RFC 2759 section 9.3: the DES keys of "MyPw".
func TestMSCHAPv2DESKeys(t *testing.T) {
	ph := ntPasswordHash("MyPw")
	if hex.EncodeToString(ph[:]) != "fc156af7edcd6c0edde3337d427f4eac" {
		t.Fatalf("PasswordHash %x", ph)
	}
	for i, want := range []string{"FD0B5B5E7F6E34D9", "0E6E796737EA08FE"} {
		k := expandDESKey(ph[7*i : 7*i+7])
		rfc := unhex(want)
		for j := range k {
			if k[j] != rfc[j]&^1 {
				t.Errorf("key %d: %x, RFC %s (parity bits aside)", i, k, want)
				break
			}
		}
		// DES ignores parity: the RFC's key encrypts the same.
		c, _ := des.NewCipher(rfc)
		var a, b [8]byte
		c.Encrypt(a[:], []byte("12345678"))
		desEncrypt(b[:], ph[7*i:7*i+7], []byte("12345678"))
		if a != b {
			t.Errorf("key %d encrypts differently", i)
		}
	}
}

func TestMSCHAPv2Success(t *testing.T) {
	s, err := parseMSCHAPv2Success([]byte("S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome"))
	if err != nil || hex.EncodeToString(s.AuthResponse[:]) != "407a5589115fd0d6209f510fe9c04566932cda56" || string(s.Message) != "Welcome" {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"", "S=", "M=hi", "S=407A5589115FD0D6209F510FE9C04566932CDA5", "S=407A5589115FD0D6209F510FE9C04566932CDA5G",
		"S=407A5589115FD0D6209F510FE9C04566932CDA56x"} {
		if _, err := parseMSCHAPv2Success([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMSCHAPv2Failure(t *testing.T) {
	f, err := parseMSCHAPv2Failure([]byte("E=691 R=1 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failure"))
	if err != nil || f.Error != 691 || !f.Retry || !f.HasChallenge || f.Challenge[0] != 0x5b || f.Version != 3 || string(f.Message) != "Authentication failure" {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err := parseMSCHAPv2Failure([]byte("E=648 R=0 V=3")); err != nil || f.Error != 648 || f.Retry || f.HasChallenge {
		t.Errorf("no C=: %+v %v", f, err)
	}
	for _, c := range []string{"12", "5B5D7C7D7B3F2F3E3C2C60213226262800112233", "5B5D7C7D7B3F2F3E3C2C60213226262X"} {
		if f, err := parseMSCHAPv2Failure([]byte("E=691 C=" + c + " V=3")); err != nil || f.HasChallenge || f.Version != 3 {
			t.Errorf("bad C=%s: %+v %v", c, f, err)
		}
	}
	for _, bad := range []string{"", "R=0", "E=x", "E=12345678901", "M=E=691"} {
		if _, err := parseMSCHAPv2Failure([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for code, want := range map[int]string{646: "restricted", 647: "disabled", 648: "expired", 649: "dial-in", 691: "wrong user name or password", 709: "changing password", 1: "unknown"} {
		if !strings.Contains(mschapv2ErrorText(code), want) {
			t.Errorf("E=%d: %q", code, mschapv2ErrorText(code))
		}
	}
}

func FuzzPAP(f *testing.F) {
	f.Add(PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("u"), Password: []byte("p")}.Append(nil))
	f.Add(PAPPacket{Code: PAPAuthenticateAck, ID: 1, NoMsgLength: true}.Append(nil))
	f.Add(PAPPacket{Code: PAPAuthenticateNak, ID: 1, Message: []byte("no")}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePAP(b)
		if err != nil {
			return
		}
		re := p.Append(nil)
		if len(re) != p.Len() || len(re) > len(b) {
			t.Fatalf("Len %d, encoded %d from %d", p.Len(), len(re), len(b))
		}
		q, err := ParsePAP(re)
		if err != nil || !bytes.Equal(q.Append(nil), re) {
			t.Fatalf("re-encoded packet %x does not round-trip: %v", re, err)
		}
		_ = describe(ProtoPAP, b)
	})
}

func FuzzCHAP(f *testing.F) {
	for _, v := range allGolden() {
		if proto, info, _ := ParseFrame(unhex(v.frame)); proto == ProtoCHAP {
			f.Add(info)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseCHAP(b)
		if err != nil {
			return
		}
		re := p.Append(nil)
		if len(re) != p.Len() || !bytes.Equal(re, b[:len(re)]) {
			t.Fatalf("re-encoded %x, input %x", re, b)
		}
		_ = describe(ProtoCHAP, b)
	})
}

func FuzzMSCHAPv2Success(f *testing.F) {
	f.Add([]byte("S=584F9AD9CC31AE2C7BB65562A6F50E2C735FE303"))
	f.Add([]byte("S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseMSCHAPv2Success(b)
		if err != nil {
			return
		}
		if len(s.Message) > len(b) {
			t.Fatal("message longer than the input")
		}
		_ = checkAuthenticatorResponse(s.AuthResponse, [20]byte{})
	})
}

func FuzzMSCHAPv2Failure(f *testing.F) {
	f.Add([]byte("E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failure"))
	f.Add([]byte("E=648 R=0 V=3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := parseMSCHAPv2Failure(b)
		if err != nil {
			return
		}
		if fl.Error < 0 || len(fl.Message) > len(b) {
			t.Fatalf("%+v", fl)
		}
		e := chapFailure(AuthMSCHAPv2, b)
		if msg := e.Error(); !strings.HasPrefix(msg, "ppp: authentication failed: server rejected MS-CHAPv2") {
			t.Fatalf("error %q", msg)
		}
	})
}

// TestMSCHAPv2MessageTruncation: prefixes of Success and Failure messages
// fail cleanly or parse to what the full message says so far.
func TestMSCHAPv2MessageTruncation(t *testing.T) {
	succ := []byte("S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome")
	full, _ := parseMSCHAPv2Success(succ)
	for n := 0; n <= len(succ); n++ {
		s, err := parseMSCHAPv2Success(succ[:n])
		if (err == nil) != (n >= 42) {
			t.Errorf("Success prefix %d: %v", n, err)
		}
		if err == nil && (s.AuthResponse != full.AuthResponse || !bytes.HasSuffix(succ[:n], s.Message)) {
			t.Errorf("Success prefix %d: %+v", n, s)
		}
	}
	fail := []byte("E=691 R=1 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failure")
	for n := 0; n <= len(fail); n++ {
		f, err := parseMSCHAPv2Failure(fail[:n])
		if n >= 6 && (err != nil || f.Error != 691) {
			t.Errorf("Failure prefix %d: %+v %v", n, f, err)
		}
		if err == nil && !bytes.HasSuffix(fail[:n], f.Message) {
			t.Errorf("Failure prefix %d: message %q", n, f.Message)
		}
	}
}
