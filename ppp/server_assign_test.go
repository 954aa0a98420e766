package ppp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
)

// AssignIP chooses the address after authentication, for the name the
// client authenticated with; an error ends the link before IPCP.
func TestServerAssignIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		scfg := testServerConfig()
		var asked string
		scfg.PeerIP = netip.Addr{}
		scfg.AssignIP = func(user string) (netip.Addr, error) { asked = user; return testPeerIP, nil }
		p := startPair(t, scfg, testClientConfig(), nil)
		ci, si := p.up()
		checkUp(t, ci, si, AuthMSCHAPv2, "alice")
		if asked != "alice" {
			t.Errorf("AssignIP asked for %q", asked)
		}
		p.clientClose()
	})
	synctest.Test(t, func(t *testing.T) {
		scfg := testServerConfig()
		scfg.AssignIP = func(string) (netip.Addr, error) { return netip.Addr{}, errors.New("pool 192.0.2.0/29 exhausted") }
		p := startPair(t, scfg, testClientConfig(), nil)
		_, serr := p.waitBoth()
		var ne *NegotiationError
		if !errors.As(serr, &ne) || !strings.Contains(serr.Error(), "pool 192.0.2.0/29 exhausted") {
			t.Errorf("server error %v, want a negotiation error naming the pool", serr)
		}
	})
}
