package vpn

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// watchNetwork ends the current connection when the network changes under
// it: the local address it uses towards the server is removed (a new
// Wi-Fi, a DHCP change, a cable unplugged). The client then reconnects
// from a fresh socket over whatever path exists now. Link losses the
// kernel does not announce are caught by DPD, L2TP HELLO and LCP echo.
func (cl *Client) watchNetwork() {
	updates := make(chan netlink.AddrUpdate, 16)
	stop := make(chan struct{})
	defer close(stop)
	if err := netlink.AddrSubscribe(updates, stop); err != nil {
		cl.log.Debug("cannot watch address changes", "err", err)
		return
	}
	for {
		select {
		case <-cl.closeReq:
			return
		case <-cl.done:
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			if u.NewAddr {
				continue
			}
			c := cl.cur.Load()
			if c == nil {
				continue
			}
			src := c.Info().Source
			if src.IsValid() && u.LinkAddress.IP.Equal(src.AsSlice()) {
				cl.log.Info("the local address towards the server was removed", "addr", src)
				c.fail(fmt.Errorf("network changed: local address %s was removed", src))
			}
		}
	}
}
