package vpn

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

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
	crypt        mppeLink // c.link, as the data path sees MPPE (vpn/mppe.go)
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
	tunMTU                    atomic.Uint32  // the device's MTU once attached: TCP MSS clamping
	up                        atomic.Bool    // set-up finished: ICMP errors no longer end the attempt
	icmp                      chan icmpError // an ICMP error from the server during set-up

	dhcpWait atomic.Pointer[dhcpWait] // a DHCPINFORM under way (dhcpinform.go)

	stats connStats

	// The running control loops (nil until started).
	tunnelLoop *engine
	linkLoop   *engine
	cancel     context.CancelFunc // stops the tunnel loop
	linkCancel context.CancelFunc // stops the PPP loop without a Terminate
	wg         sync.WaitGroup

	attach  attachFunc
	failReq chan error
	// lost, if set (by the client, when it attaches), is told why the
	// connection failed as soon as that is known, before the teardown.
	lost func(cause error)

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
	WINS      []netip.Addr // NBNS servers from IPCP (RFC 1877)
	MTU       int
	Routes    []netip.Prefix
	Auth      ppp.AuthMethod
	MPPE      string // "mppe-128 stateless" etc.; "" without MPPE
	Tunnel    l2tp.TunnelInfo
	Session   l2tp.SessionInfo
	IPv6      netip.Addr
	UpAfter   time.Duration
	Source    netip.Addr // our address on the path to the server
	DHCP      *DHCPInfo  // the answer to our DHCPINFORM, nil without one
}

type atomicID struct{ v atomic.Uint32 }

func (a *atomicID) Load16() uint16    { return uint16(a.v.Load()) }
func (a *atomicID) Store16(id uint16) { a.v.Store(uint32(id)) }

// dial runs one connection attempt: fresh socket, IKE, L2TP tunnel and
// session, PPP, then attach for the device. It returns once IP traffic can
// flow, or with an *Error saying which phase failed (everything undone).
// ctx bounds only the set-up; afterwards the connection runs until Close or
// a failure (see Wait).
func dial(ctx context.Context, cfg Config, server netip.AddrPort, attach attachFunc) (*Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg: cfg, log: log, start: time.Now(), attach: attach,
		closeReq: make(chan struct{}), done: make(chan struct{}), failReq: make(chan error, 1),
		icmp: make(chan icmpError, 1),
	}
	if err := c.setup(ctx, server); err != nil {
		c.teardown(err)
		return nil, err
	}
	// Up: DPD, HELLO and LCP echo judge the path from now on. ICMP
	// reports would only make a send or receive fail now and then.
	c.up.Store(true)
	if err := c.sock.setRecvErr(false); err != nil {
		c.log.Debug("ICMP error reports stay on", "err", err)
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

func (c *Conn) pppEvent(ev ppp.Event) {
	switch ev.Kind {
	case "lcp.up":
		c.lcpUp.Store(true)
		c.log.Info("ppp lcp up")
		c.emit(Event{Event: EventLCPUp})
	case "auth.waiting":
		c.log.Info(AuthWaitLine, "method", authName(ev.Auth))
		c.emit(Event{Event: EventAuthWait, Auth: authName(ev.Auth), Message: AuthWaitLine})
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
			if dev := c.dev.Load(); dev != nil && c.cfg.Mode == ModeTUN { // the stack has no link-local
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
