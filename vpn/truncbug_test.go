package vpn

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
)

// A set-up that stalls after Quick Mode while the server's ESP fails its
// integrity check says why: with HMAC-SHA2-256 it suggests sha2-truncbug.
func TestIntegrityHint(t *testing.T) {
	sha256 := &ike.ChildSA{Proposal: ike.ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA256_128}}
	sha1 := &ike.ChildSA{Proposal: ike.ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96}}
	for _, tc := range []struct {
		name     string
		child    *ike.ChildSA
		failures uint64
		truncbug bool
		want     string
	}{
		{"sha256 failing", sha256, 3, false, "try sha2-truncbug = true"},
		{"sha256 truncbug failing", sha256, 3, true, "try sha2-truncbug = false"},
		{"sha1 failing", sha1, 3, false, "keys differ"},
		{"sha256 silent", sha256, 0, false, "no ESP packet came back"},
		{"sha1 silent", sha1, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{cfg: Config{SHA2Truncbug: tc.truncbug}, ipsec: &ipsecPath{children: []*ike.ChildSA{tc.child}}}
			c.ipsec.espAuth.Store(tc.failures)
			err := c.integrityError(tunnelError(l2tp.ErrTimeout, netip.MustParseAddrPort("192.0.2.1:1701")))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			if tc.want == "" {
				if strings.Contains(e.Hint, "integrity") {
					t.Fatalf("hint %q without integrity failures", e.Hint)
				}
				return
			}
			if !strings.Contains(e.Hint, tc.want) {
				t.Fatalf("hint %q, want it to contain %q", e.Hint, tc.want)
			}
		})
	}
}
