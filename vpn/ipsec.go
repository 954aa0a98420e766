package vpn

// The IPsec layer between L2TP and the socket. L2TP datagrams get an inner
// UDP header (ports 1701 → 1701; in tunnel mode also an inner IPv4 or IPv6
// header)
// and are sealed by the current outbound ESP SA; everything goes to the
// server's port 4500 with RFC 3948 framing. The IKE session (package ike)
// negotiates and rekeys the SAs and tells us, through events, which SAs to
// use. Received ESP is opened in place by the inbound SA its SPI names.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
)

const (
	ikePort  = 500
	nattPort = 4500
	// ipv4HeaderLen is the inner IPv4 header of tunnel mode.
	ipv4HeaderLen = esp.IPv4HeaderLen
	// tunnelModeMTU keeps the server's inner packets within 1400 bytes.
	tunnelModeMTU = 1400 - ipv4HeaderLen - esp.UDPHeaderLen - 6 - 4
	// DefaultNATKeepalive is the NAT keepalive interval (RFC 3948 4).
	DefaultNATKeepalive = 20 * time.Second
)

// ipsecPath is the IPsec state of a connection.
type ipsecPath struct {
	session       *ike.Session
	local, server netip.Addr
	ikeAddr       netip.AddrPort // server:500
	nattAddr      netip.AddrPort // server:4500
	mode          esp.Mode
	inner         esp.Inner // around each L2TP datagram in ESP: 1701 to 1701, and mode's inner IP header

	out atomic.Pointer[esp.SA]
	in  atomic.Pointer[[]*esp.SA] // copy-on-write

	mu       sync.Mutex // guards children and pending
	children []*ike.ChildSA
	// pending children wait for the server's CONNECTED (commit bit): their
	// inbound SA already receives, their outbound is not used yet.
	pending []*ike.ChildSA

	loop   *engine // the session's Run; nil until runIPsec
	cancel context.CancelFunc
	keylog *ike.KeyLog

	espAuth, espReplay, espUnknownSPI, espInvalid, keepalives atomic.Uint64
	rekeys                                                    atomic.Uint64
	// opened: an ESP packet from the server has verified (set once; a
	// load per packet after that).
	opened atomic.Bool

	// work runs a batch's ESP on several cores (espbatch.go); nil: one
	// packet after another. tx belongs to transmit, rx to rxBatch.
	work *datapath.Workers
	tx   sealBatch
	rx   openBatch
}

// startWorkers has the data path seal and open batches on w.
func (p *ipsecPath) startWorkers(w *datapath.Workers) {
	p.work = w
	p.tx.init(p)
	p.rx.init(p)
}

// newIPsecPath is the path between local and server's default ports, with
// its datagrams framed for mode.
func newIPsecPath(local, server netip.Addr, mode esp.Mode) *ipsecPath {
	return &ipsecPath{
		local: local, server: server,
		ikeAddr:  netip.AddrPortFrom(server, ikePort),
		nattAddr: netip.AddrPortFrom(server, nattPort),
		mode:     mode,
		inner:    esp.Inner{Mode: mode, Local: local, Peer: server, LocalPort: esp.L2TPPort, PeerPort: esp.L2TPPort},
	}
}

// newIPsec builds the IKE session and the IPsec state of the connection;
// runIPsec starts it.
func (c *Conn) newIPsec(local netip.Addr) error {
	p := newIPsecPath(local, c.peer.Load().Addr(), c.cfg.ESPMode)
	server := p.server
	if c.cfg.ports != nil {
		p.ikeAddr = netip.AddrPortFrom(server, c.cfg.ports.ike)
		p.nattAddr = netip.AddrPortFrom(server, c.cfg.ports.natt)
	}
	if c.cfg.KeyLogDir != "" {
		kl, err := ike.OpenKeyLog(c.cfg.KeyLogDir, true)
		if err != nil {
			return &Error{Phase: "config", Reason: ReasonConfig, Err: fmt.Errorf("key log directory: %w", err)}
		}
		p.keylog = kl
		c.log.Warn("writing IKE and ESP keys for Wireshark (debug only; the files hold secrets)", "dir", c.cfg.KeyLogDir)
	}
	s, err := ike.NewSession(ike.Config{
		PSK: c.cfg.PSK, IKE: c.cfg.IKEProposals, ESP: c.cfg.ESPProposals, Mode: c.cfg.ESPMode,
		Local: local, Remote: server,
		IKELifetime: c.cfg.IKELifetime, ESPLifetime: c.cfg.ESPLifetime, DPDDelay: c.cfg.DPDDelay,
		RetransmitTimeout: c.cfg.RetransmitTimeout, Retransmits: c.cfg.MaxRetransmits,
		Send: c.ikeSend, Events: c.ikeEvent, Logger: c.log.With("layer", "ike"), KeyLog: p.keylog,
		LocalID: c.cfg.LocalID, RemoteID: c.cfg.RemoteID, Cert: c.cfg.Cert,
		Fragmentation: c.cfg.IKEFragmentation, FragmentSize: c.cfg.IKEFragmentSize,
		Aggressive: c.cfg.Aggressive, PFSAuto: c.cfg.PFSAuto, SHA2Truncbug: c.cfg.SHA2Truncbug,
	})
	if err != nil {
		if p.keylog != nil {
			p.keylog.Close()
		}
		return &Error{Phase: "config", Reason: ReasonConfig, Err: err}
	}
	p.session = s
	if w := datapath.NewCryptoWorkers(); w != nil {
		p.startWorkers(w) // stopped by stopIPsec
	}
	c.ipsec = p
	return nil
}

// runIPsec runs IKE until the first child SA is installed.
func (c *Conn) runIPsec(ctx context.Context) error {
	p := c.ipsec
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.loop = c.startEngine(func() error { return p.session.Run(runCtx) })
	if c.cfg.NATKeepalive >= 0 {
		c.wg.Add(1)
		go c.keepaliveLoop(runCtx)
	}
	select {
	case <-p.session.Up():
		return nil
	case <-p.loop.Done():
		return ikeError(p.loop.Err())
	case e := <-c.icmp:
		return c.unreachable(ctx, e)
	case <-ctx.Done():
		return &Error{Phase: "ike", Reason: ReasonUnreachable, Err: ctx.Err()}
	}
}

// ikeError classifies a failure of the IKE session.
func ikeError(err error) error {
	switch {
	case err == nil:
		return &Error{Phase: "ike", Reason: ReasonLinkLost, Err: errors.New("ike: session ended")}
	case errors.Is(err, ike.ErrNoResponse):
		return &Error{Phase: "ike", Reason: ReasonIKENoResponse, Err: err}
	case errors.Is(err, ike.ErrNoProposalChosen):
		return &Error{Phase: "ike", Reason: ReasonIKENoProposal, Err: err,
			Hint: "choose proposals the server accepts with --ike / --esp"}
	case errors.Is(err, ike.ErrServerIdentity):
		return &Error{Phase: "ike", Reason: ReasonIKEServerIdentity, Err: err}
	case errors.Is(err, ike.ErrAuthentication):
		return &Error{Phase: "ike", Reason: ReasonIKEAuth, Err: err}
	case errors.Is(err, ike.ErrPeerGone):
		return &Error{Phase: "ike", Reason: ReasonLinkLost, Err: err}
	}
	return &Error{Phase: "ike", Reason: ReasonRefused, Err: err}
}

// stopIPsec deletes the SAs at the server and waits for the session.
func (c *Conn) stopIPsec() {
	p := c.ipsec
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
		<-p.loop.Done()
	}
	if p.keylog != nil {
		if err := p.keylog.Close(); err != nil {
			c.log.Warn("key log", "err", err)
		}
	}
	p.work.Close() // batches still in flight finish inline
}

func (c *Conn) ikeSend(msg []byte, natt bool) error {
	if !natt {
		return c.sock.writeTo(msg, c.ipsec.ikeAddr)
	}
	b := make([]byte, 4+len(msg)) // the non-ESP marker is four zero bytes
	copy(b[4:], msg)
	return c.sock.writeTo(b, c.ipsec.nattAddr)
}

// keepaliveLoop sends a NAT keepalive (one 0xFF byte) to port 4500 at the
// configured interval, so a NAT on the path keeps the mapping.
func (c *Conn) keepaliveLoop(ctx context.Context) {
	defer c.wg.Done()
	iv := c.cfg.NATKeepalive
	if iv == 0 {
		iv = DefaultNATKeepalive
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.sock.writeTo([]byte{0xff}, c.ipsec.nattAddr); err != nil {
				c.log.Debug("nat keepalive", "err", err)
			}
		}
	}
}

// ikeEvent runs on the IKE goroutine.
func (c *Conn) ikeEvent(ev ike.Event) {
	p := c.ipsec
	switch ev.Kind {
	case ike.Phase1Up, ike.Phase1Rekeyed:
		i := ev.Phase1
		name := EventIKEPhase1Up
		if ev.Kind == ike.Phase1Rekeyed {
			name = EventIKEPhase1Rekeyed
		}
		c.emit(Event{Event: name, IKE: i.Proposal.String(), NATT: i.NATT, PeerID: i.PeerID, LocalID: i.LocalID, Vendors: i.Vendors,
			LifetimeS: int64(i.Lifetime / time.Second)})
	case ike.ChildInbound:
		p.mu.Lock()
		p.pending = append(p.pending, ev.Child)
		p.publish()
		p.mu.Unlock()
	case ike.ChildUp:
		ch := ev.Child
		p.mu.Lock()
		p.pending = slices.DeleteFunc(p.pending, func(c *ike.ChildSA) bool { return c == ch })
		p.children = append(p.children, ch)
		p.publish()
		p.mu.Unlock()
		if ev.Rekey {
			p.rekeys.Add(1)
		}
		c.emit(Event{Event: EventIKEPhase2Up, ESP: ch.Proposal.String(), Mode: ch.Mode.String(),
			SPIIn: fmt.Sprintf("%08x", ch.In.SPI()), SPIOut: fmt.Sprintf("%08x", ch.Out.SPI()),
			LifetimeS: int64(ch.Lifetime / time.Second), Rekey: ev.Rekey})
	case ike.ChildDown:
		p.mu.Lock()
		gone := func(c *ike.ChildSA) bool { return c == ev.Child }
		p.children = slices.DeleteFunc(p.children, gone)
		p.pending = slices.DeleteFunc(p.pending, gone)
		p.publish()
		p.mu.Unlock()
	}
}

// publish makes the data path use the current children: every inbound SA
// is accepted, the newest outbound SA is used. Called with mu held.
func (p *ipsecPath) publish() {
	in := make([]*esp.SA, 0, len(p.children)+len(p.pending))
	for _, ch := range p.children {
		in = append(in, ch.In)
	}
	for _, ch := range p.pending {
		in = append(in, ch.In)
	}
	p.in.Store(&in)
	if n := len(p.children); n > 0 {
		p.out.Store(p.children[n-1].Out)
	} else {
		p.out.Store(nil)
	}
}

// decap takes a datagram from the server's port 4500 and returns the L2TP
// datagram inside (aliasing d) and its inner source port, or nil when the
// datagram was something else (IKE, keepalive) or was dropped.
func (c *Conn) decap(d []byte) ([]byte, uint16) {
	var t rxTally
	l2tpMsg, sport := c.decapBatched(&t, d, nil)
	c.flushRx(&t)
	return l2tpMsg, sport
}

// verified records, once per received batch, that ESP from the server
// passed its ICV: the server is alive (DPD) and has our keys.
func (p *ipsecPath) verified() {
	p.session.Alive()
	if !p.opened.Load() {
		p.opened.Store(true)
	}
}

// decapBatched is decap for one datagram of a batch: that an ESP packet
// verified goes to t. pre, when not nil, is the datagram opened already on
// the workers (espbatch.go).
func (c *Conn) decapBatched(t *rxTally, d []byte, pre *opened) ([]byte, uint16) {
	p := c.ipsec
	kind, spi := esp.Classify(d)
	switch kind {
	case esp.KindKeepalive:
		p.keepalives.Add(1)
		return nil, 0
	case esp.KindIKE:
		p.session.Input(d[4:], true)
		return nil, 0
	case esp.KindInvalid:
		c.stats.drop(&c.stats.rxMalformed)
		return nil, 0
	}
	var sa *esp.SA
	var payload []byte
	var next byte
	var err error
	if pre != nil && pre.done {
		sa, payload, next, err = pre.sa, pre.payload, pre.next, pre.err
	} else {
		if sa = p.inbound(spi); sa == nil {
			p.espUnknownSPI.Add(1)
			c.stats.rxDropped.Add(1)
			return nil, 0
		}
		payload, next, err = sa.Open(d)
	}
	if err != nil {
		switch {
		case errors.Is(err, esp.ErrAuth):
			p.espAuth.Add(1)
		case errors.Is(err, esp.ErrReplay):
			p.espReplay.Add(1)
		default:
			p.espInvalid.Add(1)
		}
		c.stats.rxDropped.Add(1)
		return nil, 0
	}
	t.espVerified = true
	// The SA's own mode: the configured one, unless the server chose.
	in := p.inner
	in.Mode = sa.Mode()
	l2tpMsg, srcPort, ok := in.Unframe(payload, next)
	if !ok {
		p.drop(c)
		return nil, 0
	}
	return l2tpMsg, srcPort
}

// inbound is the inbound SA with this SPI, or nil.
func (p *ipsecPath) inbound(spi uint32) *esp.SA {
	if in := p.in.Load(); in != nil {
		for _, s := range *in {
			if s.SPI() == spi {
				return s
			}
		}
	}
	return nil
}

func (p *ipsecPath) drop(c *Conn) {
	p.espInvalid.Add(1)
	c.stats.rxDropped.Add(1)
}

const l2tpPort = 1701

// sealHeadroom is what seal needs in front of the L2TP datagram.
func (p *ipsecPath) sealHeadroom(sa *esp.SA) int {
	return esp.UDPHeaderLen + sa.Headroom() + p.innerIPLen()
}

// innerIPLen is the inner IP header of tunnel mode: IPv4 or, over an IPv6
// path, IPv6; 0 in transport mode.
func (p *ipsecPath) innerIPLen() int { return p.inner.IPLen() }

// outerIPLen is the outer IP header the kernel adds: IPv4 or IPv6.
func outerIPLen(server netip.Addr) int {
	if server.Unmap().Is4() {
		return 20
	}
	return 40
}

// seal turns the L2TP datagram buf[off:off+n] into an ESP packet in place
// (headers go into the headroom before off, trailer and ICV after the
// datagram, within cap(buf)). It returns the packet to send to port 4500.
func (c *Conn) seal(buf []byte, off, n int) ([]byte, error) {
	p := c.ipsec
	sa := p.out.Load()
	if sa == nil {
		return nil, errNoSA
	}
	start, nh, err := p.frame(buf, off, n)
	if err != nil {
		return nil, err
	}
	pkt, err := sa.Seal(buf, start, off+n-start, nh)
	if errors.Is(err, esp.ErrSeqExhausted) {
		p.session.Rekey()
	}
	return pkt, err
}

// frame writes the inner UDP header (and in tunnel mode the inner IP
// header) before the L2TP datagram buf[off:off+n] and returns where the
// ESP payload starts and its next header. Safe for concurrent use on
// different buffers.
func (p *ipsecPath) frame(buf []byte, off, n int) (start int, nh byte, err error) {
	return p.inner.Frame(buf, off, n)
}

var errNoSA = errors.New("ipsec: no outbound SA (rekey in progress)")

// sendSealed sends one L2TP datagram through IPsec. For control messages
// and PPP control frames: it allocates.
func (c *Conn) sendSealed(d []byte) error {
	hr := txHeadroom
	buf := make([]byte, hr+len(d)+64)
	copy(buf[hr:], d)
	pkt, err := c.seal(buf, hr, len(d))
	if err != nil {
		return err
	}
	return c.sock.writeTo(pkt, c.ipsec.nattAddr)
}

// ipsecOverhead is the worst-case encapsulation overhead of the current
// outbound SA, for the MTU: outer IPv4 or IPv6 + UDP, ESP header + IV,
// padding, trailer and ICV, [inner IPv4 or IPv6,] inner UDP, L2TP and PPP
// headers.
func (p *ipsecPath) overhead() int {
	sa := p.out.Load()
	if sa == nil {
		return outerIPLen(p.server) + 8 + 8 + 16 + 15 + 2 + 32 + max(p.innerIPLen(), ipv4HeaderLen) + 8 + 6 + 4
	}
	return outerIPLen(p.server) + 8 + sa.Headroom() + sa.Tailroom() + p.innerIPLen() + esp.UDPHeaderLen + 6 + 4
}

// sourceAddr is the local address the kernel would use towards dst (a UDP
// "connect" sends nothing).
func sourceAddr(dst netip.Addr) (netip.Addr, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst.Unmap(), ikePort)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// integrityHint explains a set-up that stalled after Quick Mode (the L2TP
// tunnel got no answer through ESP). With HMAC-SHA2-256 the usual cause is
// a server that truncates it to 96 bits (or one that does not, with
// sha2-truncbug on): either its packets fail our integrity check, or ours
// fail its check and it never answers. Empty when that does not apply.
func (p *ipsecPath) integrityHint(truncbug bool) string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	sha256 := false
	for _, ch := range p.children {
		sha256 = sha256 || ch.Proposal.Integ == esp.HMACSHA256_128
	}
	p.mu.Unlock()
	failed := p.espAuth.Load()
	switch {
	case failed > 0 && !sha256:
		return fmt.Sprintf("%d ESP packets from the server failed their integrity check: the keys differ "+
			"(a server bug, or an SA the server has already replaced)", failed)
	case !sha256 || (failed == 0 && p.opened.Load()):
		return ""
	}
	what := "no ESP packet came back from the server"
	if failed > 0 {
		what = fmt.Sprintf("%d ESP packets from the server failed their integrity check", failed)
	}
	if truncbug {
		return what + " (HMAC-SHA2-256 with 96-bit ICVs, sha2-truncbug on): the server may use RFC 4868's 128 bits: try sha2-truncbug = false"
	}
	return what + " (HMAC-SHA2-256): if the server truncates it to 96 bits, it drops our packets and sends ones we drop: " +
		"then try sha2-truncbug = true, or ESP proposals without sha256"
}
