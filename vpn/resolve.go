package vpn

// Finding the server's address for each attempt. A profile usually names
// the server (vpn.example.com). The first attempt asks the host's resolver.
// A reconnect in full-tunnel mode cannot: the host's DNS and routes still
// point into the dead tunnel. It asks the resolvers the host had before we
// changed anything, through the underlay interface (SO_BINDTODEVICE keeps
// the query off the tunnel's routes), and falls back on the last address
// that worked. A lookup that fails for want of an answer is never a
// configuration error: only "no such host" is.
//
// A name may have IPv4 (A) and IPv6 (AAAA) addresses. We take them in the
// order the resolver gives, which is the system's getaddrinfo order (RFC
// 6724 with /etc/gai.conf) or Go's own RFC 6724 sort, and skip an address
// of a family this host has no route for (an IPv6 address on an IPv4-only
// network): the first routable one is used, or the first of all if none
// is. A reconnect stays with the last address that worked while the name
// still resolves to it.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/l2tpvpn/l2tpvpn/tun"
)

// resolveTimeout bounds one lookup of the server's name.
const resolveTimeout = 5 * time.Second

// resolver finds the server's address for an attempt.
type resolver struct {
	host string
	port uint16
	// addr is set when the server is given as an address.
	addr netip.Addr
	// nameservers the host used before the tunnel changed its DNS.
	nameservers []netip.Addr
	// lastGood is the address of the last attempt that reached the server.
	lastGood netip.AddrPort
	// res, if set, replaces the host's resolver (tests).
	res *net.Resolver
	// routable says whether the host has a route to a; nil: hasRoute.
	routable func(a netip.Addr) bool
}

func newResolver(server, resolvConf string) (*resolver, error) {
	hp, err := splitServer(server)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(hp[1])
	r := &resolver{host: hp[0], port: uint16(port)}
	if a, err := netip.ParseAddr(hp[0]); err == nil {
		r.addr = a.Unmap()
		return r, nil
	}
	if resolvConf == "" {
		resolvConf = "/etc/resolv.conf"
	}
	if b, err := os.ReadFile(resolvConf); err == nil {
		r.nameservers = parseNameservers(b)
	}
	return r, nil
}

// parseNameservers returns the nameserver addresses of a resolv.conf.
func parseNameservers(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out
}

// resolve returns the address for the next attempt. underlay, if set, is
// the interface a query must leave by (the tunnel's routes are in place).
func (r *resolver) resolve(ctx context.Context, underlay string) (netip.AddrPort, error) {
	if r.addr.IsValid() {
		return netip.AddrPortFrom(r.addr, r.port), nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	res := net.DefaultResolver
	if underlay != "" && len(r.nameservers) > 0 {
		res = r.underlayResolver(underlay)
	}
	if r.res != nil {
		res = r.res
	}
	addrs, err := res.LookupNetIP(ctx, "ip", r.host) // A and AAAA
	if err == nil && len(addrs) > 0 {
		return netip.AddrPortFrom(r.pick(addrs), r.port), nil
	}
	if err == nil {
		err = errors.New("no address")
	}
	if r.lastGood.IsValid() {
		return r.lastGood, &resolveError{host: r.host, err: err, fallback: true}
	}
	return netip.AddrPort{}, &resolveError{host: r.host, err: err}
}

// pick chooses among the addresses of the server's name, in the
// resolver's order: the last address that worked if it is among them (a
// round-robin name: stay with the server we know), else the first one this
// host has a route to, else the first.
func (r *resolver) pick(addrs []netip.Addr) netip.Addr {
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	if r.lastGood.IsValid() && slices.Contains(addrs, r.lastGood.Addr()) {
		return r.lastGood.Addr()
	}
	routable := r.routable
	if routable == nil {
		routable = hasRoute
	}
	for _, a := range addrs {
		if routable(a) {
			return a
		}
	}
	return addrs[0]
}

// hasRoute says whether the host has a route to a (a UDP "connect" finds
// one or fails with ENETUNREACH; it sends nothing).
func hasRoute(a netip.Addr) bool {
	_, err := sourceAddr(a)
	return err == nil
}

// underlayResolver asks the host's original nameservers, leaving by
// interface dev.
func (r *resolver) underlayResolver(dev string) *net.Resolver {
	servers := r.nameservers
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var errs []error
			for _, ns := range servers {
				d := net.Dialer{}
				if !ns.IsLoopback() {
					d.Control = func(_, _ string, c syscall.RawConn) error {
						var serr error
						if err := c.Control(func(fd uintptr) { serr = bindToDevice(int(fd), dev) }); err != nil {
							return err
						}
						return serr
					}
				}
				c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ns, 53).String())
				if err == nil {
					return c, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		},
	}
}

// resolveError is a failed lookup of the server's name. With fallback, the
// last address that worked is used instead.
type resolveError struct {
	host     string
	err      error
	fallback bool
}

func (e *resolveError) Error() string {
	return fmt.Sprintf("cannot resolve %s: %v", e.host, e.err)
}

func (e *resolveError) Unwrap() error { return e.err }

// notFound says whether the resolver answered that the name does not exist
// (as opposed to not answering at all).
func (e *resolveError) notFound() bool {
	var de *net.DNSError
	return errors.As(e.err, &de) && de.IsNotFound
}

// asError classifies a lookup failure for the user: a name that does not
// exist is a configuration error; a resolver that does not answer is an
// unreachable network, which a reconnect retries.
func (e *resolveError) asError() error {
	if e.notFound() {
		return &Error{Phase: "resolve", Reason: ReasonConfig, Err: e, Hint: "check the server name"}
	}
	return &Error{Phase: "resolve", Reason: ReasonUnreachable, Err: e,
		Hint: "the resolver did not answer: check the network and DNS"}
}

// serverFor resolves the server for an attempt and, in full-tunnel mode
// with the host already configured, moves the server's pinned route to the
// current underlay path.
func (cl *Client) serverFor(ctx context.Context) (netip.AddrPort, error) {
	cl.mu.Lock()
	host, dev := cl.host, cl.dev
	cl.mu.Unlock()
	underlay := ""
	if dev != nil && cl.cfg.Mode == ModeTUN && cl.res.lastGood.IsValid() { // proxy mode leaves the host's DNS alone
		if ifc, err := tun.UnderlayInterface(cl.res.lastGood.Addr(), dev.Name()); err == nil {
			underlay = ifc
		}
	}
	server, err := cl.res.resolve(ctx, underlay)
	var re *resolveError
	if errors.As(err, &re) {
		if !re.fallback {
			return netip.AddrPort{}, re.asError()
		}
		cl.log.Warn("cannot resolve the server's name; using the last address that worked", "server", cl.res.host,
			"addr", server.Addr(), "err", re.err)
	}
	if host != nil {
		if _, err := host.Repin(server.Addr()); err != nil {
			cl.log.Warn("cannot pin the route to the server", "err", err)
		}
	}
	return server, nil
}
