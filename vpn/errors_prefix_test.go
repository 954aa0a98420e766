package vpn

import (
	"errors"
	"strings"
	"testing"
)

// Issue 17 point 15: each layer's prefix once ("link: ppp: ...", not
// "link: ppp: ppp: ...").
func TestLinkLostPrefixOnce(t *testing.T) {
	for _, tc := range []struct {
		layer string
		err   error
		want  string
	}{
		{"ppp", errors.New("ppp: lcp: no echo reply"), "link: ppp: lcp: no echo reply"},
		{"ppp", errors.New("lcp: no echo reply"), "link: ppp: lcp: no echo reply"},
		{"l2tp session", errors.New("l2tp: server disconnected the session (CDN)"), "link: l2tp session: l2tp: server disconnected the session (CDN)"},
		{"ppp", nil, "link: ppp: closed by the peer"},
	} {
		got := linkLost(tc.layer, tc.err).Error()
		if got != tc.want || strings.Contains(got, "ppp: ppp:") {
			t.Errorf("linkLost(%q, %v) = %q, want %q", tc.layer, tc.err, got, tc.want)
		}
	}
}
