package esp

import (
	"errors"
	"testing"
)

// HMAC-SHA-256 with 96-bit ICVs (the "truncbug" mode) carries 12 bytes of
// ICV, the first 12 of the full HMAC, and does not interoperate with an
// RFC 4868 SA of the same keys: that mismatch is what users meet as
// "integrity check failed" right after Quick Mode.
func TestSHA256Truncbug(t *testing.T) {
	km := testKeymat(16+32, 1)
	bug, err := NewSA(1, Transform{AESCBC, HMACSHA256_96}, km, Transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := NewSA(1, Transform{AESCBC, HMACSHA256_128}, km, Transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bug.Tailroom() != full.Tailroom()-4 {
		t.Fatalf("tailroom %d vs %d: want a 4 bytes shorter ICV", bug.Tailroom(), full.Tailroom())
	}
	pkt := seal(t, bug, []byte("l2tp payload"), 17)
	if _, _, err := full.Open(append([]byte(nil), pkt...)); !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPadding) {
		t.Fatalf("an RFC 4868 SA opened a truncbug packet: err %v", err)
	}
	in, err := NewSA(1, Transform{AESCBC, HMACSHA256_96}, km, Transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, nh, err := in.Open(pkt)
	if err != nil || nh != 17 || string(got) != "l2tp payload" {
		t.Fatalf("truncbug round trip: %q %d %v", got, nh, err)
	}
}
