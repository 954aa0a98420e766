package l2tp

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzParseResult checks the Result Code AVP value decoder (RFC 2661
// 4.4.2), which reads what a server says in StopCCN and CDN: it fails only
// on fewer than 2 octets, reads the fields where the RFC puts them, and
// what it decodes encodes back (Result.AVP) to a value that decodes the
// same.
func FuzzParseResult(f *testing.F) {
	for _, r := range []Result{{Code: 1}, {Code: 2, ErrorCode: 6}, {Code: 4, ErrorCode: 0, Message: "no tunnel secret configured"}} {
		f.Add(r.AVP().Value)
	}
	f.Add([]byte{0, 3, 0, 0, 'b', 'y', 'e', 0, 0, 0}) // SoftEther pads the message with NULs
	f.Add([]byte{0, 2, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := ParseResult(v)
		if len(v) < 2 {
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("%d octets: err = %v", len(v), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused % x: %v", v, err)
		}
		if r.Code != binary.BigEndian.Uint16(v) || (len(v) >= 4 && r.ErrorCode != binary.BigEndian.Uint16(v[2:])) ||
			(len(v) < 4 && r.ErrorCode != 0) || (len(v) <= 4 && r.Message != "") || len(r.Message) > max(len(v)-4, 0) {
			t.Fatalf("% x decoded as %+v", v, r)
		}
		if n := len(r.Message); n > 0 && r.Message[n-1] == 0 {
			t.Fatalf("trailing NUL kept: %q", r.Message)
		}
		a := r.AVP()
		if !a.Mandatory || a.Type != AVPResultCode {
			t.Fatalf("AVP %+v", a)
		}
		if r2, err := ParseResult(a.Value); err != nil || r2 != r {
			t.Fatalf("round trip %+v -> % x -> %+v, %v", r, a.Value, r2, err)
		}
	})
}
