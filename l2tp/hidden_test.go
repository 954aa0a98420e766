package l2tp

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"
)

// hideByHand is RFC 2661 4.3 written out step by step, independently of
// hideXOR: b1 = MD5(type + S + RV), c1 = p1 xor b1, bi = MD5(S + c(i-1)).
func hideByHand(typ AVPType, value, pad, secret, rv []byte) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(len(value)))
	p = append(p, value...)
	p = append(p, pad...)
	var c []byte
	var prev []byte
	for i := 0; i < len(p); i += 16 {
		var in []byte
		if i == 0 {
			in = binary.BigEndian.AppendUint16(nil, uint16(typ))
			in = append(in, secret...)
			in = append(in, rv...)
		} else {
			in = append(append([]byte{}, secret...), prev...)
		}
		b := md5.Sum(in)
		end := min(i+16, len(p))
		block := make([]byte, end-i)
		for j := range block {
			block[j] = p[i+j] ^ b[j]
		}
		c = append(c, block...)
		prev = block
	}
	return c
}

func TestHideKnownAnswer(t *testing.T) {
	secret := []byte("pgtunnelsecret")
	rv := []byte("0123456789abcdef")
	for _, n := range []int{0, 1, 13, 14, 15, 16, 30, 31, 32, 33, 100} {
		value := make([]byte, n)
		for i := range value {
			value[i] = byte(i*7 + 1)
		}
		pad := []byte{9, 8, 7}
		a := BytesAVP(AVPVendorName, false, append([]byte(nil), value...))
		a.Hide(secret, rv, pad)
		if want := hideByHand(AVPVendorName, value, pad, secret, rv); !bytes.Equal(a.Value, want) {
			t.Errorf("len %d: hidden %x, want %x", n, a.Value, want)
		}
		if !a.Hidden || len(a.Value) != 2+n+len(pad) {
			t.Errorf("len %d: Hidden %v, %d octets", n, a.Hidden, len(a.Value))
		}
		if err := a.Reveal(secret, rv); err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if a.Hidden || !bytes.Equal(a.Value, value) {
			t.Errorf("len %d: revealed %x, want %x", n, a.Value, value)
		}
	}
}

func TestRevealErrors(t *testing.T) {
	a := AVP{Hidden: true, Type: AVPVendorName, Value: []byte{1}}
	if err := a.Reveal([]byte("s"), []byte("rv")); !errors.Is(err, ErrMalformed) {
		t.Errorf("1-octet hidden value: %v", err)
	}
	b := BytesAVP(AVPAssignedTunnelID, true, []byte{0x12, 0x34})
	b.Hide([]byte("right"), []byte("rv"), nil)
	orig := append([]byte(nil), b.Value...)
	if err := b.Reveal([]byte("wrong"), []byte("rv")); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong secret: %v", err)
	}
	if !b.Hidden || !bytes.Equal(b.Value, orig) {
		t.Error("failed Reveal changed the AVP")
	}
}

// hiddenSample is an SCCRP with hidden Assigned Tunnel ID and Vendor Name
// under secret "pgtunnelsecret".
func hiddenSample(t testing.TB) []byte {
	m := NewMessage(SCCRP, 0x1234, 0)
	m.Add(
		Uint16AVP(AVPProtocolVersion, true, 0x0100),
		BytesAVP(AVPHostName, true, []byte("lns")),
		Uint16AVP(AVPAssignedTunnelID, true, 0x4242),
		BytesAVP(AVPVendorName, false, []byte("a vendor name longer than sixteen octets")),
	)
	m.Hide([]byte("pgtunnelsecret"), []byte("random vector 16"), AVPAssignedTunnelID, AVPVendorName)
	return m.Append(nil)
}

func TestMessageHideRoundTrip(t *testing.T) {
	b := hiddenSample(t)
	// Without the secret the hidden AVPs stay hidden and re-encode identically.
	m, err := ParseMessage(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Append(nil); !bytes.Equal(got, b) {
		t.Error("re-encoding of hidden message differs")
	}
	if m.AVPs[3].Type != AVPRandomVector || !m.AVPs[4].Hidden || !m.AVPs[5].Hidden {
		t.Fatalf("AVPs %+v", m.AVPs)
	}
	if _, err := m.AVPs[4].Uint16(); err == nil {
		t.Error("Uint16 of a hidden AVP succeeded")
	}
	// With it they are revealed.
	m, err = ParseMessage(b, []byte("pgtunnelsecret"))
	if err != nil {
		t.Fatal(err)
	}
	wantU16(t, &m, AVPAssignedTunnelID, 0x4242)
	wantStr(t, &m, AVPVendorName, "a vendor name longer than sixteen octets")
	for _, a := range m.AVPs {
		if a.Hidden {
			t.Errorf("%s still hidden", a.Type)
		}
	}
	// Revealing must not write into the input.
	if !bytes.Equal(b, hiddenSample(t)) {
		t.Error("ParseMessage modified its input")
	}
}

func TestHiddenRandomVectorClosestPreceding(t *testing.T) {
	secret := []byte("s3")
	m := NewMessage(ICCN, 1, 2)
	a1 := Uint32AVP(AVPTxConnectSpeed, true, 1000)
	a1.Hide(secret, []byte("first"), nil)
	a2 := Uint32AVP(AVPRxConnectSpeed, false, 2000)
	a2.Hide(secret, []byte("second"), []byte{0, 0, 0})
	m.Add(BytesAVP(AVPRandomVector, true, []byte("first")), a1,
		BytesAVP(AVPRandomVector, true, []byte("second")), a2)
	got, err := ParseMessage(m.Append(nil), secret)
	if err != nil {
		t.Fatal(err)
	}
	wantU32(t, &got, AVPTxConnectSpeed, 1000)
	wantU32(t, &got, AVPRxConnectSpeed, 2000)
}
