package vpn

// Ready checks in TUN mode: the host's own sockets, bound to the TUN
// device (SO_BINDTODEVICE), so a check goes through the tunnel whatever the
// routes say, and names are resolved by the tunnel's DNS servers only.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ReadyNet is what a ready check uses: the proxy-mode stack (*Net) or, in
// TUN mode, sockets bound to the device.
type ReadyNet interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
	Ping(ctx context.Context, addr netip.Addr) error
}

// deviceNet dials from the TUN device ifname.
type deviceNet struct {
	ifname string
	local  netip.Addr
	dns    []netip.Addr
}

func (d deviceNet) control(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, d.ifname)
	}); err != nil {
		return err
	}
	return serr
}

// DialContext dials "tcp" or "udp" to an "IP:port" through the device.
func (d deviceNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	dl := net.Dialer{Control: d.control}
	c, err := dl.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("vpn: dial %s %s through %s: %w", network, address, d.ifname, err)
	}
	return c, nil
}

// LookupHost asks the tunnel's DNS servers, through the device.
func (d deviceNet) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if len(d.dns) == 0 {
		return nil, fmt.Errorf("vpn: lookup %s: the server gave no DNS server (IPCP or DHCP)", host)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var last error
		for _, s := range d.dns {
			c, err := (&net.Dialer{Control: d.control}).DialContext(ctx, network, net.JoinHostPort(s.String(), "53"))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	if err != nil {
		return nil, fmt.Errorf("vpn: lookup %s through the tunnel: %w", host, err)
	}
	return addrs, nil
}

// Ping sends one ICMP echo request through the device (a raw socket) and waits
// for the reply until ctx ends (at most 5 s without a deadline).
func (d deviceNet) Ping(ctx context.Context, addr netip.Addr) error {
	if addr.Is6() {
		return fmt.Errorf("vpn: ping %s: IPv6 ready checks need proxy mode", addr)
	}
	lc := net.ListenConfig{Control: d.control}
	pc, err := lc.ListenPacket(ctx, "ip4:icmp", d.local.String())
	if err != nil {
		return fmt.Errorf("vpn: ping %s: a raw ICMP socket (root or CAP_NET_RAW): %w", addr, err)
	}
	defer pc.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	pc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { pc.SetDeadline(time.Now()) })
	defer stop()
	dst := &net.IPAddr{IP: addr.AsSlice()}
	if _, err := pc.WriteTo(echoRequest(false), dst); err != nil {
		return fmt.Errorf("vpn: ping %s: %w", addr, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("vpn: ping %s: no reply: %w", addr, err)
		}
		if ip, ok := from.(*net.IPAddr); ok && ip.IP.Equal(dst.IP) && isEchoReply(buf[:n], false) {
			return nil
		}
	}
}
