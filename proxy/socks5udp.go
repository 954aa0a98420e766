package proxy

// SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): datagrams between the client's
// UDP socket on the host and a UDP socket on the tunnel side, each with the
// header RSV(2) FRAG(1) ATYP DST.ADDR DST.PORT in front of the payload.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// udpHeadroom is the longest header we prepend: an IPv6 address.
const udpHeadroom = 3 + 1 + 16 + 2

// parseUDPHeader decodes the header of a datagram from the client and
// returns the destination and the payload, which aliases b. A fragment
// (FRAG != 0) is an error: we do not reassemble, as section 7 allows.
func parseUDPHeader(b []byte) (socksAddr, []byte, error) {
	s := cryptobyte.String(b)
	var rsv uint16
	var frag uint8
	if !s.ReadUint16(&rsv) || !s.ReadUint8(&frag) {
		return socksAddr{}, nil, errSOCKSMalformed
	}
	if frag != 0 {
		return socksAddr{}, nil, errSOCKSFragment
	}
	dst, err := parseAddr(&s)
	if err != nil {
		return dst, nil, err
	}
	return dst, []byte(s), nil
}

// putUDPHeader writes the header for a datagram from src just before
// buf[udpHeadroom:] and returns where it starts.
func putUDPHeader(buf []byte, src netip.AddrPort) int {
	a := src.Addr().Unmap()
	start := udpHeadroom - (3 + 1 + 4 + 2)
	if !a.Is4() {
		start = 0
	}
	buf[start], buf[start+1], buf[start+2] = 0, 0, 0 // RSV, FRAG
	appendAddr(buf[start:start+3], src)              // in place: buf has the capacity
	return start
}

// udpAssociation is one UDP ASSOCIATE relay.
type udpAssociation struct {
	p        *Proxy
	g        *generation
	hostPC   net.PacketConn // the client talks to this one, on loopback
	tunPC    net.PacketConn // on the tunnel side
	clientIP netip.Addr
	wantPort uint16 // the client's port if it announced one
	last     atomic.Int64
	client   atomic.Pointer[net.UDPAddr] // where replies go; set by the first datagram
	cancel   context.CancelFunc
}

// socksUDP runs a UDP ASSOCIATE request: the association lives until the
// TCP connection c closes, the tunnel generation ends, or no datagram
// passes for IdleTimeout.
func (p *Proxy) socksUDP(g *generation, c net.Conn, br *bufio.Reader, dst socksAddr) {
	local := addrPortOf(c.LocalAddr()).Addr()
	var lc net.ListenConfig
	hostPC, err := lc.ListenPacket(g.ctx, "udp", netip.AddrPortFrom(local, 0).String())
	if err != nil {
		_ = socksReply(c, repGeneralFailure, netip.AddrPort{})
		p.log.Info("proxy: socks5 udp associate: no host socket", "err", err)
		return
	}
	tunPC, err := g.n.ListenUDP(netip.AddrPortFrom(g.n.LocalAddr(), 0))
	if err != nil {
		_ = hostPC.Close()
		rep, _ := errorKind(err)
		p.refuse(ReasonDial, "proto", "socks5", "client", c.RemoteAddr().String(), "err", "udp socket in the tunnel: "+describe(err))
		_ = socksReply(c, rep, netip.AddrPort{})
		return
	}
	u := &udpAssociation{
		p: p, g: g, hostPC: hostPC, tunPC: tunPC,
		clientIP: addrPortOf(c.RemoteAddr()).Addr().Unmap(),
	}
	if dst.ip.IsValid() && !dst.ip.IsUnspecified() && dst.port != 0 {
		u.wantPort = dst.port
	}
	u.last.Store(time.Now().UnixNano())
	var ctx context.Context
	ctx, u.cancel = context.WithCancel(g.ctx)
	stop := context.AfterFunc(ctx, func() {
		_ = c.Close()
		_ = hostPC.Close()
		_ = tunPC.Close()
	})
	defer stop()
	defer u.cancel()
	if err := socksReply(c, repSucceeded, addrPortOf(hostPC.LocalAddr())); err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	p.log.Debug("proxy: socks5 udp associate", "client", c.RemoteAddr().String(), "relay", hostPC.LocalAddr().String())

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer u.cancel()
		_, _ = io.Copy(io.Discard, br) // the association ends with the TCP connection
	}()
	go func() {
		defer wg.Done()
		defer u.cancel()
		u.toTunnel(ctx)
	}()
	u.fromTunnel()
	u.cancel()
	wg.Wait()
}

// idle reports whether no datagram passed either way for IdleTimeout.
func (u *udpAssociation) idle() bool {
	return time.Since(time.Unix(0, u.last.Load())) >= u.p.cfg.IdleTimeout
}

// toTunnel relays the client's datagrams into the tunnel.
func (u *udpAssociation) toTunnel(ctx context.Context) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var lastDst netip.AddrPort
	var lastUDP *net.UDPAddr
	var lastName string
	var lastNameAddr netip.Addr
	var rd lazyDeadline
	for {
		rd.refresh(u.hostPC.SetReadDeadline, time.Now(), u.p.cfg.IdleTimeout)
		n, src, _, err := readFromAddrPort(u.hostPC, buf)
		if err != nil {
			if isTimeout(err) && !u.idle() {
				continue
			}
			return
		}
		if src.Addr().Unmap() != u.clientIP || (u.wantPort != 0 && src.Port() != u.wantPort) {
			continue // RFC 1928 section 7: only from the client's address
		}
		if c := u.client.Load(); c == nil || c.AddrPort() != src {
			u.client.Store(net.UDPAddrFromAddrPort(src))
		}
		dst, payload, err := parseUDPHeader(buf[:n])
		if err != nil {
			continue // malformed or fragmented: dropped
		}
		ip := dst.ip
		if !ip.IsValid() {
			if dst.host != lastName {
				rctx, cancel := context.WithTimeout(ctx, u.p.cfg.DialTimeout)
				addrs, err := resolve(rctx, u.g.n, dst.host)
				cancel()
				if err != nil {
					u.p.refuse(ReasonResolve, "proto", "socks5-udp", "dst", dst.String(), "err", describe(err))
					continue
				}
				lastName, lastNameAddr = dst.host, addrs[0]
			}
			ip = lastNameAddr
		}
		ap := netip.AddrPortFrom(ip, dst.port)
		if ap != lastDst {
			lastDst, lastUDP = ap, net.UDPAddrFromAddrPort(ap)
		}
		if _, err := u.tunPC.WriteTo(payload, lastUDP); err != nil {
			u.p.log.Debug("proxy: socks5 udp send into tunnel", "dst", dst.String(), "err", err)
			continue
		}
		u.last.Store(time.Now().UnixNano())
		u.p.toVPN.Add(uint64(len(payload)))
	}
}

// fromTunnel relays datagrams from the tunnel to the client, with the
// header written into the buffer's headroom.
func (u *udpAssociation) fromTunnel() {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var rd lazyDeadline
	for {
		rd.refresh(u.tunPC.SetReadDeadline, time.Now(), u.p.cfg.IdleTimeout)
		n, from, err := u.tunPC.ReadFrom(buf[udpHeadroom:])
		if err != nil {
			if isTimeout(err) && !u.idle() {
				continue
			}
			return
		}
		client := u.client.Load()
		if client == nil {
			continue // no datagram from the client yet: nowhere to send
		}
		start := putUDPHeader(buf, addrPortOf(from))
		if _, err := u.hostPC.WriteTo(buf[start:udpHeadroom+n], client); err != nil {
			continue
		}
		u.last.Store(time.Now().UnixNano())
		u.p.fromVPN.Add(uint64(n))
	}
}

// isTimeout reports a deadline that passed, on the host's sockets
// (os.ErrDeadlineExceeded) and on gVisor's (a net.Error with Timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
