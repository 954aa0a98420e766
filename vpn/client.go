package vpn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike/vici"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// Client keeps one named VPN connection up. It owns what outlives a single
// connection attempt: the TUN device, the routes and DNS (tun.Host), the
// transmit loop and the hooks. Each attempt (a Conn) starts from a fresh
// socket and source port; after a link loss the client reconnects with
// backoff while the device, routes and DNS stay in place.
type Client struct {
	cfg Config
	log *slog.Logger
	res *resolver // used by one attempt at a time

	cur       atomic.Pointer[Conn] // nil while reconnecting
	closing   atomic.Bool
	txDropped atomic.Uint64
	wg        sync.WaitGroup

	mu         sync.Mutex // guards the fields below
	dev        *tun.Device
	host       hostConfigurer
	net        *Net // proxy mode: the current network stack
	announced  *Net // proxy mode: what OnNet was last given (run's goroutine only)
	state      string
	since      time.Time // when the current connection came up
	reconnects int       // successful reconnects
	attempt    int       // current reconnect attempt, 0 when up
	lastErr    error
	info       Info
	alg        algorithms
	prev       Stats // counters of earlier connections

	closeOnce sync.Once
	closeReq  chan struct{}
	devFail   chan error // the TUN device failed: the client ends
	done      chan struct{}
	err       error
}

// algorithms are what IKE negotiated, from the ike.* events.
type algorithms struct{ ike, esp, mode, natt, localID, peerID string }

// Client states, as status reports them.
const (
	StateConnecting   = "connecting"
	StateUp           = "up"
	StateReconnecting = "reconnecting"
	StateDown         = "down"
)

// Connect brings the connection up and returns once IP traffic can flow
// through the TUN device with its routes and DNS in place, or with an
// *Error saying which phase failed (everything undone). ctx bounds only this
// first set-up. Afterwards the client runs, reconnecting as configured,
// until Close or until it gives up (see Wait).
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The resolvers the host has before we change its DNS.
	res, err := newResolver(cfg.Server, cfg.ResolvConf)
	if err != nil {
		return nil, configError("server", err.Error())
	}
	cl := &Client{cfg: cfg, log: log, res: res, state: StateConnecting,
		closeReq: make(chan struct{}), devFail: make(chan error, 1), done: make(chan struct{})}
	// Attempts report through the client, which adds its own state.
	user := cfg.OnEvent
	cl.cfg.OnEvent = func(ev Event) { cl.attemptEvent(ev, user) }

	c, err := cl.attemptOnce(ctx)
	if err != nil {
		err = interrupted(ctx, err)
		cl.finish(err, nil)
		return nil, err
	}
	if err := cl.connected(c); err != nil {
		cl.finish(err, c)
		return nil, err
	}
	go cl.run()
	return cl, nil
}

// attemptOnce runs one connection attempt.
func (cl *Client) attemptOnce(ctx context.Context) (*Conn, error) {
	server, err := cl.serverFor(ctx)
	if err != nil {
		return nil, err
	}
	first := cl.cfg
	if cl.fallbackPending() {
		// The SCCRQ and one retransmission (at 1 s by default), and time
		// for the answer: a server that answers at all answers that.
		first.sccrqProbe = 5 * cmp.Or(cl.cfg.RetransmitTimeout, l2tp.DefaultRetransmitTimeout) / 2
	}
	c, err := dial(ctx, first, server, cl.attach)
	if err != nil && cl.portFallback(err) {
		cl.emit(Event{Event: EventPortRetry, Server: server.String(), Error: err.Error()})
		cl.log.Info("no answer to the SCCRQ from an ephemeral port; trying again from port 1701", "server", server)
		cl.cfg.LocalPort = l2tpPort // kept for the reconnects
		if cl.cfg.fallbackPort != 0 {
			cl.cfg.LocalPort = cl.cfg.fallbackPort
		}
		c, err = dial(ctx, cl.cfg, server, cl.attach)
		if isAddrInUse(err) {
			err = &Error{Phase: "socket", Reason: ReasonUnreachable, Err: err,
				Hint: "the server did not answer from an ephemeral port and port 1701 is taken (another L2TP client?): free it, or set local-port"}
		}
	}
	if err == nil {
		cl.res.lastGood = server
	}
	return c, cl.cfg.explainAuth(err)
}

// portFallback says whether a failed attempt is one that local-port = auto
// repeats from port 1701: plain L2TP from an ephemeral port, and the server
// never answered the SCCRQ (no ICMP error either: a closed port is not
// helped by another source port).
func (cl *Client) portFallback(err error) bool {
	var e *Error
	return cl.fallbackPending() && errors.As(err, &e) && e.Phase == "l2tp tunnel" && errors.Is(err, l2tp.ErrTimeout)
}

// fallbackPending says whether attempts still start from an ephemeral port
// with port 1701 to fall back to.
func (cl *Client) fallbackPending() bool {
	return cl.cfg.PortFallback && !cl.cfg.IPsec && cl.cfg.LocalPort == 0
}

// isAddrInUse says whether err is a socket that could not bind its port.
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// attemptEvent passes an attempt's events on, keeping what status needs.
// The client itself emits up, reconnecting, disconnecting and down.
func (cl *Client) attemptEvent(ev Event, user func(Event)) {
	cl.mu.Lock()
	switch ev.Event {
	case EventIKEPhase1Up, EventIKEPhase1Rekeyed:
		cl.alg.ike, cl.alg.natt, cl.alg.localID, cl.alg.peerID = ev.IKE, ev.NATT, ev.LocalID, ev.PeerID
	case EventIKEPhase2Up:
		cl.alg.esp, cl.alg.mode = ev.ESP, ev.Mode
	}
	cl.mu.Unlock()
	if user != nil {
		user(ev)
	}
}

func (cl *Client) emit(ev Event) {
	ev.Schema = SchemaVersion
	ev.Time = time.Now()
	if cl.cfg.OnEvent != nil {
		cl.cfg.OnEvent(ev)
	}
}

// attach hands an attempt the TUN device: created with the routes and DNS
// on the first attempt, readdressed on later ones.
func (cl *Client) attach(c *Conn, ipi ppp.IPInfo, peer, ll netip.Addr) (*tun.Device, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	c.lost = cl.lost // before the connection's supervisor starts
	mtu := c.mtu(ipi)
	c.info.MTU = mtu
	c.tunMTU.Store(uint32(mtu))
	if cl.dev != nil && cl.cfg.Mode == ModeProxy {
		return cl.reattachStack(c, ipi, mtu)
	}
	if cl.dev != nil && cl.cfg.Mode == ModeNetns {
		if err := cl.updateProvided(c, ipi, peer, mtu); err != nil {
			return nil, err
		}
		cl.dhcpReconnected(c)
		return cl.dev, nil
	}
	if cl.dev != nil {
		readdress := cl.dev.Readdress
		if cl.cfg.readdress != nil {
			readdress = cl.cfg.readdress
		}
		if err := readdress(ipi.Local, peer, mtu); err != nil {
			return nil, &Error{Phase: "tun", Reason: ReasonHost, Err: err}
		}
		if err := cl.host.UpdateDNS(c.info.DHCP.dnsServers(ipi.DNS)); err != nil {
			cl.log.Warn("updating DNS after the reconnect", "err", err)
		}
		cl.dhcpReconnected(c)
		return cl.dev, nil
	}
	open := cl.openHost
	if cl.cfg.openDevice != nil {
		open = cl.cfg.openDevice
	}
	switch cl.cfg.Mode {
	case ModeProxy:
		open = cl.openStack
	case ModeNetns:
		open = cl.openProvided
	}
	dev, host, err := open(c, ipi, peer, ll, mtu)
	if err != nil {
		return nil, err
	}
	cl.dev, cl.host = dev, host
	cl.wg.Add(1)
	go cl.txLoop(dev)
	return dev, nil
}

// hostConfigurer is what the client changed on the host besides the device
// (routes, DNS): a *tun.Host, or a fake in the package's tests.
type hostConfigurer interface {
	Summary() tun.HostSummary
	UpdateDNS(dns []netip.Addr) error
	Repin(server netip.Addr) (bool, error)
	Close() error
}

// openHost creates the TUN device and applies the routes and DNS (root
// only); on error nothing is left behind.
func (cl *Client) openHost(c *Conn, ipi ppp.IPInfo, peer, ll netip.Addr, mtu int) (*tun.Device, hostConfigurer, error) {
	name := cl.cfg.Interface
	if name == "" {
		name = "l2tp0"
	}
	dev, err := tun.Open(tun.Config{Name: name, MTU: mtu, Local: ipi.Local, Peer: peer, IPv6LinkLocal: ll,
		Logger: cl.log.With("layer", "tun")})
	if err != nil {
		return nil, nil, &Error{Phase: "tun", Reason: ReasonHost, Err: err, Hint: "creating a TUN device needs root or CAP_NET_ADMIN and /dev/net/tun"}
	}
	hc := tun.HostConfig{
		Name: cl.cfg.Name, Interface: name, Server: c.info.Server.Addr(),
		Mode: cl.cfg.Routing, Routes: append(slices.Clone(cl.cfg.Routes), cl.cfg.extraRoutes(c.info, cl.log)...), IPv6: ll.IsValid(),
		DNS: c.info.DHCP.dnsServers(ipi.DNS), Domains: cl.cfg.DNSDomains, Search: c.info.DHCP.search(), DNSMode: cl.cfg.DNSMode,
		StateDir: cl.cfg.StateDir, ResolvConf: cl.cfg.ResolvConf,
		Logger: cl.log.With("layer", "host"),
	}
	host, err := tun.ApplyHost(hc)
	if errors.Is(err, tun.ErrJournalExists) {
		// An earlier run of this connection was killed before it restored
		// the host. Only one process runs a name at a time (the command
		// holds its control socket), so that run is gone: repair first.
		cl.log.Warn("an earlier run of this connection left host changes behind; undoing them first", "name", cl.cfg.Name)
		if _, cerr := tun.Cleanup(cl.cfg.StateDir, cl.cfg.Name, cl.log.With("layer", "host")); cerr != nil {
			dev.Close()
			return nil, nil, &Error{Phase: "routes", Reason: ReasonHost, Err: cerr,
				Hint: "run 'l2tpvpn disconnect --cleanup " + cl.cfg.Name + "' and check the routes"}
		}
		host, err = tun.ApplyHost(hc)
	}
	if err != nil {
		dev.Close()
		return nil, nil, &Error{Phase: "routes", Reason: ReasonHost, Err: err, Hint: "check the route and DNS settings"}
	}
	return dev, host, nil
}

// connected makes c the current connection, announces it and runs the up
// hook. Its error, when the hook failed and HookFailureDisconnect is set,
// must end the client.
func (cl *Client) connected(c *Conn) error {
	cl.mu.Lock()
	rec := cl.state == StateReconnecting
	if rec {
		cl.reconnects++
	}
	cl.state, cl.since, cl.attempt, cl.info = StateUp, time.Now(), 0, c.Info()
	hs := cl.host.Summary()
	reconnects, n, dev := cl.reconnects, cl.net, ""
	if cl.dev != nil {
		dev = cl.dev.Name()
	}
	cl.mu.Unlock()
	cl.cur.Store(c)
	if err := cl.readyChecks(c, n, dev); err != nil { // through the data path: after cur is set
		return err
	}
	cl.announceNet(n)
	info := c.Info()
	cl.log.Info("up", "interface", info.Interface, "ip", info.IP, "routing", hs.Mode, "ipv6", hs.IPv6, "dns_via", hs.DNSVia)
	cl.emit(Event{Event: EventUp, Interface: info.Interface, IP: info.IP.String(), Peer: addrString(info.Peer),
		DNS: addrStrings(info.DNS), MTU: info.MTU, Routes: hs.Routes, Auth: authName(info.Auth),
		Routing: hs.Mode, IPv6Mode: hs.IPv6, DNSVia: hs.DNSVia, Reconnects: reconnects, ElapsedMS: info.UpAfter.Milliseconds(),
		Proxy: cl.proxyListen()})
	err := cl.hook("up", cl.cfg.UpHook, info, hs, reconnects)
	if err == nil || !cl.cfg.HookFailureDisconnect {
		return nil
	}
	return &Error{Phase: "up hook", Reason: ReasonHost, Err: fmt.Errorf("failed: %w", err),
		Hint: `hook-failure is disconnect: fix the up hook (its output is in the hook event and the log), or set hook-failure = "warn"`}
}

// run watches the current connection and reconnects after a loss.
func (cl *Client) run() {
	go cl.watchNetwork()
	for {
		c := cl.cur.Load()
		select {
		case <-cl.closeReq:
			cl.finish(nil, c)
			return
		case err := <-cl.devFail:
			cl.finish(err, c)
			return
		case <-c.Done():
		}
		cause := c.Wait()
		cl.retire(c)
		if !cl.cfg.Reconnect || !retryable(cause) {
			cl.finish(cause, nil)
			return
		}
		next, err := cl.reconnect(cause)
		if err != nil {
			cl.finish(err, nil)
			return
		}
		if next == nil { // closed while reconnecting
			cl.finish(nil, nil)
			return
		}
		if err := cl.connected(next); err != nil {
			cl.finish(err, next)
			return
		}
	}
}

// lost is told by the current connection that it failed, before its
// teardown (which may retransmit goodbyes for seconds): status stops
// saying "up" at once.
func (cl *Client) lost(cause error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.state != StateUp {
		return
	}
	cl.state, cl.lastErr = StateDown, cause
	if cl.cfg.Reconnect && retryable(cause) {
		cl.state = StateReconnecting
	}
}

// retire takes an ended connection out of the data path, keeping its
// counters.
func (cl *Client) retire(c *Conn) {
	cl.cur.Store(nil)
	st := c.Stats()
	cl.mu.Lock()
	cl.prev = addStats(cl.prev, st)
	cl.mu.Unlock()
}

// reconnect tries until a connection is up, the limit is reached, an error
// that a retry cannot fix happens, or Close is called (nil, nil).
func (cl *Client) reconnect(cause error) (*Conn, error) {
	delay := cl.cfg.ReconnectDelay
	for attempt := 1; ; attempt++ {
		if max := cl.cfg.ReconnectAttempts; max > 0 && attempt > max {
			return nil, &Error{Phase: "link", Reason: ReasonLinkLost,
				Err:  fmt.Errorf("gave up reconnecting after %d attempts: %w", max, cause),
				Hint: "raise reconnect-attempts (0: no limit) or check the server"}
		}
		d := jitter(delay)
		cl.mu.Lock()
		cl.state, cl.attempt, cl.lastErr = StateReconnecting, attempt, cause
		cl.mu.Unlock()
		cl.log.Info("reconnecting", "attempt", attempt, "delay", d.Round(time.Millisecond), "reason", cause)
		cl.emit(Event{Event: EventReconnecting, Attempt: attempt, DelayMS: d.Milliseconds(), Reason: ReasonOf(cause).String(), Error: cause.Error()})
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-cl.closeReq:
			t.Stop()
			return nil, nil
		case err := <-cl.devFail:
			t.Stop()
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-cl.closeReq:
				cancel()
			case <-ctx.Done():
			}
		}()
		c, err := cl.attemptOnce(ctx)
		cancel()
		if err == nil {
			return c, nil
		}
		if isClosed(cl.closeReq) {
			return nil, nil
		}
		if !retryable(err) {
			return nil, err
		}
		cause = err
		delay = min(2*delay, cl.cfg.ReconnectMaxDelay)
	}
}

// retryable says whether another attempt may succeed: not after bad
// settings, host failures or credentials the server rejected.
func retryable(err error) bool {
	switch ReasonOf(err) {
	case ReasonNone, ReasonConfig, ReasonHost, ReasonAuth, ReasonIKEAuth, ReasonIKEServerIdentity, ReasonInternal, ReasonInterrupted:
		return false
	case ReasonIPsecUnavailable:
		// charon may be restarting; it will not learn IKEv1 or kernel ESP.
		return errors.Is(err, vici.ErrNoSocket)
	}
	return true
}

// jitter spreads d by ±20% so many clients of one restarted server do not
// come back in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// deviceFailed ends the client: the TUN device can no longer be read, so
// nothing the host sends would leave through the tunnel any more (staying
// "up" would black-hole it). Called by the transmit loop, which then ends.
func (cl *Client) deviceFailed(err error) {
	cl.log.Error("the TUN device failed; ending the connection", "err", err)
	select {
	case cl.devFail <- &Error{Phase: "tun", Reason: ReasonHost, Err: fmt.Errorf("tun: read failed: %w", err),
		Hint: "the TUN device failed or was removed (check 'ip link'); connect again"}:
	default:
	}
}

// finish ends the client: the down hook, the connection's clean close (if
// one is up), then routes, DNS and the device. cause is nil for a requested
// disconnect.
func (cl *Client) finish(cause error, c *Conn) {
	cl.mu.Lock()
	info, hs := cl.info, tun.HostSummary{}
	if cl.host != nil {
		hs = cl.host.Summary()
	}
	hadDev := cl.dev != nil
	reconnects := cl.reconnects
	cl.mu.Unlock()
	if hadDev {
		cl.hook("down", cl.cfg.DownHook, info, hs, reconnects)
	}
	if cause == nil {
		cl.emit(Event{Event: EventDisconnect})
	}
	if c != nil {
		c.Close()
		cl.retire(c)
	}
	cl.announceNet(nil)
	cl.closing.Store(true)
	cl.mu.Lock()
	host, dev := cl.host, cl.dev
	cl.state = StateDown
	cl.mu.Unlock()
	if host != nil {
		if err := host.Close(); err != nil {
			cl.log.Warn("restoring routes and DNS", "err", err)
		}
	}
	if dev != nil {
		if err := dev.Close(); err != nil {
			cl.log.Warn("restoring the host", "err", err)
		}
	}
	cl.wg.Wait()
	cl.err = cause
	st := cl.Stats()
	ev := Event{Event: EventDown, Reason: ReasonOf(cause).String(), Stats: &st, Reconnects: reconnects}
	if cause != nil {
		ev.Error = cause.Error()
		cl.log.Info("down", "reason", ReasonOf(cause), "err", cause)
	} else {
		cl.log.Info("down", "reason", "disconnected")
	}
	cl.emit(ev)
	close(cl.done)
}

// Close disconnects cleanly and waits until everything is undone. It
// returns nil when the client was running until Close; otherwise, like
// Wait, why it ended.
func (cl *Client) Close() error {
	cl.closeOnce.Do(func() { close(cl.closeReq) })
	<-cl.done
	return cl.err
}

// Wait blocks until the client has ended and returns why (nil after Close).
func (cl *Client) Wait() error {
	<-cl.done
	return cl.err
}

// Done is closed when the client has ended and the host is restored.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Info describes the current (or last) connection.
func (cl *Client) Info() Info {
	if c := cl.cur.Load(); c != nil {
		return c.Info()
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.info
}

// Stats are the counters over all connections of this client.
func (cl *Client) Stats() Stats {
	cl.mu.Lock()
	s := cl.prev
	cl.mu.Unlock()
	if c := cl.cur.Load(); c != nil {
		s = addStats(s, c.Stats())
	}
	s.TxErrors += cl.txDropped.Load()
	return s
}

// addStats sums two sets of counters field by field.
func addStats(a, b Stats) Stats {
	return Stats{
		TxPackets: a.TxPackets + b.TxPackets, TxBytes: a.TxBytes + b.TxBytes,
		RxPackets: a.RxPackets + b.RxPackets, RxBytes: a.RxBytes + b.RxBytes,
		TxErrors: a.TxErrors + b.TxErrors, RxDropped: a.RxDropped + b.RxDropped,
		RxMalformed: a.RxMalformed + b.RxMalformed, RxForeign: a.RxForeign + b.RxForeign,
		RxWrongSession: a.RxWrongSession + b.RxWrongSession, RxNotReady: a.RxNotReady + b.RxNotReady,
		RxQueueFull: a.RxQueueFull + b.RxQueueFull, RxErrors: a.RxErrors + b.RxErrors, MSSClamped: a.MSSClamped + b.MSSClamped,
		RxMPPE: a.RxMPPE + b.RxMPPE, TxMPPEBlocked: a.TxMPPEBlocked + b.TxMPPEBlocked, L2TPMalformed: a.L2TPMalformed + b.L2TPMalformed,
		PPPMalformed: a.PPPMalformed + b.PPPMalformed, ESPAuthFailed: a.ESPAuthFailed + b.ESPAuthFailed,
		ESPReplayed: a.ESPReplayed + b.ESPReplayed, ESPUnknownSPI: a.ESPUnknownSPI + b.ESPUnknownSPI,
		ESPInvalid: a.ESPInvalid + b.ESPInvalid, NATKeepalives: a.NATKeepalives + b.NATKeepalives,
		ChildSARekeys: a.ChildSARekeys + b.ChildSARekeys,
	}
}
