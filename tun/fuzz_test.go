package tun

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseModes checks the parsers of the routing and DNS modes (text from
// the command line or a profile): an accepted word is the mode's own name,
// and a refusal quotes the word so the user sees what was not understood.
func FuzzParseModes(f *testing.F) {
	for _, s := range append(routeModeNames[:], dnsModeNames[:]...) {
		f.Add(s)
	}
	f.Add("Full")
	f.Add("resolv.conf ")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseRouteMode(s); err == nil {
			if m.String() != s {
				t.Fatalf("route mode %q parsed as %v", s, m)
			}
		} else if !strings.Contains(err.Error(), strconv.Quote(s)) || !strings.HasPrefix(err.Error(), "tun: ") {
			t.Fatalf("route mode error %q", err)
		}
		if m, err := ParseDNSMode(s); err == nil {
			if m.String() != s {
				t.Fatalf("DNS mode %q parsed as %v", s, m)
			}
		} else if !strings.Contains(err.Error(), strconv.Quote(s)) || !strings.HasPrefix(err.Error(), "tun: ") {
			t.Fatalf("DNS mode error %q", err)
		}
	})
}
