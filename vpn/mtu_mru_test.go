package vpn

import (
	"net/netip"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// The TUN MTU (and so the MSS clamp, which bounds what the server sends)
// never exceeds the MRU the server acked for us: a 1362 MTU over a 1361
// MRU made l2tpns drop every full-size packet it had for us.
func TestMTUBoundedByOurMRU(t *testing.T) {
	c := &Conn{}
	c.info.Server = netip.MustParseAddrPort("127.0.0.1:1701")
	free := c.mtu(ppp.IPInfo{PeerMRU: 1500})
	if got := c.mtu(ppp.IPInfo{PeerMRU: 1500, LocalMRU: uint16(free - 1)}); got != free-1 {
		t.Fatalf("mtu %d with our MRU %d, want %d", got, free-1, free-1)
	}
	if got := c.mtu(ppp.IPInfo{PeerMRU: uint16(free - 5), LocalMRU: uint16(free - 1)}); got != free-5 {
		t.Fatalf("mtu %d, want the peer's MRU %d", got, free-5)
	}
}
