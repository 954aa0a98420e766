package ike

// The test network of the Responder tests: our own initiator (Session)
// clients talk to a Responder through the real wire bytes, across a
// simulated NAT that maps each client's ports 500 and 4500 to public ones.
// Everything runs in a testing/synctest bubble.

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

var (
	srvAddr = netip.MustParseAddr("198.51.100.1")
	srv500  = netip.AddrPortFrom(srvAddr, 500)
	srv4500 = netip.AddrPortFrom(srvAddr, 4500)
	natAddr = netip.MustParseAddr("203.0.113.77") // the clients' NAT
)

// srvEvent is a Responder callback.
type srvEvent struct {
	kind   string // "up", "down", "gone"
	child  ResponderChild
	peer   netip.AddrPort
	reason string
}

type srvNet struct {
	t      *testing.T
	r      *Responder
	log    *logRecorder
	events chan srvEvent
	cancel context.CancelFunc

	mu      sync.Mutex
	clients map[netip.AddrPort]*srvClient // by each public mapping
	lost    int                           // messages to no client
	tap     func(c *srvClient, natt bool, b []byte) bool
}

// setTap makes f see each message of the Responder's to a client first;
// f returning false holds it back (f may deliver it later with c.s.Input).
func (n *srvNet) setTap(f func(c *srvClient, natt bool, b []byte) bool) {
	n.mu.Lock()
	n.tap = f
	n.mu.Unlock()
}

type srvClient struct {
	n               *srvNet
	s               *Session
	pub500, pub4500 netip.AddrPort
	events          chan Event
	cancel          context.CancelFunc
	mute            atomic.Bool // the client vanished: nothing in or out
}

// newSrvNet starts a Responder; cfg needs only the knobs of the test.
func newSrvNet(t *testing.T, cfg ResponderConfig) *srvNet {
	t.Helper()
	n := &srvNet{t: t, log: &logRecorder{}, events: make(chan srvEvent, 256), clients: map[netip.AddrPort]*srvClient{}}
	if cfg.PSK.IsZero() && cfg.PSKFor == nil {
		cfg.PSK = secret.New(testPSK)
	}
	cfg.Send = n.deliver
	cfg.Logger = slog.New(n.log)
	cfg.OnChildSA = func(c ResponderChild) { n.event(srvEvent{kind: "up", child: c}) }
	cfg.OnChildDeleted = func(c ResponderChild) { n.event(srvEvent{kind: "down", child: c}) }
	cfg.OnPeerGone = func(p netip.AddrPort, why string) { n.event(srvEvent{kind: "gone", peer: p, reason: why}) }
	r, err := NewResponder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.r = r
	ctx, cancel := context.WithCancel(t.Context())
	n.cancel = cancel
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() {
		n.mu.Lock()
		cs := make([]*srvClient, 0, len(n.clients))
		for _, c := range n.clients {
			cs = append(cs, c)
		}
		n.mu.Unlock()
		for _, c := range cs {
			c.stop()
		}
		cancel()
		<-done
	})
	return n
}

func (n *srvNet) event(e srvEvent) {
	select {
	case n.events <- e:
	default:
		n.t.Errorf("server event queue full")
	}
}

// deliver is the Responder's Send: through the NAT to the client.
func (n *srvNet) deliver(to netip.AddrPort, natt bool, b []byte) error {
	n.mu.Lock()
	c := n.clients[to]
	if c == nil {
		n.lost++
	}
	tap := n.tap
	n.mu.Unlock()
	if c == nil || c.mute.Load() {
		return nil
	}
	if natt != (to == c.pub4500) {
		n.t.Errorf("responder sent to %v with natt=%v", to, natt)
	}
	if tap != nil && !tap(c, natt, b) {
		return nil
	}
	c.s.Input(b, natt)
	return nil
}

// client starts a Session behind the NAT at public ports p500 and p4500.
func (n *srvNet) client(cfg Config, p500, p4500 uint16) *srvClient {
	n.t.Helper()
	c := &srvClient{n: n, pub500: netip.AddrPortFrom(natAddr, p500), pub4500: netip.AddrPortFrom(natAddr, p4500),
		events: make(chan Event, 256)}
	if cfg.PSK.IsZero() {
		cfg.PSK = secret.New(testPSK)
	}
	if cfg.IKE == nil {
		cfg.IKE = DefaultIKEProposals()
	}
	if cfg.ESP == nil {
		cfg.ESP = DefaultESPProposals()
	}
	if !cfg.Local.IsValid() {
		cfg.Local = netip.MustParseAddr("192.168.1.10")
	}
	cfg.Remote = srvAddr
	cfg.Send = func(msg []byte, natt bool) error {
		if c.mute.Load() {
			return nil
		}
		from, local := c.pub500, srv500
		if natt {
			from, local = c.pub4500, srv4500
		}
		n.r.Input(from, local, natt, msg)
		return nil
	}
	cfg.Events = func(e Event) {
		select {
		case c.events <- e:
		default:
			n.t.Errorf("client event queue full")
		}
	}
	s, err := NewSession(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	c.s = s
	n.mu.Lock()
	n.clients[c.pub500], n.clients[c.pub4500] = c, c
	n.mu.Unlock()
	ctx, cancel := context.WithCancel(n.t.Context())
	c.cancel = cancel
	go func() { _ = s.Run(ctx) }()
	return c
}

// stop ends the client's session (it deletes its SAs unless muted).
func (c *srvClient) stop() {
	c.cancel()
	<-c.s.Done()
}

// event waits (in fake time) for the client's next event of kind k.
func (c *srvClient) event(k EventKind, within time.Duration) Event {
	c.n.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-c.events:
			if e.Kind == k {
				return e
			}
		case <-c.s.Done():
			c.n.t.Fatalf("client session ended waiting for event %d: %v", k, c.s.Err())
		case <-deadline:
			c.n.t.Fatalf("client: no event %d within %s", k, within)
		}
	}
}

// failed waits for the client's session to end and returns its error.
func (c *srvClient) failed(within time.Duration) error {
	c.n.t.Helper()
	select {
	case <-c.s.Done():
		return c.s.Err()
	case <-time.After(within):
		c.n.t.Fatalf("client session still running after %s", within)
		return nil
	}
}

// next waits for the server's next event of kind k.
func (n *srvNet) next(kind string, within time.Duration) srvEvent {
	n.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-n.events:
			if e.kind == kind {
				return e
			}
		case <-deadline:
			n.t.Fatalf("server: no %q event within %s", kind, within)
		}
	}
}

// none fails if a server event of kind arrives within d.
func (n *srvNet) none(kind string, d time.Duration) {
	n.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-n.events:
			if e.kind == kind {
				n.t.Fatalf("unexpected server %q event: %+v", kind, e)
			}
		case <-deadline:
			return
		}
	}
}

// checkPair checks that the client's pair and the server's are the two
// ends of one child SA: same SPIs crosswise, and packets sealed by either
// side open at the other, so both derived the same keys.
func checkPair(t *testing.T, c *ChildSA, s ResponderChild) {
	t.Helper()
	if c.Out.SPI() != s.SPIIn || c.In.SPI() != s.SPIOut {
		t.Fatalf("SPIs: client in %08x out %08x, server in %08x out %08x", c.In.SPI(), c.Out.SPI(), s.SPIIn, s.SPIOut)
	}
	if c.Mode != s.Mode || c.Proposal != s.Proposal || c.Encap != s.Encap {
		t.Fatalf("client %v %v encap %d, server %v %v encap %d", c.Proposal, c.Mode, c.Encap, s.Proposal, s.Mode, s.Encap)
	}
	in, out, err := s.NewSAs(nil)
	if err != nil {
		t.Fatal(err)
	}
	nh := byte(17)
	if s.Mode == esp.Tunnel {
		nh = 4
	}
	checkESP(t, "client to server", c.Out, in, nh)
	checkESP(t, "server to client", out, c.In, nh)
}

// logged counts the Responder's log records of level lv containing msg.
func (n *srvNet) logged(lv slog.Level, msg string) int { return n.log.count(lv, msg) }

// noSecret fails if any log record (message or attribute) holds secret.
func (n *srvNet) noSecret(secretText string) {
	n.t.Helper()
	n.log.mu.Lock()
	defer n.log.mu.Unlock()
	for _, r := range n.log.recs {
		text := r.Message
		r.Attrs(func(a slog.Attr) bool { text += " " + a.String(); return true })
		if strings.Contains(text, secretText) {
			n.t.Fatalf("log leaks a secret: %s", text)
		}
	}
}
