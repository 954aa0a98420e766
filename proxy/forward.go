package proxy

// Port forwards (a host listener to an address inside the VPN) and reverse
// forwards (a listener on our tunnel address to a service on the host),
// TCP and UDP.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Forward is "tcp:127.0.0.1:5432=10.1.2.3:5432": listen on the host, connect
// to Remote (host:port, the host resolved through the tunnel) inside the VPN.
type Forward struct {
	Proto  string // "tcp" or "udp"
	Listen netip.AddrPort
	Remote string // host:port inside the VPN
}

// Reverse is "tcp:8080=127.0.0.1:3000": listen on our tunnel address,
// port Port, and connect to Local on the host.
type Reverse struct {
	Proto string // "tcp" or "udp"
	Port  uint16
	Local netip.AddrPort
}

func (f Forward) String() string { return f.Proto + ":" + f.Listen.String() + "=" + f.Remote }

func (r Reverse) String() string {
	return r.Proto + ":" + strconv.Itoa(int(r.Port)) + "=" + r.Local.String()
}

// ParseForward parses "PROTO:[LISTENIP:]PORT=HOST:PORT". The listen
// address is 127.0.0.1 when only a port is given; an IPv6 one is written
// in brackets. Port 0 picks a free port.
func ParseForward(s string) (Forward, error) {
	proto, listen, remote, err := splitSpec(s)
	if err != nil {
		return Forward{}, fmt.Errorf("proxy: forward %q: %w", s, err)
	}
	la, err := parseLocal(listen, true)
	if err != nil {
		return Forward{}, fmt.Errorf("proxy: forward %q: listen address: %w", s, err)
	}
	if _, _, err := splitHostPort(remote); err != nil {
		return Forward{}, fmt.Errorf("proxy: forward %q: remote must be host:port: %w", s, err)
	}
	return Forward{Proto: proto, Listen: la, Remote: remote}, nil
}

// ParseReverse parses "PROTO:PORT=[LOCALIP:]PORT"; the local address is
// 127.0.0.1 when only a port is given.
func ParseReverse(s string) (Reverse, error) {
	proto, port, local, err := splitSpec(s)
	if err != nil {
		return Reverse{}, fmt.Errorf("proxy: reverse %q: %w", s, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return Reverse{}, fmt.Errorf("proxy: reverse %q: tunnel port must be 1-65535", s)
	}
	la, err := parseLocal(local, false)
	if err != nil {
		return Reverse{}, fmt.Errorf("proxy: reverse %q: local address: %w", s, err)
	}
	return Reverse{Proto: proto, Port: uint16(n), Local: la}, nil
}

// splitSpec splits "PROTO:LEFT=RIGHT".
func splitSpec(s string) (proto, left, right string, err error) {
	proto, rest, ok := strings.Cut(s, ":")
	if !ok || (proto != "tcp" && proto != "udp") {
		return "", "", "", fmt.Errorf("must start with tcp: or udp:")
	}
	left, right, ok = strings.Cut(rest, "=")
	if !ok || left == "" || right == "" {
		return "", "", "", fmt.Errorf("must be %s:LISTEN=TARGET", proto)
	}
	return proto, left, right, nil
}

// parseLocal parses "IP:PORT" or "PORT" (127.0.0.1).
func parseLocal(s string, portZeroOK bool) (netip.AddrPort, error) {
	var ap netip.AddrPort
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(n))
	} else if ap, err = netip.ParseAddrPort(s); err != nil {
		return ap, fmt.Errorf("want IP:PORT or PORT, got %q", s)
	}
	if ap.Port() == 0 && !portZeroOK {
		return ap, fmt.Errorf("port must be 1-65535")
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// flowDialer opens the far side of a forwarded flow.
type flowDialer func(ctx context.Context, g *generation) (net.Conn, error)

func (p *Proxy) forwardDialer(f Forward) flowDialer {
	host, port, _ := splitHostPort(f.Remote) // checked by ParseForward
	return func(ctx context.Context, g *generation) (net.Conn, error) {
		if host == "" {
			return nil, fmt.Errorf("proxy: forward %q: remote must be host:port", f.String())
		}
		return dialHostPort(ctx, g.n, f.Proto, host, port)
	}
}

func reverseDialer(r Reverse) flowDialer {
	return func(ctx context.Context, _ *generation) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, r.Proto, r.Local.String())
	}
}

// startReverses listens for g's reverse forwards on g's tunnel address;
// the listeners close when g ends. Called with p.mu held. A listener that cannot be opened is
// logged, not fatal: the VPN stays up.
func (p *Proxy) startReverses(g *generation) {
	for _, r := range p.cfg.Reverses {
		addr := netip.AddrPortFrom(g.n.LocalAddr(), r.Port)
		name := "reverse " + r.String()
		if r.Proto == "udp" {
			pc, err := g.n.ListenUDP(addr)
			if err != nil {
				p.log.Info("proxy: reverse forward: cannot listen in the tunnel", "reverse", r.String(), "addr", addr.String(), "err", err)
				continue
			}
			g.closers = append(g.closers, pc)
			p.goTracked(func() { p.serveUDPForward(g, pc, name, reverseDialer(r)) })
			continue
		}
		ln, err := g.n.ListenTCP(addr)
		if err != nil {
			p.log.Info("proxy: reverse forward: cannot listen in the tunnel", "reverse", r.String(), "addr", addr.String(), "err", err)
			continue
		}
		g.closers = append(g.closers, ln)
		p.goTracked(func() { p.serveTCPForward(g, ln, name, reverseDialer(r)) })
	}
}

// serveTCPForward accepts on ln and connects each connection with dial.
// fixed is the generation of a reverse forward's listener; nil (a forward)
// means the generation current at each accept.
func (p *Proxy) serveTCPForward(fixed *generation, ln net.Listener, name string, dial flowDialer) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || (fixed != nil && fixed.ctx.Err() != nil) || isClosed(err) {
				return
			}
			p.log.Debug("proxy: accept", "forward", name, "err", err)
			if !p.acceptBackoff(&backoff) {
				return
			}
			continue
		}
		backoff = 0
		p.accepted.Add(1)
		p.goTracked(func() { p.tcpFlow(fixed, c, name, dial) })
	}
}

func (p *Proxy) tcpFlow(fixed *generation, c net.Conn, name string, dial flowDialer) {
	if !p.acquire() {
		p.refuse(ReasonLimit, "forward", name, "client", c.RemoteAddr().String(), "max", p.cfg.MaxConns)
		_ = c.Close()
		return
	}
	defer p.release()
	g := fixed
	if g == nil {
		g = p.current()
	}
	if g == nil {
		p.refuse(ReasonNotConnected, "forward", name, "client", c.RemoteAddr().String())
		_ = c.Close()
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, p.cfg.DialTimeout)
	remote, err := dial(ctx, g)
	cancel()
	if err != nil {
		p.refuse(ReasonDial, "forward", name, "err", describe(err))
		_ = c.Close()
		return
	}
	p.splice(g.ctx, c, remote, fixed == nil)
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || (err != nil && strings.Contains(err.Error(), "closed"))
}

// udpFlow is one client address of a UDP forward.
type udpFlow struct {
	conn   net.Conn // connected to the far side
	client net.Addr
	last   atomic.Int64
}

// serveUDPForward relays datagrams between the clients of pc and the far
// side, one flow (a connected socket from dial) per client address, each
// ending after IdleTimeout without traffic.
func (p *Proxy) serveUDPForward(fixed *generation, pc net.PacketConn, name string, dial flowDialer) {
	var mu sync.Mutex
	flows := make(map[netip.AddrPort]*udpFlow)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, key, from, err := readFromAddrPort(pc, buf)
		if err != nil {
			if p.ctx.Err() != nil || (fixed != nil && fixed.ctx.Err() != nil) || isClosed(err) {
				return
			}
			continue
		}
		mu.Lock()
		f := flows[key]
		mu.Unlock()
		if f == nil {
			f = p.newUDPFlow(fixed, pc, key, from, name, dial, func() {
				mu.Lock()
				delete(flows, key)
				mu.Unlock()
			})
			if f == nil {
				continue
			}
			mu.Lock()
			flows[key] = f
			mu.Unlock()
		}
		if _, err := f.conn.Write(buf[:n]); err == nil {
			f.last.Store(time.Now().UnixNano())
			if fixed == nil {
				p.toVPN.Add(uint64(n))
			} else {
				p.fromVPN.Add(uint64(n))
			}
		}
	}
}

// newUDPFlow dials the far side for a new client and starts relaying its
// replies; nil if the flow was refused.
func (p *Proxy) newUDPFlow(fixed *generation, pc net.PacketConn, key netip.AddrPort, from net.Addr, name string, dial flowDialer, done func()) *udpFlow {
	if from == nil {
		from = net.UDPAddrFromAddrPort(key)
	}
	if !p.acquire() {
		p.refuse(ReasonLimit, "forward", name, "client", from.String(), "max", p.cfg.MaxConns)
		return nil
	}
	g := fixed
	if g == nil {
		g = p.current()
	}
	if g == nil {
		p.release()
		p.refuse(ReasonNotConnected, "forward", name, "client", from.String())
		return nil
	}
	ctx, cancel := context.WithTimeout(g.ctx, p.cfg.DialTimeout)
	conn, err := dial(ctx, g)
	cancel()
	if err != nil {
		p.release()
		p.refuse(ReasonDial, "forward", name, "err", describe(err))
		return nil
	}
	p.accepted.Add(1)
	f := &udpFlow{conn: conn, client: from}
	f.last.Store(time.Now().UnixNano())
	stop := context.AfterFunc(g.ctx, func() { _ = conn.Close() })
	p.goTracked(func() {
		defer p.release()
		defer stop()
		defer done()
		defer conn.Close()
		p.udpReplies(f, pc, fixed == nil)
	})
	return f
}

// udpReplies sends what the far side of f answers back to f's client.
func (p *Proxy) udpReplies(f *udpFlow, pc net.PacketConn, fromTunnel bool) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var rd lazyDeadline
	for {
		rd.refresh(f.conn.SetReadDeadline, time.Now(), p.cfg.IdleTimeout)
		n, err := f.conn.Read(buf)
		if err != nil {
			if isTimeout(err) && time.Since(time.Unix(0, f.last.Load())) < p.cfg.IdleTimeout {
				continue
			}
			return
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := pc.WriteTo(buf[:n], f.client); err != nil {
			continue
		}
		if fromTunnel {
			p.fromVPN.Add(uint64(n))
		} else {
			p.toVPN.Add(uint64(n))
		}
	}
}

// readFromAddrPort reads a datagram and its source. From a host socket
// (*net.UDPConn) it allocates nothing and from is nil; from another
// PacketConn (the tunnel's) from is the address ReadFrom gave.
func readFromAddrPort(pc net.PacketConn, buf []byte) (n int, ap netip.AddrPort, from net.Addr, err error) {
	if uc, ok := pc.(*net.UDPConn); ok {
		n, ap, err = uc.ReadFromUDPAddrPort(buf)
		return n, ap, nil, err
	}
	n, from, err = pc.ReadFrom(buf)
	return n, addrPortOf(from), from, err
}
