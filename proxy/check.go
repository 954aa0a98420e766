package proxy

// Ready checks: "tcp://HOST:PORT", "icmp://HOST", "dns://NAME", run
// through the tunnel before a connection is declared up.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Check is one ready check. Kind is "tcp", "icmp" or "dns"; Target is
// HOST:PORT, HOST or NAME. A HOST may be a name, resolved through the
// tunnel.
type Check struct{ Kind, Target string }

// ParseCheck parses "tcp://HOST:PORT", "icmp://HOST" or "dns://NAME".
func ParseCheck(s string) (Check, error) {
	kind, target, ok := strings.Cut(s, "://")
	if !ok || target == "" {
		return Check{}, fmt.Errorf("proxy: ready-check %q: want tcp://HOST:PORT, icmp://HOST or dns://NAME", s)
	}
	c := Check{Kind: kind, Target: target}
	switch kind {
	case "tcp":
		if _, _, err := splitHostPort(target); err != nil {
			return Check{}, fmt.Errorf("proxy: ready-check %q: want tcp://HOST:PORT: %w", s, err)
		}
	case "icmp", "dns":
		// A name or an address; an IPv6 address may come in one pair of
		// brackets, which are dropped (String leaves them out).
		host := target
		if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		if host == "" || strings.ContainsAny(host, "/ []") {
			return Check{}, fmt.Errorf("proxy: ready-check %q: bad host", s)
		}
		c.Target = host
	default:
		return Check{}, fmt.Errorf("proxy: ready-check %q: kind must be tcp, icmp or dns", s)
	}
	return c, nil
}

func (c Check) String() string { return c.Kind + "://" + c.Target }

// Run runs the check once through n; ctx bounds it (DefaultDialTimeout
// when ctx has no deadline). The error is a *CheckError naming the check.
// CheckNet is what a check needs of the tunnel: a Net, or in TUN mode
// sockets bound to the TUN device.
type CheckNet interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
	Ping(ctx context.Context, addr netip.Addr) error
}

func (c Check) Run(ctx context.Context, n CheckNet) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	if err := c.run(ctx, n); err != nil {
		return &CheckError{Check: c, Err: err}
	}
	return nil
}

func (c Check) run(ctx context.Context, n CheckNet) error {
	if n == nil {
		return errNotConnected
	}
	switch c.Kind {
	case "tcp":
		host, port, err := splitHostPort(c.Target)
		if err != nil {
			return err
		}
		conn, err := dialHostPort(ctx, n, "tcp", host, port)
		if err != nil {
			return err
		}
		return conn.Close()
	case "icmp":
		addrs, err := resolve(ctx, n, c.Target)
		if err != nil {
			return err
		}
		return n.Ping(ctx, addrs[0])
	case "dns":
		addrs, err := n.LookupHost(ctx, c.Target) // always a query, even for a literal
		if err == nil && len(addrs) == 0 {
			err = errors.New("no addresses")
		}
		if err != nil {
			return &resolveError{host: c.Target, err: err}
		}
		return nil
	}
	return errors.New("unknown check kind " + c.Kind)
}
