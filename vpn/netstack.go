package vpn

// Proxy mode: the tunnel's IP packets go to an in-process gVisor network
// stack (golang.zx2c4.com/wireguard/tun/netstack) instead of a TUN device.
// It is a different packet sink, not a different data path: the stack is
// wrapped as a *tun.Device (tun.Wrap), so the transmit loop and the receive
// path move its packets exactly as they move a TUN's. No interface, route
// or DNS setting of the host is touched and nothing needs root.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

// Mode says where the tunnel's IP packets go.
type Mode uint8

const (
	// ModeTUN (the default) creates a TUN device with routes and DNS (root).
	ModeTUN Mode = iota
	// ModeProxy hands the packets to an in-process network stack, reached
	// through Net (Config.OnNet, Client.Net); no root needed.
	ModeProxy
	// ModeNetns hands them to a TUN device in another network namespace,
	// made by Config.Device (netns.go).
	ModeNetns
)

func (m Mode) String() string {
	switch m {
	case ModeProxy:
		return "proxy"
	case ModeNetns:
		return "netns"
	}
	return "tun"
}

// ParseMode reads "tun" or "proxy".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "tun":
		return ModeTUN, nil
	case "proxy":
		return ModeProxy, nil
	}
	return 0, fmt.Errorf("vpn: mode %q: want tun or proxy", s)
}

// stackDevice is the name the stack's device reports (Info.Interface). It
// cannot be a kernel interface name (those have no spaces).
const stackDevice = "netstack (proxy mode)"

// Net is the tunnel side of proxy mode: connections through it leave
// through the VPN, from the address PPP negotiated. It satisfies package
// proxy's Net interface. A Net belongs to one network stack: after a
// reconnect that changed the address, DNS servers or MTU the client makes a
// new one and the old one fails every call.
type Net struct {
	n     *netstack.Net
	local netip.Addr
	dns   []netip.Addr
	mtu   int
}

// LocalAddr is the tunnel address the stack sends from.
func (n *Net) LocalAddr() netip.Addr { return n.local }

// DNS are the servers LookupHost asks (IPCP's, else DHCP's).
func (n *Net) DNS() []netip.Addr { return slices.Clone(n.dns) }

// DialContext connects to address ("IP:port" or "host:port", resolved
// through the tunnel's DNS) over network "tcp", "tcp4", "tcp6", "udp",
// "udp4" or "udp6".
func (n *Net) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := n.n.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("vpn: dial %s %s through the tunnel: %w", network, address, err)
	}
	return c, nil
}

// ListenTCP listens on addr inside the tunnel (for reverse forwards).
func (n *Net) ListenTCP(addr netip.AddrPort) (net.Listener, error) {
	l, err := n.n.ListenTCPAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("vpn: listen tcp %s in the tunnel: %w", addr, err)
	}
	return l, nil
}

// ListenUDP opens a UDP socket on addr inside the tunnel.
func (n *Net) ListenUDP(addr netip.AddrPort) (net.PacketConn, error) {
	c, err := n.n.ListenUDPAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("vpn: listen udp %s in the tunnel: %w", addr, err)
	}
	return c, nil
}

// LookupHost resolves host through the tunnel's DNS servers only.
func (n *Net) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if len(n.dns) == 0 {
		return nil, fmt.Errorf("vpn: lookup %s: the server gave no DNS server (IPCP or DHCP)", host)
	}
	names, err := n.n.LookupContextHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("vpn: lookup %s through the tunnel: %w", host, err)
	}
	addrs := make([]netip.Addr, 0, len(names))
	for _, s := range names {
		if a, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("vpn: lookup %s through the tunnel: no address", host)
	}
	return addrs, nil
}

// Ping sends one ICMP echo request to addr through the tunnel and waits
// for the reply until ctx ends (at most 5 s without a deadline).
func (n *Net) Ping(ctx context.Context, addr netip.Addr) error {
	pc, err := n.n.DialPingAddr(netip.Addr{}, addr)
	if err != nil {
		return fmt.Errorf("vpn: ping %s: %w", addr, err)
	}
	defer pc.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	pc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { pc.SetDeadline(time.Now()) })
	defer stop()
	req := echoRequest(addr.Is6())
	if _, err := pc.Write(req); err != nil {
		return fmt.Errorf("vpn: ping %s: %w", addr, err)
	}
	buf := make([]byte, 1500)
	for {
		m, err := pc.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("vpn: ping %s: no reply: %w", addr, err)
		}
		if isEchoReply(buf[:m], addr.Is6()) {
			return nil
		}
	}
}

// echoRequest is an ICMP (or ICMPv6) echo request with a short payload;
// the stack fills in the identifier (and the ICMPv6 checksum).
func echoRequest(v6 bool) []byte {
	b := []byte{8, 0, 0, 0, 0, 0, 0, 1, 'l', '2', 't', 'p'}
	if v6 {
		b[0] = 128
		return b
	}
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
	return b
}

// isEchoReply says whether b is an ICMP (ICMPv6) echo reply.
func isEchoReply(b []byte, v6 bool) bool {
	if len(b) < 8 {
		return false
	}
	if v6 {
		return b[0] == 129
	}
	return b[0] == 0
}

// proxyHost is proxy mode's hostConfigurer: it changed nothing.
type proxyHost struct{}

func (proxyHost) Summary() tun.HostSummary {
	return tun.HostSummary{Mode: "proxy", IPv6: "not changed"}
}
func (proxyHost) UpdateDNS([]netip.Addr) error   { return nil }
func (proxyHost) Repin(netip.Addr) (bool, error) { return false, nil }
func (proxyHost) Close() error                   { return nil }

// openStack is openHost for proxy mode: a new network stack with the
// address from IPCP and the DNS servers from IPCP (else DHCP). It records
// the stack's Net in cl.net; cl.mu is held.
func (cl *Client) openStack(c *Conn, ipi ppp.IPInfo, _, _ netip.Addr, mtu int) (*tun.Device, hostConfigurer, error) {
	dns := c.info.DHCP.dnsServers(ipi.DNS)
	wdev, n, err := netstack.CreateNetTUN([]netip.Addr{ipi.Local}, dns, mtu)
	if err != nil {
		return nil, nil, &Error{Phase: "netstack", Reason: ReasonInternal, Err: fmt.Errorf("creating the network stack: %w", err)}
	}
	cl.net = &Net{n: n, local: ipi.Local, dns: slices.Clone(dns), mtu: mtu}
	return tun.Wrap(wdev, stackDevice, cl.log.With("layer", "netstack")), proxyHost{}, nil
}

// reattachStack keeps the stack after a reconnect when the address, DNS
// servers and MTU are unchanged (open connections survive); otherwise it
// replaces it, since a gVisor stack cannot be readdressed: the old device
// is closed (its transmit loop ends) and the new one gets its own. cl.mu
// is held; the old Net fails from here on.
func (cl *Client) reattachStack(c *Conn, ipi ppp.IPInfo, mtu int) (*tun.Device, error) {
	dns := c.info.DHCP.dnsServers(ipi.DNS)
	if n := cl.net; n != nil && n.local == ipi.Local && n.mtu == mtu && slices.Equal(n.dns, dns) {
		return cl.dev, nil
	}
	cl.log.Info("new network stack for the new address", "ip", ipi.Local, "dns", dns, "mtu", mtu)
	if err := cl.dev.Close(); err != nil {
		cl.log.Debug("closing the previous network stack", "err", err)
	}
	dev, _, err := cl.openStack(c, ipi, netip.Addr{}, netip.Addr{}, mtu)
	if err != nil {
		cl.dev = nil
		return nil, err
	}
	cl.dev = dev
	cl.wg.Add(1)
	go cl.txLoop(dev)
	return dev, nil
}

// Net is the current connection's network stack in proxy mode, or nil
// (tun mode, or no connection up).
func (cl *Client) Net() *Net {
	if cl.cur.Load() == nil {
		return nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.net
}

// announceNet tells Config.OnNet about a new stack, or nil when the
// client ends. A reconnect that kept the stack is not announced: what runs
// through it (the proxy's flows) carries on, as connections through a TUN
// device do.
func (cl *Client) announceNet(n *Net) {
	if cl.cfg.Mode != ModeProxy || cl.cfg.OnNet == nil || n == cl.announced {
		return
	}
	cl.announced = n
	cl.cfg.OnNet(n)
}

// readyCheckTimeout bounds all ready checks of one connection together.
const readyCheckTimeout = 30 * time.Second

// readyChecks runs Config.ReadyChecks through the new stack (or TUN
// device) before the connection is announced up.
func (cl *Client) readyChecks(c *Conn, n *Net, dev string) error {
	if len(cl.cfg.ReadyChecks) == 0 {
		return nil
	}
	var rn ReadyNet
	switch {
	case cl.cfg.Mode == ModeProxy && n != nil:
		rn = n
	case cl.cfg.Mode == ModeTUN && dev != "":
		info := c.Info()
		rn = deviceNet{ifname: dev, local: info.IP, dns: c.info.DHCP.dnsServers(info.DNS)}
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyCheckTimeout)
	defer cancel()
	go func() {
		select {
		case <-cl.closeReq:
			cancel()
		case <-ctx.Done():
		}
	}()
	for i, check := range cl.cfg.ReadyChecks {
		if err := check(ctx, rn); err != nil {
			if errors.Is(err, context.Canceled) && isClosed(cl.closeReq) {
				return &Error{Phase: "ready check", Reason: ReasonInterrupted, Err: ErrInterrupted}
			}
			return &Error{Phase: "ready check", Reason: ReasonReadyCheck, Err: fmt.Errorf("check %d failed: %w", i+1, err),
				Hint: "the tunnel is up but the ready check did not pass through it: check its target, or drop ready-check"}
		}
	}
	return nil
}

// proxyListen is the proxy's address for the up event and status, "" in
// tun mode.
func (cl *Client) proxyListen() string {
	if cl.cfg.Mode != ModeProxy {
		return ""
	}
	return cl.cfg.ProxyListen
}
