package ike

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
)

func TestEncAlg(t *testing.T) {
	if Enc3DES.String() != "3des" || EncAESCBC.String() != "aes" || EncAlg(1).String() != "enc(1)" {
		t.Error("names")
	}
	if Enc3DES.BlockSize() != 8 || EncAESCBC.BlockSize() != 16 || EncAlg(1).BlockSize() != 0 {
		t.Error("block sizes")
	}
	ok := []struct {
		e          EncAlg
		bits, want int
	}{{Enc3DES, 0, 24}, {Enc3DES, 192, 24}, {EncAESCBC, 128, 16}, {EncAESCBC, 192, 24}, {EncAESCBC, 256, 32}}
	for _, c := range ok {
		if n, err := c.e.KeyLen(c.bits); n != c.want || err != nil {
			t.Errorf("%v/%d: %d %v", c.e, c.bits, n, err)
		}
	}
	for _, c := range []struct {
		e    EncAlg
		bits int
	}{{Enc3DES, 128}, {EncAESCBC, 0}, {EncAESCBC, 64}, {EncAlg(1), 0}} {
		if _, err := c.e.KeyLen(c.bits); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%v/%d: %v", c.e, c.bits, err)
		}
	}
}

func TestCBCRoundTrip(t *testing.T) {
	for _, c := range []struct {
		e   EncAlg
		key int
	}{{Enc3DES, 24}, {EncAESCBC, 16}, {EncAESCBC, 24}, {EncAESCBC, 32}} {
		key := bytes.Repeat([]byte{0x5a}, c.key)
		bs := c.e.BlockSize()
		iv := bytes.Repeat([]byte{1}, bs)
		for n := 1; n <= 3*bs; n++ {
			plain := bytes.Repeat([]byte{0xa7}, n)
			ct, next, err := encryptCBC(c.e, key, iv, append([]byte(nil), plain...))
			if err != nil {
				t.Fatal(err)
			}
			if len(ct)%bs != 0 || len(ct) < n || len(ct)-n >= bs || !bytes.Equal(next, ct[len(ct)-bs:]) {
				t.Fatalf("%v n=%d: ciphertext %d bytes", c.e, n, len(ct))
			}
			got, next2, err := decryptCBC(c.e, key, iv, ct)
			if err != nil || !bytes.Equal(next2, next) {
				t.Fatal(err)
			}
			// Plaintext, then zero padding (no pad-length byte).
			if !bytes.Equal(got[:n], plain) || !bytes.Equal(got[n:], make([]byte, len(got)-n)) {
				t.Fatalf("%v n=%d: %x", c.e, n, got)
			}
		}
	}
}

func TestCBCChaining(t *testing.T) {
	// Two messages with IV chaining equal one CBC stream over both.
	key, iv := make([]byte, 16), make([]byte, 16)
	m1, m2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	c1, next, _ := encryptCBC(EncAESCBC, key, iv, append([]byte(nil), m1...))
	c2, _, _ := encryptCBC(EncAESCBC, key, next, append([]byte(nil), m2...))
	b, _ := aes.NewCipher(key)
	want := make([]byte, 48)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(want, append(m1, m2...))
	if !bytes.Equal(append(c1, c2...), want) {
		t.Error("chained ciphertext differs from one CBC stream")
	}
}

func TestCBCErrors(t *testing.T) {
	key, iv := make([]byte, 16), make([]byte, 16)
	for _, ct := range [][]byte{nil, make([]byte, 15), make([]byte, 17)} {
		if _, _, err := decryptCBC(EncAESCBC, key, iv, ct); err == nil {
			t.Errorf("decrypt %d bytes: no error", len(ct))
		}
	}
	if _, _, err := encryptCBC(EncAESCBC, key, iv, nil); err == nil {
		t.Error("encrypt empty: no error")
	}
	if _, _, err := decryptCBC(EncAESCBC, key, iv[:8], make([]byte, 16)); err == nil {
		t.Error("short iv: no error")
	}
	if _, _, err := decryptCBC(EncAESCBC, key[:5], iv, make([]byte, 16)); err == nil {
		t.Error("bad key: no error")
	}
	if _, _, err := encryptCBC(EncAlg(99), key, iv, make([]byte, 16)); err == nil {
		t.Error("unknown cipher: no error")
	}
	// decryptCBC leaves its input alone.
	ct := bytes.Repeat([]byte{9}, 32)
	if _, _, err := decryptCBC(EncAESCBC, key, iv, ct); err != nil || !bytes.Equal(ct, bytes.Repeat([]byte{9}, 32)) {
		t.Error("input modified")
	}
}

// TestDecryptTruncation decrypts every prefix of a golden encrypted body:
// block multiples decrypt, the rest fail cleanly.
func TestDecryptTruncation(t *testing.T) {
	r := loadCryptoRuns(t)[2]
	k := r.keys(t)
	_, body := r.body(t, r.MMFrames[4])
	for n := 0; n <= len(body); n++ {
		p, _, err := decryptCBC(EncAESCBC, k.Ka, k.IV, body[:n])
		if (err == nil) != (n > 0 && n%16 == 0) {
			t.Fatalf("prefix %d: %v", n, err)
		}
		if err == nil && !bytes.Equal(p, r.p1(t, "MM5_plaintext")[:n]) {
			t.Fatalf("prefix %d: %x", n, p)
		}
	}
}

func FuzzDecryptCBC(f *testing.F) {
	r := loadCryptoRuns(f)[2]
	k := r.keys(f)
	f.Add(uint8(0), r.p1(f, "MM5_plaintext"))
	f.Add(uint8(1), make([]byte, 24))
	f.Fuzz(func(t *testing.T, alg uint8, ct []byte) {
		e, key, iv := EncAESCBC, k.Ka, k.IV
		if alg%2 == 1 {
			e, key, iv = Enc3DES, append(append([]byte(nil), k.Ka...), k.Ka[:8]...), k.IV[:8]
		}
		p, next, err := decryptCBC(e, key, iv, ct)
		if err != nil {
			return
		}
		c, next2, err := encryptCBC(e, key, iv, p)
		if err != nil || !bytes.Equal(c, ct) || !bytes.Equal(next, next2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
