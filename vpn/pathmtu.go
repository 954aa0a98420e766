package vpn

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// defaultPathMTU is assumed when the path cannot be looked up.
const defaultPathMTU = 1500

// pathMTU is the MTU of the path to dst as the kernel sees it: the route's
// MTU if it has one (a configured "mtu" or a learnt path MTU), else the
// outgoing interface's.
func pathMTU(dst netip.Addr) int {
	if !dst.IsValid() {
		return defaultPathMTU
	}
	rs, err := netlink.RouteGet(dst.AsSlice())
	if err != nil || len(rs) == 0 {
		return defaultPathMTU
	}
	if m := rs[0].MTU; m > 0 {
		return m
	}
	l, err := netlink.LinkByIndex(rs[0].LinkIndex)
	if err != nil || l.Attrs().MTU <= 0 {
		return defaultPathMTU
	}
	return min(l.Attrs().MTU, 65535)
}
