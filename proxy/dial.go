package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// resolve turns host (an IP literal or a name) into addresses. Names go
// through n.LookupHost only, never through the host's resolver.
func resolve(ctx context.Context, n CheckNet, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	if host == "" {
		return nil, &resolveError{host: host, err: errors.New("empty host name")}
	}
	addrs, err := n.LookupHost(ctx, host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return nil, &resolveError{host: host, err: err}
	}
	return addrs, nil
}

// dialHostPort dials network ("tcp" or "udp") to host:port through n,
// trying each address of host in turn.
func dialHostPort(ctx context.Context, n CheckNet, network, host string, port uint16) (net.Conn, error) {
	addrs, err := resolve(ctx, n, host)
	if err != nil {
		return nil, err
	}
	var first error
	for _, a := range addrs {
		c, err := n.DialContext(ctx, network, netip.AddrPortFrom(a, port).String())
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// splitHostPort splits "host:port" with a numeric port in 1..65535.
func splitHostPort(s string) (string, uint16, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	if host == "" {
		return "", 0, errors.New("missing host")
	}
	return host, uint16(port), nil
}

// SOCKS5 reply codes (RFC 1928 section 6).
const (
	repSucceeded          = 0x00
	repGeneralFailure     = 0x01
	repNetworkUnreachable = 0x03
	repHostUnreachable    = 0x04
	repConnectionRefused  = 0x05
	repTTLExpired         = 0x06
	repCommandUnsupported = 0x07
	repAddrTypeUnsupport  = 0x08
)

// errorKind sorts a dial error into the classes RFC 1928 section 6 can
// tell apart. gVisor's stack reports its errors as text ("connection was
// refused", "no route to host"), the host's as errno values: both are
// recognised.
func errorKind(err error) (code byte, reason string) {
	var re *resolveError
	var ne net.Error
	msg := ""
	if err != nil {
		msg = strings.ToLower(err.Error())
	}
	switch {
	case err == nil:
		return repSucceeded, ""
	case errors.Is(err, errNotConnected):
		return repNetworkUnreachable, "VPN not connected"
	case errors.As(err, &re):
		return repHostUnreachable, "name not resolved"
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "refused"):
		return repConnectionRefused, "connection refused"
	case errors.Is(err, syscall.ENETUNREACH) || strings.Contains(msg, "network is unreachable"):
		return repNetworkUnreachable, "network unreachable"
	case errors.Is(err, syscall.EHOSTUNREACH) || strings.Contains(msg, "unreachable") || strings.Contains(msg, "no route"):
		return repHostUnreachable, "host unreachable"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) || strings.Contains(msg, "timed out"):
		return repTTLExpired, "timed out"
	}
	return repGeneralFailure, "failed"
}

// describe is a short text for err: the class errorKind found, or the
// error itself when it fits no class.
func describe(err error) string {
	var re *resolveError
	if errors.As(err, &re) {
		return fmt.Sprintf("name %q not resolved through the tunnel: %v", re.host, re.err)
	}
	if code, r := errorKind(err); code != repGeneralFailure {
		return r
	}
	return err.Error()
}
