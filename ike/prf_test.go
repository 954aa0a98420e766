package ike

import (
	"bytes"
	"strconv"
	"testing"
)

func TestHashAlg(t *testing.T) {
	for _, c := range []struct {
		h    HashAlg
		name string
		size int
	}{{HashMD5, "md5", 16}, {HashSHA1, "sha1", 20}, {HashSHA256, "sha256", 32}, {HashSHA384, "sha384", 48}, {HashSHA512, "sha512", 64}} {
		if c.h.String() != c.name || c.h.Size() != c.size || !c.h.Supported() || c.h.New().Size() != c.size {
			t.Errorf("%d: %s %d", uint16(c.h), c.h, c.h.Size())
		}
	}
	for _, h := range []HashAlg{0, 3, 7} {
		if h.Supported() || h.Size() != 0 || h.New() != nil || h.String() != "hash("+strconv.Itoa(int(h))+")" {
			t.Errorf("%d supported", uint16(h))
		}
	}
}

// TestPRFVectors uses the "Jefe" test case of RFC 2202 (MD5, SHA-1) and
// RFC 4231 (SHA-2), with the data split across arguments.
func TestPRFVectors(t *testing.T) {
	key := []byte("Jefe")
	a, b := []byte("what do ya "), []byte("want for nothing?")
	want := map[HashAlg]string{
		HashMD5:    "750c783e6ab0b503eaa86e310a5db738",
		HashSHA1:   "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
		HashSHA256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		HashSHA384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
		HashSHA512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	}
	for h, w := range want {
		if got := prf(h, key, a, nil, b); !bytes.Equal(got, unhex(t, w)) {
			t.Errorf("%v: %x", h, got)
		}
	}
	if got := digest(HashSHA1, []byte("ab"), []byte("c")); !bytes.Equal(got, unhex(t, "a9993e364706816aba3e25717850c26c9cd0d89d")) {
		t.Errorf("sha1(abc) = %x", got)
	}
}
