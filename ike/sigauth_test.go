package ike

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"testing"
)

// RSA signatures are PKCS#1 v1.5 over the raw hash, no DigestInfo
// (strongSwan's SIGN_RSA_EMSA_PKCS1_NULL): the signature, opened with the
// public key, is 00 01 FF.. 00 followed by the hash itself.
func TestSignAuthRSA(t *testing.T) {
	k := testRSAKey(t, 0)
	hash := bytes.Repeat([]byte{0xab}, 20)
	sig, err := signAuth(k, authRSASig, rand.Reader, hash)
	if err != nil {
		t.Fatal(err)
	}
	m := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, k.Size()))
	if m[0] != 0 || m[1] != 1 || m[len(m)-len(hash)-1] != 0 || !bytes.Equal(m[len(m)-len(hash):], hash) {
		t.Errorf("opened signature %x", m)
	}
	if err := verifyAuth(&k.PublicKey, authRSASig, hash, sig); err != nil {
		t.Error(err)
	}
	if err := verifyAuth(&k.PublicKey, authRSASig, hash[1:], sig); err == nil {
		t.Error("a signature over another hash verified")
	}
	if err := verifyAuth(&k.PublicKey, authECDSA256, hash, sig); err == nil {
		t.Error("an RSA key verified an ECDSA method")
	}
}

// ECDSA signatures are r | s, each as wide as the curve order (RFC 4754 7),
// over the hash as it is; a DER one is accepted too.
func TestSignAuthECDSA(t *testing.T) {
	for _, tc := range []struct {
		c    elliptic.Curve
		m    authMethod
		h    HashAlg
		size int
	}{{elliptic.P256(), authECDSA256, HashSHA256, 64}, {elliptic.P384(), authECDSA384, HashSHA384, 96}, {elliptic.P521(), authECDSA521, HashSHA512, 132}} {
		k := testECKey(t, tc.c)
		if m, err := keyAuthMethod(k.Public()); err != nil || m != tc.m {
			t.Errorf("keyAuthMethod = %v, %v", m, err)
		}
		if authPRF(tc.m, HashSHA1) != tc.h || authPRF(authRSASig, HashSHA1) != HashSHA1 {
			t.Errorf("%s: prf hash %v", tc.m, authPRF(tc.m, HashSHA1))
		}
		hash := bytes.Repeat([]byte{0x5a}, tc.h.Size())
		sig, err := signAuth(k, tc.m, rand.Reader, hash)
		if err != nil || len(sig) != tc.size {
			t.Fatalf("%s: %d bytes, %v", tc.m, len(sig), err)
		}
		n := tc.size / 2
		if !ecdsa.Verify(&k.PublicKey, hash, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			t.Errorf("%s: r|s does not verify", tc.m)
		}
		if err := verifyAuth(&k.PublicKey, tc.m, hash, sig); err != nil {
			t.Error(err)
		}
		der, _ := ecdsa.SignASN1(rand.Reader, k, hash)
		if err := verifyAuth(&k.PublicKey, tc.m, hash, der); err != nil {
			t.Errorf("%s: DER signature: %v", tc.m, err)
		}
		sig[3] ^= 1
		if err := verifyAuth(&k.PublicKey, tc.m, hash, sig); err == nil {
			t.Errorf("%s: a corrupted signature verified", tc.m)
		}
		if err := verifyAuth(&k.PublicKey, authRSASig, hash, sig); err == nil {
			t.Error("an ECDSA key verified the RSA method")
		}
		if _, err := signAuth(k, authRSASig, rand.Reader, hash); err == nil {
			t.Error("an ECDSA key signed for RSA")
		}
	}
	if _, err := keyAuthMethod(testECKey(t, elliptic.P224()).Public()); err == nil {
		t.Error("P-224 accepted")
	}
}

// SKEYID for signatures is prf(Ni_b | Nr_b, g^xy) (RFC 2409 5).
func TestSKEYIDSig(t *testing.T) {
	ni, nr, gxy := []byte("initiator nonce"), []byte("responder nonce"), []byte("shared secret")
	want := prf(HashSHA256, []byte("initiator nonceresponder nonce"), gxy)
	if got := skeyidSig(HashSHA256, ni, nr, gxy); !bytes.Equal(got, want) || bytes.Equal(ni, []byte("initiator nonceresponder nonce")) {
		t.Errorf("SKEYID %x", got)
	}
}
