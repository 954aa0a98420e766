package vpn

// Finding the server's address for each attempt. A profile usually names
// the server (vpn.example.com). The first attempt asks the host's resolver.
// A reconnect in full-tunnel mode cannot: the host's DNS and routes still
// point into the dead tunnel. It asks the resolvers the host had before we
// changed anything, through the underlay interface (SO_BINDTODEVICE keeps
// the query off the tunnel's routes), and falls back on the last address
// that worked. A lookup that fails for want of an answer is never a
// configuration error: only "no such host" is.

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
	addrs, err := res.LookupNetIP(ctx, "ip4", r.host)
	if err == nil && len(addrs) > 0 {
		a := netip.AddrPortFrom(addrs[0].Unmap(), r.port)
		if r.lastGood.IsValid() && slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap() == r.lastGood.Addr() }) {
			a = r.lastGood // a round-robin name: stay with the server we know
		}
		return a, nil
	}
	if err == nil {
		err = errors.New("no IPv4 address")
	}
	if r.lastGood.IsValid() {
		return r.lastGood, &resolveError{host: r.host, err: err, fallback: true}
	}
	return netip.AddrPort{}, &resolveError{host: r.host, err: err}
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
	if dev != nil && cl.res.lastGood.IsValid() {
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
