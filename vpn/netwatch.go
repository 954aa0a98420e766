package vpn

import (
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
)

// netSettle is how long the watcher lets a burst of address and route
// changes (a roam is several) settle before it looks at the result.
const netSettle = 300 * time.Millisecond

// watchNetwork follows the host's addresses and routes while the client
// runs. After a change it re-pins the route to the server onto the current
// underlay path and ends the current connection when the path it uses is
// gone: its local address was removed, or the source address towards the
// server is now another one (a laptop moving from Wi-Fi to Ethernet, a new
// DHCP lease). The client then reconnects from a fresh socket over the path
// that exists now. Link losses the kernel does not announce are caught by
// DPD, L2TP HELLO and LCP echo.
func (cl *Client) watchNetwork() {
	addrs := make(chan netlink.AddrUpdate, 16)
	routes := make(chan netlink.RouteUpdate, 16)
	stop := make(chan struct{})
	defer func() {
		close(stop)
		// The subscriptions' goroutines may be blocked handing us an
		// update: drain until they have closed their channels.
		for range addrs {
		}
		for range routes {
		}
	}()
	opts := func(err error) { cl.log.Debug("network watch", "err", err) }
	if err := netlink.AddrSubscribeWithOptions(addrs, stop, netlink.AddrSubscribeOptions{ErrorCallback: opts}); err != nil {
		cl.log.Debug("cannot watch address changes", "err", err)
		close(routes)
		return
	}
	if err := netlink.RouteSubscribeWithOptions(routes, stop, netlink.RouteSubscribeOptions{ErrorCallback: opts}); err != nil {
		cl.log.Debug("cannot watch route changes", "err", err)
		close(routes)
	}
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case <-cl.closeReq:
			return
		case <-cl.done:
			return
		case u, ok := <-addrs:
			if !ok {
				return
			}
			if !u.NewAddr {
				cl.addrRemoved(u)
			}
			settle.Reset(netSettle)
		case u, ok := <-routes:
			if !ok {
				routes = nil
				continue
			}
			if u.Table == 0 || u.Table == 254 { // the main table
				settle.Reset(netSettle)
			}
		case <-settle.C:
			cl.checkPath()
		}
	}
}

// addrRemoved ends the current connection at once if the address it sends
// from was removed.
func (cl *Client) addrRemoved(u netlink.AddrUpdate) {
	c := cl.cur.Load()
	if c == nil {
		return
	}
	src := c.Info().Source
	if src.IsValid() && u.LinkAddress.IP.Equal(src.AsSlice()) {
		cl.log.Info("the local address towards the server was removed", "addr", src)
		c.fail(fmt.Errorf("network changed: local address %s was removed", src))
	}
}

// checkPath re-pins the server route and ends the current connection if it
// now would leave from another source address.
func (cl *Client) checkPath() {
	c := cl.cur.Load()
	if c == nil {
		return
	}
	info := c.Info()
	cl.mu.Lock()
	host := cl.host
	cl.mu.Unlock()
	if host != nil {
		if changed, err := host.Repin(info.Server.Addr()); err != nil {
			cl.log.Warn("cannot pin the route to the server", "err", err)
		} else if changed {
			cl.log.Info("moved the route to the server onto the new underlay path", "server", info.Server.Addr())
		}
	}
	if !info.Source.IsValid() {
		return
	}
	src, err := sourceAddr(info.Server.Addr())
	if err != nil {
		cl.log.Info("no path to the server for now", "err", err)
		return
	}
	if src != info.Source && src != info.IP {
		cl.log.Info("the source address towards the server changed", "old", info.Source, "new", src)
		c.fail(fmt.Errorf("network changed: the path to the server now leaves from %s, not %s", src, info.Source))
	}
}
