package dhcp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// The encodings in RFC 3442 section 3 ("Subnet number, subnet mask,
// destination descriptor"), each with router 192.0.2.1.
func TestClasslessRoutesRFC3442(t *testing.T) {
	for _, tc := range []struct {
		desc []byte
		dst  string
	}{
		{[]byte{0}, "0.0.0.0/0"},
		{[]byte{8, 10}, "10.0.0.0/8"},
		{[]byte{24, 10, 0, 0}, "10.0.0.0/24"},
		{[]byte{16, 10, 17}, "10.17.0.0/16"},
		{[]byte{24, 10, 27, 129}, "10.27.129.0/24"},
		{[]byte{25, 10, 229, 0, 128}, "10.229.0.128/25"},
		{[]byte{32, 10, 198, 122, 47}, "10.198.122.47/32"},
	} {
		b := append(slices.Clone(tc.desc), 192, 0, 2, 1)
		rs, err := ParseClasslessRoutes(b)
		want := []Route{{netip.MustParsePrefix(tc.dst), netip.MustParseAddr("192.0.2.1")}}
		if err != nil || !slices.Equal(rs, want) {
			t.Errorf("% x: %v %v, want %v", tc.desc, rs, err, want)
		}
		if again := AppendClasslessRoutes(nil, rs); !slices.Equal(again, b) {
			t.Errorf("%s: re-encoded % x, want % x", tc.dst, again, b)
		}
		for n := 1; n < len(b); n++ {
			if _, err := ParseClasslessRoutes(b[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: prefix of %d bytes: %v", tc.dst, n, err)
			}
		}
	}
}

func TestClasslessRoutesList(t *testing.T) {
	// Two routes, host bits beyond the width cleared, an on-link gateway.
	b := []byte{24, 192, 0, 2, 0, 0, 0, 0, 12, 172, 31, 10, 0, 0, 1}
	rs, err := ParseClasslessRoutes(b)
	want := []Route{
		{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParseAddr("0.0.0.0")},
		{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParseAddr("10.0.0.1")},
	}
	if err != nil || !slices.Equal(rs, want) {
		t.Fatalf("%v %v", rs, err)
	}
	if rs, err := ParseClasslessRoutes(nil); rs != nil || err != nil {
		t.Fatalf("empty: %v %v", rs, err)
	}
	if _, err := ParseClasslessRoutes([]byte{33, 1, 2, 3, 4, 5, 6, 7, 8, 9}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("width 33: %v", err)
	}
}

func TestClassfulPrefix(t *testing.T) {
	for _, tc := range []struct{ a, want string }{
		{"10.1.2.3", "10.0.0.0/8"},
		{"127.0.0.1", "127.0.0.0/8"},
		{"172.16.5.4", "172.16.0.0/16"},
		{"191.255.1.1", "191.255.0.0/16"},
		{"198.51.100.10", "198.51.100.0/24"},
		{"223.1.2.3", "223.1.2.0/24"},
		{"224.0.0.1", ""},
		{"250.1.1.1", ""},
		{"2001:db8::1", ""},
	} {
		p, ok := ClassfulPrefix(netip.MustParseAddr(tc.a))
		if (tc.want == "" && ok) || (tc.want != "" && (!ok || p != netip.MustParsePrefix(tc.want))) {
			t.Errorf("%s: %v %v, want %q", tc.a, p, ok, tc.want)
		}
	}
}
