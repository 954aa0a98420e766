package vpn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike/vici"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Conn is one running connection.
type Conn struct {
	cfg   Config
	log   *slog.Logger
	start time.Time

	sock  *batchConn
	ipsec *ipsecPath // nil without built-in IPsec
	// charon runs IKE and ESP instead (--ipsec=strongswan); nil otherwise.
	charon       *vici.Delegate
	charonRekeys atomic.Uint64
	peer         atomic.Pointer[netip.AddrPort]
	tunnel       *l2tp.Tunnel
	link         *ppp.Link
	dev          atomic.Pointer[tun.Device]
	devMu        sync.Mutex // orders device creation against a late IPV6CP

	localTunnel, localSession atomicID
	peerTunnel, peerSession   atomicID
	seq                       l2tp.DataSequence // data sequencing, sequence.go
	tunnelUp                  atomic.Bool
	lcpUp, authOK             atomic.Bool
	linkStarted               bool
	ipv6                      atomic.Pointer[netip.Addr] // link-local, once IPV6CP is up
	closing                   atomic.Bool

	stats connStats

	// loops: the tunnel's and the link's Run results.
	tunnelDone chan error
	linkDone   chan error
	cancel     context.CancelFunc // stops the tunnel loop
	linkCancel context.CancelFunc // stops the PPP loop without a Terminate
	wg         sync.WaitGroup

	attach  attachFunc
	failReq chan error

	closeOnce sync.Once
	closeReq  chan struct{}
	done      chan struct{}
	err       error // why the connection ended; set before done is closed

	info Info
}

// Info describes an established connection.
type Info struct {
	Server    netip.AddrPort
	Local     netip.AddrPort
	Interface string
	IP, Peer  netip.Addr
	DNS       []netip.Addr
	MTU       int
	Routes    []netip.Prefix
	Auth      ppp.AuthMethod
	Tunnel    l2tp.TunnelInfo
	Session   l2tp.SessionInfo
	IPv6      netip.Addr
	UpAfter   time.Duration
	Source    netip.Addr // our address on the path to the server
}

type atomicID struct{ v atomic.Uint32 }

func (a *atomicID) Load16() uint16    { return uint16(a.v.Load()) }
func (a *atomicID) Store16(id uint16) { a.v.Store(uint32(id)) }

// dial runs one connection attempt: fresh socket, IKE, L2TP tunnel and
// session, PPP, then attach for the device. It returns once IP traffic can
// flow, or with an *Error saying which phase failed (everything undone).
// ctx bounds only the set-up; afterwards the connection runs until Close or
// a failure (see Wait).
func dial(ctx context.Context, cfg Config, attach attachFunc) (*Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg: cfg, log: log, start: time.Now(), attach: attach,
		tunnelDone: make(chan error, 1), linkDone: make(chan error, 1),
		closeReq: make(chan struct{}), done: make(chan struct{}), failReq: make(chan error, 1),
	}
	if err := c.setup(ctx); err != nil {
		c.teardown(err)
		return nil, err
	}
	go c.supervise()
	return c, nil
}

// attachFunc gives a connection whose PPP link is up the TUN device to
// deliver into; peer is the point-to-point peer address to configure (may be
// invalid), ll the IPv6 link-local address if IPV6CP is already up.
type attachFunc func(c *Conn, ipi ppp.IPInfo, peer, ll netip.Addr) (*tun.Device, error)

// fail ends the connection as lost, for a reason found outside it (the
// network changed under us).
func (c *Conn) fail(err error) {
	select {
	case c.failReq <- err:
	default:
	}
}

func (c *Conn) emit(ev Event) {
	ev.Schema = SchemaVersion
	ev.Time = time.Now()
	if ev.Event != EventConnecting {
		ev.ElapsedMS = time.Since(c.start).Milliseconds()
	}
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(ev)
	}
}

func (c *Conn) setup(ctx context.Context) error {
	server, err := resolveServer(c.cfg.Server)
	if err != nil {
		return &Error{Phase: "config", Reason: ReasonConfig, Err: err, Hint: "check the server name"}
	}
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
	if srcErr != nil && c.cfg.IPsec {
		return &Error{Phase: "socket", Reason: ReasonHost, Err: srcErr, Hint: "is there a route to the server?"}
	}
	var udp *net.UDPConn
	if delegated {
		// The kernel encrypts what matches the child's traffic selectors:
		// our address, port 1701, to the server's port 1701.
		udp, err = charonSocket(src)
		if err != nil {
			return &Error{Phase: "socket", Reason: ReasonHost, Err: err,
				Hint: "delegated IPsec needs UDP port 1701 (the traffic selector): is another L2TP client using it?"}
		}
	} else {
		udp, err = net.ListenUDP("udp4", &net.UDPAddr{Port: c.cfg.LocalPort})
		if err != nil {
			return &Error{Phase: "socket", Reason: ReasonHost, Err: err, Hint: "is the local port free?"}
		}
	}
	if c.sock, err = newBatchConn(udp, udpBatch); err != nil {
		udp.Close()
		return &Error{Phase: "socket", Reason: ReasonInternal, Err: err}
	}
	local := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	c.info.Source = src
	if srcErr == nil {
		local = netip.AddrPortFrom(src, local.Port())
	}
	c.info.Server, c.info.Local = server, local
	c.emit(Event{Event: EventConnecting, Server: server.String(), Local: local.String()})
	c.log.Info("connecting", "server", server, "local", local)

	if delegated {
		if err := c.startCharon(ctx, src); err != nil {
			return err
		}
	} else if c.cfg.IPsec {
		c.wg.Add(1)
		go c.rxLoop() // IKE messages arrive on the same socket
		if err := c.startIPsec(ctx, src); err != nil {
			return err
		}
	}

	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.tunnel = l2tp.NewTunnel(l2tp.Config{
		Secret:            c.cfg.L2TPSecret,
		HelloInterval:     c.cfg.HelloInterval,
		RetransmitTimeout: c.cfg.RetransmitTimeout,
		MaxRetransmits:    c.cfg.MaxRetransmits,
		Logger:            c.log.With("layer", "l2tp"),
	}, c.sendControl)
	c.link = ppp.NewLink(ppp.Config{
		User:         c.cfg.User,
		Password:     c.cfg.Password,
		Auth:         c.cfg.Auth,
		MRU:          uint16(c.cfg.MRU),
		EchoInterval: c.cfg.EchoInterval,
		EchoFailures: c.cfg.EchoFailures,
		IPv6:         c.cfg.IPv6,
		Logger:       c.log.With("layer", "ppp"),
		OnEvent:      c.pppEvent,
	}, c.sendPPP)

	if c.ipsec == nil {
		c.wg.Add(1)
		go c.rxLoop()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.tunnelDone <- c.tunnel.Run(loopCtx)
	}()

	// L2TP control connection and session.
	ti, err := waitFor(ctx, c.tunnelDone, func(ctx context.Context) (l2tp.TunnelInfo, error) { return c.tunnel.Establish(ctx) })
	if err != nil {
		return tunnelError(err, server)
	}
	c.localTunnel.Store16(ti.LocalID)
	c.peerTunnel.Store16(ti.PeerID)
	c.tunnelUp.Store(true)
	c.info.Tunnel = ti
	c.info.Server = *c.peer.Load()
	c.log.Info("l2tp tunnel up", "tunnel", ti.LocalID, "peer_tunnel", ti.PeerID, "peer_vendor", ti.PeerVendor, "peer_host", ti.PeerHostName)
	c.emit(Event{Event: EventTunnelUp, Server: c.info.Server.String(), Local: local.String(), TunnelID: ti.LocalID,
		PeerTunnelID: ti.PeerID, PeerHost: ti.PeerHostName, PeerVendor: ti.PeerVendor})

	si, err := waitFor(ctx, c.tunnelDone, func(ctx context.Context) (l2tp.SessionInfo, error) { return c.tunnel.OpenSession(ctx) })
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
	c.wg.Add(1)
	c.linkStarted = true
	go func() {
		defer c.wg.Done()
		c.linkDone <- c.link.Run(linkCtx)
	}()
	ipi, err := c.waitPPP(ctx)
	if err != nil {
		return err
	}
	c.info.IP, c.info.Peer, c.info.DNS, c.info.Auth = ipi.Local, ipi.Peer, ipi.DNS, ipi.Auth
	c.info.MTU = c.mtu(ipi)
	c.log.Info("ppp ip up", "ip", ipi.Local, "peer", ipi.Peer, "dns", ipi.DNS, "mtu", c.info.MTU)
	c.emit(Event{Event: EventIPUp, IP: ipi.Local.String(), Peer: addrString(ipi.Peer), DNS: addrStrings(ipi.DNS), MTU: c.info.MTU})

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
// its error is the step's error.
func waitFor[T any](ctx context.Context, loopDone chan error, step func(context.Context) (T, error)) (T, error) {
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
	case err := <-loopDone:
		loopDone <- err // keep it for teardown
		cancel()
		<-ch
		var zero T
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
		return ipi, pppError(err)
	}
	// The session ended. Servers often send their CHAP/PAP failure and the
	// CDN back to back: PPP frames that arrived before the CDN are already
	// queued at the link, so let it handle them before deciding.
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	c.link.Sync(sctx)
	scancel()
	if lerr := c.link.Err(); lerr != nil {
		return ipi, pppError(lerr)
	}
	if c.lcpUp.Load() && !c.authOK.Load() {
		return ipi, &Error{Phase: "ppp", Reason: ReasonAuth,
			Err:  fmt.Errorf("authentication failed: the server closed the session during authentication: %w", serr),
			Hint: "most likely a wrong user name or password; check them and the allowed methods (--auth)"}
	}
	return ipi, sessionError(serr)
}

// mtu is the TUN MTU: what the peer can receive, bounded by what fits into a
// 1500-byte path after encapsulation, unless configured.
func (c *Conn) mtu(ipi ppp.IPInfo) int {
	if c.cfg.MTU != 0 {
		return c.cfg.MTU
	}
	m := 1500 - plainOverhead
	if c.charon != nil {
		m = delegatedMTU(c.cfg.ESPMode)
	}
	if c.ipsec != nil {
		m = 1500 - c.ipsec.overhead()
		// In tunnel mode the server decapsulates into an interface of its
		// own (strongSwan's kernel-libipsec: MTU 1400) and fragments our
		// L2TP datagrams (inner IPv4 + UDP + L2TP + PPP = 38 bytes more)
		// above that; inner fragments are not reassembled, so stay below.
		if c.ipsec.mode == esp.Tunnel && m > tunnelModeMTU {
			m = tunnelModeMTU
		}
	}
	if ipi.PeerMRU != 0 && int(ipi.PeerMRU) < m {
		m = int(ipi.PeerMRU)
	}
	return m
}

func (c *Conn) pppEvent(ev ppp.Event) {
	switch ev.Kind {
	case "lcp.up":
		c.lcpUp.Store(true)
		c.log.Info("ppp lcp up")
		c.emit(Event{Event: EventLCPUp})
	case "auth.ok":
		c.authOK.Store(true)
		c.log.Info("ppp authenticated", "method", authName(ev.Auth))
		c.emit(Event{Event: EventAuthOK, Auth: authName(ev.Auth)})
	case "ipv6cp.up":
		if ev.Info != nil {
			ll := linkLocal(ev.Info.IPv6Local)
			c.log.Info("ppp ipv6 up", "link_local", ll)
			c.devMu.Lock()
			c.ipv6.Store(&ll)
			if dev := c.dev.Load(); dev != nil {
				if err := dev.AddIPv6LinkLocal(ll); err != nil {
					c.log.Warn("ipv6 link-local", "err", err)
				}
			}
			c.devMu.Unlock()
			c.emit(Event{Event: EventIPv6Up, IPv6: ll.String()})
		}
	}
}

// sendControl sends an L2TP control message to the server.
func (c *Conn) sendControl(b []byte) error {
	if c.ipsec != nil {
		return c.sendSealed(b)
	}
	return c.sock.writeTo(b, *c.peer.Load())
}

// sendPPP sends a PPP control frame (protocol + information) in an L2TP
// data message of our session. Control frames are rare: allocating is fine.
func (c *Conn) sendPPP(frame []byte) error {
	b := c.pppMessage(frame)
	if c.ipsec != nil {
		return c.sendSealed(b)
	}
	return c.sock.writeTo(b, *c.peer.Load())
}

// supervise waits for the connection to end, by Close or by a failure, and
// tears it down.
func (c *Conn) supervise() {
	var cause error
	var ipsecDone chan error
	if c.ipsec != nil {
		ipsecDone = c.ipsec.done
	}
	select {
	case <-c.closeReq:
	case err := <-c.failReq:
		cause = linkLost("network", err)
	case err := <-ipsecDone:
		ipsecDone <- err
		cause = ikeError(err)
		cause.(*Error).Reason = ReasonLinkLost
	case <-c.charonDone():
		cause = c.charonLost()
	case err := <-c.tunnelDone:
		c.tunnelDone <- err
		cause = linkLost("l2tp tunnel", err)
	case err := <-c.linkDone:
		c.linkDone <- err
		cause = linkLost("ppp", err)
	case <-c.tunnel.SessionDone():
		cause = linkLost("l2tp session", c.tunnel.SessionErr())
	}
	c.teardown(cause)
}

// teardown undoes everything in reverse order: PPP Terminate, L2TP CDN and
// StopCCN, TUN device (routes and addresses), socket. cause is the reason
// the connection ends (nil for a requested disconnect).
func (c *Conn) teardown(cause error) {
	if cause == nil {
		c.log.Info("disconnecting")
	}
	sessionGone := c.tunnel != nil && isClosed(c.tunnel.SessionDone())
	// Without IPsec (IKE failed: the server lost our SAs or stopped
	// answering) nothing we send reaches the server's L2TP: no goodbyes.
	ipsecGone := c.ipsec != nil && chanHasValue(c.ipsec.done) || c.charon != nil && isClosed(c.charon.Done())
	if c.linkStarted && (sessionGone || ipsecGone || chanHasValue(c.tunnelDone)) {
		// No session to carry an LCP Terminate-Request: just stop.
		c.linkCancel()
	} else if c.linkStarted && !chanHasValue(c.linkDone) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		if err := c.link.Close(ctx); err != nil {
			c.log.Debug("ppp close", "err", err)
		}
		cancel()
	}
	// Without an established tunnel the server has nothing to tear down
	// (it never told us its tunnel id): stopping the loop is enough.
	if c.tunnel != nil && c.tunnelUp.Load() && !ipsecGone && !chanHasValue(c.tunnelDone) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.tunnel.Close(ctx); err != nil {
			c.log.Debug("l2tp close", "err", err)
		}
		cancel()
	}
	c.stopIPsec()  // Delete payloads for the child and ISAKMP SAs
	c.stopCharon() // charon terminates them, and we unload what we loaded
	c.closing.Store(true)
	if c.cancel != nil {
		c.cancel()
	}
	if c.sock != nil {
		c.sock.conn.Close()
	}
	c.wg.Wait()
	c.err = cause
	if cause != nil {
		c.log.Info("connection ended", "reason", ReasonOf(cause), "err", cause)
	}
	close(c.done)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func chanHasValue(ch chan error) bool {
	select {
	case err := <-ch:
		ch <- err
		return true
	default:
		return false
	}
}

// Close disconnects cleanly and waits until everything is undone. It
// returns nil when the connection was up until Close; calling it again, or
// after the connection failed, returns the same result as Wait.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closeReq) })
	<-c.done
	return c.err
}

// Wait blocks until the connection has ended and returns why (nil after Close).
func (c *Conn) Wait() error {
	<-c.done
	return c.err
}

// Done is closed when the connection has ended and been torn down.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Info describes the connection as it came up.
func (c *Conn) Info() Info {
	info := c.info
	if p := c.ipv6.Load(); p != nil { // IPV6CP may finish after Connect returned
		info.IPv6 = *p
	}
	return info
}

// Stats returns the current counters.
func (c *Conn) Stats() Stats {
	s := c.stats.snapshot()
	if c.tunnel != nil {
		s.L2TPMalformed = c.tunnel.Stats().Malformed
	}
	if c.link != nil {
		s.PPPMalformed = c.link.Stats().Malformed
	}
	if p := c.ipsec; p != nil {
		s.ESPAuthFailed, s.ESPReplayed = p.espAuth.Load(), p.espReplay.Load()
		s.ESPUnknownSPI, s.ESPInvalid = p.espUnknownSPI.Load(), p.espInvalid.Load()
		s.NATKeepalives, s.ChildSARekeys = p.keepalives.Load(), p.rekeys.Load()
	}
	if c.charon != nil {
		s.ChildSARekeys = c.charonRekeys.Load()
	}
	return s
}
