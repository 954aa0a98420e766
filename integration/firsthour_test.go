//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// A --route that names the tunnel's own peer (SoftEther's 198.51.100.1):
// the kernel's point-to-point route to it is ours, not another VPN's.
func TestRouteContainsTunnelPeer(t *testing.T) {
	labSE.up(t)
	c := startClient(t, labSE, pskEnv, ipsecArgs("--auth", "mschapv2", "--route", "198.51.100.1/32")...)
	up := c.waitEvent("up", 30*time.Second)
	if up.Peer != "198.51.100.1" {
		t.Fatalf("SoftEther's PPP peer is %q, the test expects 198.51.100.1", up.Peer)
	}
	if r := routeGet(t, labSE.clientNS, "198.51.100.1"); !strings.Contains(r, "dev l2v-tun0") {
		t.Errorf("the peer is not routed through the tunnel: %s", r)
	}
	if out, err := inNS(labSE.clientNS, "ping", "-c", "2", "-W", "2", "198.51.100.1"); err != nil {
		t.Fatalf("ping the tunnel peer: %v\n%s", err, out)
	}
	c.disconnect()
}
