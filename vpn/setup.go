package vpn

// The set-up of one connection attempt, as straight-line code: socket,
// IPsec (our IKE, or charon's), L2TP tunnel and session, PPP, device.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

func (c *Conn) setup(ctx context.Context, server netip.AddrPort) error {
	for _, r := range c.cfg.Routes {
		if r.Contains(server.Addr()) {
			return &Error{Phase: "config", Reason: ReasonConfig,
				Err:  fmt.Errorf("route %s contains the server address %s: the tunnel would be routed into itself", r, server.Addr()),
				Hint: "leave the server's address out of --route"}
		}
	}
	c.peer.Store(&server)
	delegated := c.cfg.IPsec && c.cfg.Strongswan
	src, srcErr := sourceAddr(server.Addr())
	if srcErr != nil {
		return &Error{Phase: "socket", Reason: ReasonUnreachable, Err: fmt.Errorf("no route to %s: %w", server.Addr(), srcErr),
			Hint: "check the network connection and the server address"}
	}
	var udp *net.UDPConn
	var err error
	if delegated {
		// The kernel encrypts what matches the child's traffic selectors:
		// our address, port 1701, to the server's port 1701.
		udp, err = charonSocket(src)
		if err != nil {
			return &Error{Phase: "socket", Reason: ReasonHost, Err: err,
				Hint: "delegated IPsec needs UDP port 1701 (the traffic selector): is another L2TP client using it?"}
		}
	} else {
		udp, err = listenUDP(server.Addr(), c.cfg.LocalPort)
		if err != nil {
			return &Error{Phase: "socket", Reason: ReasonHost, Err: err, Hint: "is the local port free?"}
		}
	}
	if c.sock, err = newBatchConn(udp, udpBatch); err != nil {
		udp.Close()
		return &Error{Phase: "socket", Reason: ReasonInternal, Err: err}
	}
	if err := c.sock.setRecvErr(true); err != nil {
		c.log.Debug("no ICMP error reports on the socket", "err", err)
	}
	local := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	c.info.Source = src
	if srcErr == nil {
		local = netip.AddrPortFrom(src, local.Port())
	}
	c.info.Server, c.info.Local = server, local
	c.emit(Event{Event: EventConnecting, Server: server.String(), Local: local.String()})
	c.log.Info("connecting", "server", server, "local", local)

	// Every engine the receive loop hands datagrams to exists before the
	// loop starts: a datagram may arrive at any time once the socket is
	// bound (a fixed --local-port, a server still retransmitting to the
	// previous attempt). The PPP link is made once IPsec is up (its MRU
	// depends on the ESP transform); the receive loop hands it nothing
	// before the tunnel is up, which is published after the link exists.
	if c.cfg.IPsec && !delegated {
		if err := c.newIPsec(src); err != nil {
			return err
		}
	}
	c.tunnel = l2tp.NewTunnel(l2tp.Config{
		Secret:            c.cfg.L2TPSecret,
		HelloInterval:     c.cfg.HelloInterval,
		RetransmitTimeout: c.cfg.RetransmitTimeout,
		MaxRetransmits:    c.cfg.MaxRetransmits,
		Logger:            c.log.With("layer", "l2tp"),
	}, c.sendControl)
	if c.cfg.rxStarted != nil {
		c.cfg.rxStarted(c)
	}
	c.wg.Add(1)
	go c.rxLoop()

	if delegated {
		if err := c.startCharon(ctx, src); err != nil {
			return err
		}
	} else if c.ipsec != nil {
		if err := c.runIPsec(ctx); err != nil {
			return err
		}
	}

	c.link = ppp.NewLink(ppp.Config{
		User:         c.cfg.User,
		Password:     c.cfg.Password,
		Auth:         c.cfg.Auth,
		MRU:          uint16(c.mru()),
		EchoInterval: c.cfg.EchoInterval,
		EchoFailures: c.cfg.EchoFailures,
		AuthTimeout:  c.cfg.PPPAuthTimeout,
		IPv6:         c.cfg.IPv6,
		MPPE:         c.cfg.MPPE,
		// IKE (ours or charon's) has authenticated the server.
		ServerVerified: c.cfg.IPsec,
		Logger:         c.log.With("layer", "ppp"),
		OnEvent:        c.pppEvent,
	}, c.sendPPP)
	c.crypt = c.link

	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.tunnelLoop = c.startEngine(func() error { return c.tunnel.Run(loopCtx) })

	// L2TP control connection and session.
	ti, err := c.establish(ctx)
	if e, ok := err.(icmpError); ok {
		return c.unreachable(ctx, e)
	}
	if err != nil {
		return c.integrityError(tunnelError(err, server))
	}
	c.localTunnel.Store16(ti.LocalID)
	c.peerTunnel.Store16(ti.PeerID)
	c.tunnelUp.Store(true)
	c.info.Tunnel = ti
	c.info.Server = *c.peer.Load()
	c.log.Info("l2tp tunnel up", "tunnel", ti.LocalID, "peer_tunnel", ti.PeerID, "peer_vendor", ti.PeerVendor, "peer_host", ti.PeerHostName,
		"peer_firmware", firmwareString(ti.PeerFirmware))
	c.emit(Event{Event: EventTunnelUp, Server: c.info.Server.String(), Local: local.String(), TunnelID: ti.LocalID,
		PeerTunnelID: ti.PeerID, PeerHost: ti.PeerHostName, PeerVendor: ti.PeerVendor, PeerFirmware: firmwareString(ti.PeerFirmware)})

	si, err := waitFor(ctx, c.tunnelLoop, c.icmp, c.tunnel.OpenSession)
	if e, ok := err.(icmpError); ok {
		return c.unreachable(ctx, e)
	}
	if err != nil {
		return sessionError(err)
	}
	c.startSequencing(si)
	c.peerSession.Store16(si.PeerID)
	c.localSession.Store16(si.LocalID)
	c.info.Session = si
	c.log.Info("l2tp session up", "session", si.LocalID, "peer_session", si.PeerID)
	c.emit(Event{Event: EventSessionUp, TunnelID: ti.LocalID, SessionID: si.LocalID, PeerSessionID: si.PeerID})

	// PPP: LCP, authentication, IPCP.
	linkCtx, linkCancel := context.WithCancel(loopCtx)
	c.linkCancel = linkCancel
	c.linkLoop = c.startEngine(func() error { return c.link.Run(linkCtx) })
	ipi, err := c.waitPPP(ctx)
	if err != nil {
		return err
	}
	c.info.IP, c.info.Peer, c.info.DNS, c.info.Auth = ipi.Local, ipi.Peer, ipi.DNS, ipi.Auth
	c.info.WINS = ipi.WINS
	c.info.MPPE = ipi.MPPE
	c.info.MTU = c.mtu(ipi)
	c.log.Info("ppp ip up", "ip", ipi.Local, "peer", ipi.Peer, "dns", ipi.DNS, "mtu", c.info.MTU, "mppe", ipi.MPPE)
	c.emit(Event{Event: EventIPUp, IP: ipi.Local.String(), Peer: addrString(ipi.Peer), DNS: addrStrings(ipi.DNS), MTU: c.info.MTU,
		WINS: addrStrings(ipi.WINS), MPPE: ipi.MPPE})
	c.runDHCP(ctx, ipi) // routes and domains, applied with the rest by attach

	// The TUN device (the client keeps one across reconnects).
	// Some servers (l2tpns) name their own public address as the PPP peer.
	// A point-to-point peer route to it would send the tunnel into itself,
	// so the server's address keeps its current path.
	peer := ipi.Peer
	if peer == c.info.Server.Addr() {
		c.log.Info("ppp peer address is the server's own address: not routing it into the tunnel", "peer", peer)
		peer = netip.Addr{}
	}
	c.devMu.Lock()
	var ll netip.Addr
	if p := c.ipv6.Load(); p != nil {
		ll = *p
	}
	dev, err := c.attach(c, ipi, peer, ll)
	if err == nil {
		c.dev.Store(dev)
	}
	c.devMu.Unlock()
	if err != nil {
		return err
	}
	c.info.Interface = dev.Name()
	c.info.UpAfter = time.Since(c.start)
	c.log.Info("ppp link attached", "interface", dev.Name(), "ip", ipi.Local, "after", c.info.UpAfter.Round(time.Millisecond))
	return nil
}

// waitFor runs step while watching the tunnel loop: if the loop ends first,
// its error is the step's error; an ICMP error from the server ends it too
// (returned as the icmpError).
func waitFor[T any](ctx context.Context, loop *engine, icmp <-chan icmpError, step func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := step(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case e := <-icmp:
		cancel()
		<-ch
		var zero T
		return zero, e
	case <-loop.Done():
		cancel()
		<-ch
		var zero T
		err := loop.Err()
		if err == nil {
			err = errors.New("l2tp: control connection ended")
		}
		return zero, err
	}
}

func (c *Conn) waitPPP(ctx context.Context) (ppp.IPInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.tunnel.SessionDone():
			cancel()
		case <-ctx.Done():
		}
	}()
	ipi, err := c.link.WaitUp(ctx)
	if err == nil {
		return ipi, nil
	}
	serr := c.tunnel.SessionErr()
	if serr == nil {
		return ipi, c.linkSetupError(err)
	}
	// The session ended. Servers often send their CHAP/PAP failure and the
	// CDN back to back: PPP frames that arrived before the CDN are already
	// queued at the link, so let it handle them before deciding.
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	c.link.Sync(sctx)
	scancel()
	if lerr := c.link.Err(); lerr != nil {
		return ipi, c.linkSetupError(lerr)
	}
	if c.lcpUp.Load() && !c.authOK.Load() {
		return ipi, &Error{Phase: "ppp", Reason: ReasonAuth,
			Err:  fmt.Errorf("authentication failed: the server closed the session during authentication: %w", serr),
			Hint: "most likely a wrong user name or password; check them and the allowed methods (--auth)"}
	}
	return ipi, sessionError(serr)
}

// establish runs SCCRQ/SCCRP/SCCCN. With cfg.sccrqProbe (local-port auto,
// from an ephemeral port) a server that stays silent that long counts as
// not answering, so the client can try port 1701 without first waiting
// out every retransmission.
func (c *Conn) establish(ctx context.Context) (l2tp.TunnelInfo, error) {
	probe := c.cfg.sccrqProbe
	if probe <= 0 {
		return waitFor(ctx, c.tunnelLoop, c.icmp, c.tunnel.Establish)
	}
	pctx, cancel := context.WithTimeout(ctx, probe)
	defer cancel()
	ti, err := waitFor(pctx, c.tunnelLoop, c.icmp, c.tunnel.Establish)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w within %v from an ephemeral port", l2tp.ErrTimeout, probe)
	}
	return ti, err
}

// linkSetupError classifies a PPP failure during set-up. A server that ends
// the link (LCP Terminate-Request) after LCP opened and before it accepted
// our credentials has refused them: SoftEther does so when RADIUS rejects a
// password or a one-time code, or gives up waiting for a second factor.
func (c *Conn) linkSetupError(err error) error {
	if errors.Is(err, ppp.ErrPeerTerminated) && c.lcpUp.Load() && !c.authOK.Load() {
		return &Error{Phase: "ppp", Reason: ReasonAuth,
			Err: fmt.Errorf("authentication failed: the server ended the link during authentication: %w", err),
			Hint: "most likely a wrong user name, password or one-time code (check them and the allowed methods, --auth), " +
				"or a second factor that was not approved in time"}
	}
	return pppError(err)
}

// mtu is the TUN MTU: the largest IP packet that fits into one datagram on
// the path to the server after encapsulation, and that the peer can
// receive (its MRU), unless configured.
func (c *Conn) mtu(ipi ppp.IPInfo) int {
	if c.cfg.MTU != 0 {
		return c.cfg.MTU
	}
	m := c.maxPayload()
	if ipi.PeerMRU != 0 && int(ipi.PeerMRU) < m {
		m = int(ipi.PeerMRU)
	}
	// TCP's MSS is clamped to this MTU, which also bounds what the server
	// sends us: never more than the MRU it acked for us.
	if ipi.LocalMRU != 0 && int(ipi.LocalMRU) < m {
		m = int(ipi.LocalMRU)
	}
	if ipi.MPPE != "" || c.cfg.MPPE == ppp.MPPERequire {
		m -= mppeMTUOverhead // RFC 3078: the MPPE header and inner protocol
	}
	return m
}

// mru is the MRU we ask the server for: the configured one, else the
// largest IP packet that reaches us without fragmenting the outer datagram.
func (c *Conn) mru() int {
	if c.cfg.MRU != 0 {
		return c.cfg.MRU
	}
	return c.maxPayload()
}

// maxPayload is what one PPP frame may carry on the path to the server:
// the underlay's MTU less the outer IPv4 and UDP headers, NAT-T and ESP
// (header, IV, padding, trailer and ICV of the negotiated transform), the
// inner IPv4 header in tunnel mode, the inner UDP, L2TP and PPP headers.
func (c *Conn) maxPayload() int {
	// Frames larger than Ethernet's would surprise servers, whatever the
	// underlay (loopback, jumbo frames) could carry.
	path := min(pathMTU(c.info.Server.Addr()), 1500)
	// The plain and delegated overheads count IPv4 headers; an IPv6 one
	// is 20 bytes more (outer, and inner in delegated tunnel mode).
	v6 := outerIPLen(c.info.Server.Addr()) - 20
	m := path - plainOverhead - v6
	if c.charon != nil {
		m = delegatedMTU(c.cfg.ESPMode) - (1500 - path) - v6
		if c.cfg.ESPMode == esp.Tunnel {
			m -= v6
		}
	}
	if c.ipsec != nil {
		m = path - c.ipsec.overhead()
		// In tunnel mode the server decapsulates into an interface of its
		// own (strongSwan's kernel-libipsec: MTU 1400) and fragments our
		// L2TP datagrams (inner IPv4 + UDP + L2TP + PPP = 38 bytes more)
		// above that; inner fragments are not reassembled, so stay below.
		if lim := tunnelModeMTU - (c.ipsec.innerIPLen() - ipv4HeaderLen); c.ipsec.mode == esp.Tunnel && m > lim {
			m = lim
		}
	}
	return max(m, minMTU)
}

// minMTU is the smallest MTU IPv4 guarantees (RFC 791).
const minMTU = 576
