package dhcp

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The example of RFC 3397 section 3: "eng.apple.com." and
// "marketing.apple.com.", the second compressed against the first (the
// data of its two option instances concatenated).
func TestSearchListRFC3397(t *testing.T) {
	b := []byte{3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 0x04}
	names, err := ParseSearchList(b)
	if err != nil || !slices.Equal(names, []string{"eng.apple.com", "marketing.apple.com"}) {
		t.Fatalf("%q %v", names, err)
	}
	for n := 1; n < len(b); n++ {
		if n == 15 { // a whole first name
			continue
		}
		if _, err := ParseSearchList(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prefix of %d bytes: %v", n, err)
		}
	}
	// The same list, uncompressed, round trips.
	plain := AppendSearchList(nil, names)
	if again, err := ParseSearchList(plain); err != nil || !slices.Equal(again, names) {
		t.Fatalf("%q %v", again, err)
	}
}

func TestSearchListPointers(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want []string // nil: malformed
	}{
		{"pointer to itself", []byte{0xc0, 0x00}, nil},
		{"forward pointer", []byte{0xc0, 0x02, 1, 'a', 0}, nil},
		{"two-pointer loop", []byte{1, 'a', 0xc0, 0x04, 0xc0, 0x00}, nil},
		{"loop through labels", []byte{1, 'a', 0, 1, 'b', 0xc0, 0x03}, nil},
		{"chain backwards", []byte{1, 'a', 0, 1, 'b', 0xc0, 0x00, 1, 'c', 0xc0, 0x03}, []string{"a", "b.a", "c.b.a"}},
		{"reserved label type", []byte{0x40, 0}, nil},
		{"pointer truncated", []byte{1, 'a', 0, 0xc0}, nil},
		{"root name", []byte{0}, []string{""}},
	} {
		names, err := ParseSearchList(tc.b)
		if tc.want == nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %q %v", tc.name, names, err)
			}
		} else if err != nil || !slices.Equal(names, tc.want) {
			t.Errorf("%s: %q %v, want %q", tc.name, names, err, tc.want)
		}
	}
	// A name grown past 253 characters through pointers is refused: each
	// name is a 63-character label and a pointer to the name before.
	label := append([]byte{63}, strings.Repeat("x", 63)...)
	b := append(slices.Clone(label), 0)
	prev := 0
	for range 2 {
		start := len(b)
		b = append(append(b, label...), 0xc0, byte(prev))
		prev = start
	}
	if names, err := ParseSearchList(b); err != nil || len(names) != 3 || len(names[2]) != 191 {
		t.Fatalf("three names up to 191 characters: %v", err)
	}
	b = append(append(b, label...), 0xc0, byte(prev)) // 255 characters
	if _, err := ParseSearchList(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("long name: %v", err)
	}
}

func TestValidDomain(t *testing.T) {
	for s, want := range map[string]bool{
		"corp.example": true, "a": true, "x-1.y_2.Z": true, strings.Repeat("a", 63): true,
		"": false, ".": false, "a..b": false, ".a": false, "a.": false, "-a": false,
		"a b": false, "a\nnameserver": false, "a;b": false, strings.Repeat("a", 64): false,
		strings.Repeat("a.", 126) + "ab": false,
	} {
		if ValidDomain(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}
