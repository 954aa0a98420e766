package tun

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol is the rtm_protocol value on every route ApplyHost adds
// (0x4c, "L"), so they are recognisable in `ip route` ("proto 76") and so
// deleting one of ours can never remove an equal route somebody else made:
// the kernel matches the protocol on delete.
const RouteProtocol = 0x4c

const mainTable = unix.RT_TABLE_MAIN

// routeSpec is one route as ApplyHost adds it and as the journal records it,
// with everything needed to delete exactly that route again.
type routeSpec struct {
	Family   int    `json:"family"` // 4 or 6
	Dst      string `json:"dst"`    // prefix, e.g. "0.0.0.0/1"
	Gw       string `json:"gw,omitempty"`
	Oif      string `json:"oif,omitempty"` // output interface name
	OifIndex int    `json:"oif_index,omitempty"`
	Type     string `json:"type"` // "unicast" or "unreachable"
	Protocol int    `json:"protocol"`
	Table    int    `json:"table"`
	Scope    string `json:"scope"` // "universe" or "link"
	Note     string `json:"note,omitempty"`
}

// String renders the route the way `ip route` would, e.g.
// "192.0.2.1/32 via 203.0.113.65 dev eth0 (server)".
func (r routeSpec) String() string {
	var b strings.Builder
	if r.Type == "unreachable" {
		b.WriteString("unreachable ")
	}
	b.WriteString(r.Dst)
	if r.Gw != "" {
		b.WriteString(" via " + r.Gw)
	}
	if r.Oif != "" {
		b.WriteString(" dev " + r.Oif)
	}
	if r.Note != "" {
		b.WriteString(" (" + r.Note + ")")
	}
	return b.String()
}

// check validates a route read back from a journal.
func (r routeSpec) check() error {
	p, err := netip.ParsePrefix(r.Dst)
	if err != nil {
		return fmt.Errorf("route destination %q: %w", r.Dst, err)
	}
	if (r.Family == 4) != p.Addr().Is4() || (r.Family != 4 && r.Family != 6) {
		return fmt.Errorf("route %s: family %d does not match", r.Dst, r.Family)
	}
	if r.Gw != "" {
		if _, err := netip.ParseAddr(r.Gw); err != nil {
			return fmt.Errorf("route %s: gateway %q: %w", r.Dst, r.Gw, err)
		}
	}
	switch r.Type {
	case "unicast":
		if r.Oif == "" || r.OifIndex <= 0 {
			return fmt.Errorf("route %s: no output interface", r.Dst)
		}
	case "unreachable":
	default:
		return fmt.Errorf("route %s: unknown type %q", r.Dst, r.Type)
	}
	if r.Scope != "universe" && r.Scope != "link" {
		return fmt.Errorf("route %s: unknown scope %q", r.Dst, r.Scope)
	}
	if r.Protocol != RouteProtocol || r.Table <= 0 {
		return fmt.Errorf("route %s: not a route of ours (protocol %d, table %d)", r.Dst, r.Protocol, r.Table)
	}
	return nil
}

// pathInfo is what a route lookup (`ip route get`) says about a destination.
type pathInfo struct {
	Gw       netip.Addr // invalid when the destination is on-link
	Oif      string
	OifIndex int
	Local    bool // the destination is one of this host's addresses
}

// routeBackend is the part of netlink that ApplyHost and Cleanup use, behind
// an interface so unit tests run against an in-memory table.
type routeBackend interface {
	linkIndex(name string) (int, error)
	// routeGet is the underlay path to dst, never through avoid.
	routeGet(dst netip.Addr, avoid int) (pathInfo, error)
	// mainRoute is the main table's route to dst, leaving out our own
	// routes and those through avoid.
	mainRoute(dst netip.Addr, avoid int) (pathInfo, error)
	routeAdd(r routeSpec) error
	// routeDel deletes r; when r's interface is gone or is another
	// interface by now it returns an error isGone accepts.
	routeDel(r routeSpec) error
}

// netlinkRoutes is the real routeBackend.
type netlinkRoutes struct{}

func (netlinkRoutes) linkIndex(name string) (int, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return 0, fmt.Errorf("%s: %w", name, syscall.ENODEV)
		}
		return 0, err
	}
	return l.Attrs().Index, nil
}

// routeGet looks up the underlay path to dst: the kernel's answer, unless
// that goes through the interface avoid (our own tunnel, whose full-tunnel
// routes cover everything) or comes from a table other than main (policy
// routing of another IPsec stack: charon's table 220 routes the server into
// ipsec0). Then the main table's longest match that is not one of our routes
// and not through avoid is the underlay path.
func (netlinkRoutes) routeGet(dst netip.Addr, avoid int) (pathInfo, error) {
	rs, err := netlink.RouteGet(dst.AsSlice())
	if err != nil {
		return pathInfo{}, err
	}
	if len(rs) == 0 {
		return pathInfo{}, syscall.ENETUNREACH
	}
	r := rs[0]
	if r.Type != unix.RTN_LOCAL && ((avoid > 0 && r.LinkIndex == avoid) || (r.Table != 0 && r.Table != unix.RT_TABLE_MAIN)) {
		m, err := mainTableMatch(dst, avoid)
		if err != nil {
			return pathInfo{}, err
		}
		r = m
	}
	return toPathInfo(r)
}

func toPathInfo(r netlink.Route) (pathInfo, error) {
	var pi pathInfo
	if r.Type == unix.RTN_LOCAL {
		pi.Local = true
	}
	if a, ok := netip.AddrFromSlice(r.Gw); ok && r.Gw != nil {
		pi.Gw = a.Unmap()
	}
	pi.OifIndex = r.LinkIndex
	if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
		pi.Oif = l.Attrs().Name
	} else {
		return pathInfo{}, fmt.Errorf("interface index %d: %w", r.LinkIndex, err)
	}
	return pi, nil
}

func (netlinkRoutes) mainRoute(dst netip.Addr, avoid int) (pathInfo, error) {
	r, err := mainTableMatch(dst, avoid)
	if err != nil {
		return pathInfo{}, err
	}
	return toPathInfo(r)
}

// mainTableMatch is the main table's longest-prefix unicast route to dst
// (lowest metric among equals), leaving out our own routes and those
// through avoid.
func mainTableMatch(dst netip.Addr, avoid int) (netlink.Route, error) {
	family := netlink.FAMILY_V4
	if dst.Is6() {
		family = netlink.FAMILY_V6
	}
	rs, err := netlink.RouteListFiltered(family, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return netlink.Route{}, err
	}
	best, bestBits := -1, -1
	for i, r := range rs {
		if r.Type != unix.RTN_UNICAST || r.Protocol == RouteProtocol || r.LinkIndex <= 0 || r.LinkIndex == avoid {
			continue
		}
		bits := 0
		if r.Dst != nil {
			p, ok := netipPrefix(r.Dst)
			if !ok || !p.Contains(dst) {
				continue
			}
			bits = p.Bits()
		}
		if bits > bestBits || bits == bestBits && r.Priority < rs[best].Priority {
			best, bestBits = i, bits
		}
	}
	if best < 0 {
		return netlink.Route{}, syscall.ENETUNREACH
	}
	return rs[best], nil
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

func (netlinkRoutes) routeAdd(r routeSpec) error {
	nr, err := r.netlink()
	if err != nil {
		return err
	}
	return netlink.RouteAdd(nr)
}

func (netlinkRoutes) routeDel(r routeSpec) error {
	nr, err := r.netlink()
	if err != nil {
		return err
	}
	if r.OifIndex > 0 {
		// The interface may have vanished (and its routes with it), or its
		// index may now belong to another interface whose routes are not ours.
		l, err := netlink.LinkByIndex(r.OifIndex)
		if err != nil || l.Attrs().Name != r.Oif {
			return syscall.ENODEV
		}
	}
	return netlink.RouteDel(nr)
}

// netlink converts the spec into the netlink request.
func (r routeSpec) netlink() (*netlink.Route, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	p := netip.MustParsePrefix(r.Dst)
	nr := &netlink.Route{
		Dst:       prefixNet(p.Masked()),
		LinkIndex: r.OifIndex,
		Protocol:  netlink.RouteProtocol(r.Protocol),
		Table:     r.Table,
		Type:      unix.RTN_UNICAST,
		Family:    netlink.FAMILY_V4,
		Scope:     netlink.SCOPE_UNIVERSE,
	}
	if r.Family == 6 {
		nr.Family = netlink.FAMILY_V6
	}
	if r.Type == "unreachable" {
		nr.Type = unix.RTN_UNREACHABLE
	}
	if r.Scope == "link" {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.Gw != "" {
		nr.Gw = net.IP(netip.MustParseAddr(r.Gw).AsSlice())
	}
	return nr, nil
}

// ipv6Unavailable reports whether an IPv6 route could not be added only
// because IPv6 is disabled on this host.
func ipv6Unavailable(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EAFNOSUPPORT) ||
		errors.Is(err, syscall.EPROTONOSUPPORT)
}
