package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Net is the tunnel side: an in-process network stack (vpn adapts
// *netstack.Net to it). Addresses are IP literals; names go through
// LookupHost.
type Net interface {
	// DialContext dials "tcp" or "udp"; address is "IP:port". LookupHost
	// resolves through the tunnel's DNS servers only. Ping does one ICMP
	// echo round trip.
	CheckNet
	// ListenTCP listens on the tunnel address (reverse forwards).
	ListenTCP(addr netip.AddrPort) (net.Listener, error)
	// ListenUDP opens a UDP socket on the tunnel side (UDP ASSOCIATE
	// relays, reverse UDP forwards).
	ListenUDP(addr netip.AddrPort) (net.PacketConn, error)
	// LocalAddr is our tunnel address.
	LocalAddr() netip.Addr
}

// Config configures a Proxy. The zero value of each limit picks its
// default.
type Config struct {
	Listen      string        // SOCKS5 and HTTP on one TCP port, e.g. "127.0.0.1:1080"; "" = none
	User        string        // RFC 1929 / HTTP Basic user; "" = no authentication
	Password    secret.Secret // never logged
	Forwards    []Forward     // ParseForward
	Reverses    []Reverse     // ParseReverse
	MaxConns    int           // concurrent proxied connections and forwarded flows; 0 = 256
	IdleTimeout time.Duration // 0 = 5 min
	DialTimeout time.Duration // 0 = 15 s
	Logger      *slog.Logger
}

// Defaults of the zero Config fields.
const (
	DefaultMaxConns    = 256
	DefaultIdleTimeout = 5 * time.Minute
	DefaultDialTimeout = 15 * time.Second
)

// Reasons a request is refused: the keys of Stats.Refused.
const (
	ReasonLimit        = "connection limit reached"
	ReasonAuth         = "authentication failed"
	ReasonNotConnected = "VPN not connected"
	ReasonBadRequest   = "bad request"
	ReasonResolve      = "name not resolved"
	ReasonDial         = "destination did not answer"
)

// refusalLogEvery is how often a refusal with the same reason is logged.
const refusalLogEvery = time.Minute

// Stats counts what the proxy did since New.
type Stats struct {
	Accepted     uint64            // connections and UDP flows accepted on every listener
	Refused      map[string]uint64 // refused requests by reason (the Reason constants)
	Active       int               // connections and flows holding a slot of MaxConns
	BytesToVPN   uint64            // payload bytes sent into the tunnel
	BytesFromVPN uint64            // payload bytes received from the tunnel
}

// generation is one tunnel stack: SetNet starts a new one and ends the
// flows of the old one by cancelling its context.
type generation struct {
	n         Net
	ctx       context.Context
	cancel    context.CancelFunc
	transport *http.Transport // absolute-URI requests, dialling through n
	closers   []io.Closer     // reverse listeners on n; guarded by Proxy.mu
}

// end cancels g's flows and closes its listeners before returning, so a
// new generation on the same stack can bind the same tunnel ports.
func (g *generation) end() {
	g.cancel()
	for _, c := range g.closers {
		_ = c.Close()
	}
	g.closers = nil
	g.transport.CloseIdleConnections()
}

// Proxy is the set of listeners. Create it with New.
type Proxy struct {
	cfg Config
	log *slog.Logger

	ln                     net.Listener     // SOCKS5 and HTTP; nil without Config.Listen
	fwdTCP                 []net.Listener   // per TCP forward, in order of Config.Forwards
	fwdUDP                 []net.PacketConn // per UDP forward
	fwdTCPSpec, fwdUDPSpec []Forward

	httpLn  *chanListener
	httpSrv *http.Server

	sem chan struct{} // a slot per active connection or flow

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	gen    atomic.Pointer[generation]

	mu         sync.Mutex // guards the fields below
	serving    bool
	closed     bool
	refused    map[string]uint64
	refusedLog map[string]time.Time

	accepted, toVPN, fromVPN atomic.Uint64
	active                   atomic.Int64
	closeOnce                sync.Once
}

// New binds every host-side listener (so bad addresses and ports in use
// fail at once, naming the setting) and returns the proxy; Serve runs it.
func New(cfg Config) (*Proxy, error) {
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.DialTimeout < 0 {
		return nil, errors.New("proxy: negative limit in configuration")
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.User == "" && !cfg.Password.IsZero() {
		return nil, errors.New("proxy: a proxy password is set without a user")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		cfg:        cfg,
		log:        log,
		sem:        make(chan struct{}, cfg.MaxConns),
		refused:    make(map[string]uint64),
		refusedLog: make(map[string]time.Time),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if err := p.bind(); err != nil {
		p.closeListeners()
		p.cancel()
		return nil, err
	}
	if p.ln != nil {
		if ap := addrPortOf(p.ln.Addr()); cfg.User == "" && !ap.Addr().IsLoopback() {
			log.Warn("proxy: listening beyond loopback without authentication: anyone who reaches the port can use the VPN",
				"listen", p.ln.Addr().String())
		}
		p.httpLn = newChanListener(p.ln.Addr())
		p.httpSrv = p.newHTTPServer()
	}
	return p, nil
}

func (p *Proxy) bind() error {
	var lc net.ListenConfig
	if p.cfg.Listen != "" {
		ln, err := lc.Listen(p.ctx, "tcp", p.cfg.Listen)
		if err != nil {
			return fmt.Errorf("proxy: listen %q: %w", p.cfg.Listen, err)
		}
		p.ln = ln
	}
	for _, f := range p.cfg.Forwards {
		switch f.Proto {
		case "tcp":
			ln, err := lc.Listen(p.ctx, "tcp", f.Listen.String())
			if err != nil {
				return fmt.Errorf("proxy: forward %q: %w", f.String(), err)
			}
			p.fwdTCP, p.fwdTCPSpec = append(p.fwdTCP, ln), append(p.fwdTCPSpec, f)
		case "udp":
			pc, err := lc.ListenPacket(p.ctx, "udp", f.Listen.String())
			if err != nil {
				return fmt.Errorf("proxy: forward %q: %w", f.String(), err)
			}
			p.fwdUDP, p.fwdUDPSpec = append(p.fwdUDP, pc), append(p.fwdUDPSpec, f)
		default:
			return fmt.Errorf("proxy: forward %q: protocol must be tcp or udp", f.String())
		}
	}
	for _, r := range p.cfg.Reverses {
		if r.Proto != "tcp" && r.Proto != "udp" {
			return fmt.Errorf("proxy: reverse %q: protocol must be tcp or udp", r.String())
		}
	}
	return nil
}

// Addr is the SOCKS5/HTTP listener's address (nil without Config.Listen).
func (p *Proxy) Addr() net.Addr {
	if p.ln == nil {
		return nil
	}
	return p.ln.Addr()
}

// SetNet swaps the tunnel side (after a reconnect the stack is new): the
// established flows of the old one end, the host-side listeners stay, and
// reverse forwards listen again on the new stack. With nil, requests are
// refused with "VPN not connected".
func (p *Proxy) SetNet(n Net) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	var g *generation
	if n != nil {
		g = &generation{n: n}
		g.ctx, g.cancel = context.WithCancel(p.ctx)
		g.transport = p.newTransport(g)
	}
	if old := p.gen.Swap(g); old != nil {
		old.end()
	}
	if g != nil {
		p.startReverses(g)
	}
}

// current is the tunnel generation in use, or nil when not connected.
func (p *Proxy) current() *generation { return p.gen.Load() }

// Serve accepts on every listener until ctx ends or Close is called, then
// closes the proxy. It returns nil after Close and ctx's error otherwise.
func (p *Proxy) Serve(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if p.serving {
		p.mu.Unlock()
		return errors.New("proxy: Serve called twice")
	}
	p.serving = true
	if p.ln != nil {
		p.goTracked(func() { p.acceptMain() })
		p.goTracked(func() { _ = p.httpSrv.Serve(p.httpLn) })
	}
	for i, ln := range p.fwdTCP {
		f := p.fwdTCPSpec[i]
		p.goTracked(func() { p.serveTCPForward(nil, ln, f.String(), p.forwardDialer(f)) })
	}
	for i, pc := range p.fwdUDP {
		f := p.fwdUDPSpec[i]
		p.goTracked(func() { p.serveUDPForward(nil, pc, f.String(), p.forwardDialer(f)) })
	}
	p.mu.Unlock()

	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.ctx.Done():
	}
	p.Close()
	return err
}

// goTracked runs f in a goroutine that Close waits for.
func (p *Proxy) goTracked(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// enter counts a goroutine that the proxy did not start (an HTTP handler)
// in the set Close waits for; false once the proxy is closed. The caller
// calls p.wg.Done when it returns.
func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// Close stops every listener and ends every flow. It is idempotent.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.cancel()
		p.mu.Lock()
		if g := p.gen.Swap(nil); g != nil {
			g.end()
		}
		p.mu.Unlock()
		p.closeListeners()
		if p.httpSrv != nil {
			_ = p.httpSrv.Close()
		}
		p.wg.Wait()
	})
	return nil
}

func (p *Proxy) closeListeners() {
	if p.ln != nil {
		_ = p.ln.Close()
	}
	for _, ln := range p.fwdTCP {
		_ = ln.Close()
	}
	for _, pc := range p.fwdUDP {
		_ = pc.Close()
	}
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	s := Stats{
		Accepted:     p.accepted.Load(),
		Active:       int(p.active.Load()),
		BytesToVPN:   p.toVPN.Load(),
		BytesFromVPN: p.fromVPN.Load(),
		Refused:      make(map[string]uint64),
	}
	p.mu.Lock()
	for k, v := range p.refused {
		s.Refused[k] = v
	}
	p.mu.Unlock()
	return s
}

// acquire takes a slot of MaxConns without waiting.
func (p *Proxy) acquire() bool {
	select {
	case p.sem <- struct{}{}:
		p.active.Add(1)
		return true
	default:
		return false
	}
}

func (p *Proxy) release() {
	p.active.Add(-1)
	<-p.sem
}

// refuse counts a refused request and logs it at info, once per reason per
// refusalLogEvery. attrs describe the request; never pass a secret.
func (p *Proxy) refuse(reason string, attrs ...any) {
	now := time.Now()
	p.mu.Lock()
	p.refused[reason]++
	last, seen := p.refusedLog[reason]
	logIt := !seen || now.Sub(last) >= refusalLogEvery
	if logIt {
		p.refusedLog[reason] = now
	}
	p.mu.Unlock()
	if logIt {
		p.log.Info("proxy: request refused", append([]any{"reason", reason}, attrs...)...)
	}
}

// acceptMain accepts on the SOCKS5/HTTP port and tells the two apart by
// the first byte: 0x05 is a SOCKS5 greeting, anything else is HTTP.
func (p *Proxy) acceptMain() {
	var backoff time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Debug("proxy: accept", "err", err)
			if !p.acceptBackoff(&backoff) {
				return
			}
			continue
		}
		backoff = 0
		p.accepted.Add(1)
		p.goTracked(func() { p.handleMain(c) })
	}
}

func (p *Proxy) handleMain(c net.Conn) {
	slot := p.acquire()
	_ = c.SetReadDeadline(time.Now().Add(p.cfg.DialTimeout))
	br := bufio.NewReaderSize(c, 1024)
	first, err := br.Peek(1)
	if err != nil {
		if slot {
			p.release()
		}
		_ = c.Close()
		return
	}
	if first[0] == socksVersion {
		defer c.Close()
		if slot {
			defer p.release()
		}
		p.serveSOCKS(c, br, slot)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	hc := &httpConn{Conn: c, r: br, slot: slot}
	if slot {
		hc.release = p.release
	}
	if !p.httpLn.deliver(hc) {
		_ = hc.Close()
	}
}

// acceptBackoff waits after a failed Accept (out of file descriptors, for
// one), from 5 ms doubling up to 1 s; false when the proxy closed.
func (p *Proxy) acceptBackoff(d *time.Duration) bool {
	*d = min(max(2**d, 5*time.Millisecond), time.Second)
	t := time.NewTimer(*d)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
