package tun

import (
	"fmt"
	"net/netip"
	"slices"
)

// Repin keeps the pinned route to the VPN server on the underlay path the
// host has now: after a roam (another interface, gateway or source
// address) or when the server's address changed (a host name that
// resolves anew). It looks the path up in the main table, leaving out our
// own routes and the tunnel, and moves the pin there if it differs. It
// reports whether anything changed. Only full routing pins the server.
func (h *Host) Repin(server netip.Addr) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.cfg.Mode != RouteFull {
		return false, nil
	}
	server = server.Unmap()
	pi, err := h.sys.routes.mainRoute(server, h.ifIndex)
	if err != nil {
		return false, fmt.Errorf("tun: no underlay route to the VPN server %s: %w", server, err)
	}
	want := h.serverRoute(server, pi)
	old := -1
	for i, a := range h.j.Actions {
		if a.Kind == "route" && a.Route != nil && a.Route.Note == "server" {
			old = i
		}
	}
	if old >= 0 {
		cur := *h.j.Actions[old].Route
		if cur.Dst == want.Dst && cur.Gw == want.Gw && cur.OifIndex == want.OifIndex && cur.Oif == want.Oif {
			return false, nil
		}
		if err := h.sys.routes.routeDel(cur); err != nil && !isGone(err) {
			return false, fmt.Errorf("tun: remove the old server route %s: %w", cur, err)
		}
		h.j.Actions = slices.Delete(h.j.Actions, old, old+1)
		h.routes = slices.DeleteFunc(h.routes, func(s string) bool { return s == cur.String() })
		if err := h.j.save(h.path); err != nil {
			return true, err
		}
		h.log.Info("the path to the VPN server changed", "old", cur.String(), "new", want.String())
	}
	h.cfg.Server = server
	return true, h.addServerRoute(want)
}

// serverRoute is the host route to server along pi.
func (h *Host) serverRoute(srv netip.Addr, pi pathInfo) routeSpec {
	r := routeSpec{Family: 4, Dst: netip.PrefixFrom(srv, srv.BitLen()).String(), Oif: pi.Oif, OifIndex: pi.OifIndex,
		Type: "unicast", Protocol: RouteProtocol, Table: mainTable, Scope: "link", Note: "server"}
	if srv.Is6() {
		r.Family, r.Scope = 6, "universe"
	}
	if pi.Gw.IsValid() {
		r.Gw, r.Scope = pi.Gw.String(), "universe"
	}
	return r
}

// UnderlayInterface names the interface of the main table's route to dst,
// leaving out our own routes and those through the interface avoid (the
// tunnel): the way out that a query must take while the tunnel is down
// and its routes are still in place.
func UnderlayInterface(dst netip.Addr, avoid string) (string, error) {
	var b netlinkRoutes
	idx := 0
	if avoid != "" {
		if i, err := b.linkIndex(avoid); err == nil {
			idx = i
		}
	}
	pi, err := b.mainRoute(dst.Unmap(), idx)
	if err != nil {
		return "", err
	}
	return pi.Oif, nil
}
