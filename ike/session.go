package ike

// Session is the IKEv1 initiator: one goroutine (Run) owns all state and is
// driven by received messages, timers and Close. It negotiates an ISAKMP SA
// with Main Mode and pre-shared key (RFC 2409 5.4), then ESP SAs with Quick
// Mode (5.5), always UDP-encapsulated (RFC 3947/3948): the NAT-D hash of our
// own address is deliberately wrong, so the server believes we are behind a
// NAT and floats to port 4500. It answers Quick Modes the server starts (the
// server's own first SA, or its rekeys), rekeys both phases before their
// lifetimes end, runs dead peer detection (RFC 3706) and deletes its SAs when
// closed.

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// L2TPPort is the UDP port of L2TP, the traffic selector of every child SA.
const L2TPPort = 1701

// Defaults for the zero values of Config.
const (
	DefaultIKELifetime       = 8 * time.Hour
	DefaultESPLifetime       = time.Hour
	DefaultDPDDelay          = 30 * time.Second
	DefaultRetransmitTimeout = time.Second
	DefaultRetransmits       = 4
	retransmitCap            = 8 * time.Second
	supersededGrace          = 5 * time.Second
	inputQueue               = 64
)

// Config configures a Session.
type Config struct {
	PSK []byte
	// IKE and ESP are the proposals offered, in order of preference.
	IKE []IKEProposal
	ESP []ESPProposal
	// Mode is the ESP mode asked for: transport (what Windows and macOS
	// use for L2TP) or tunnel.
	Mode esp.Mode
	// Local is our address as the socket sees it; Remote the server's.
	Local, Remote netip.Addr
	// Lifetimes proposed; zero means the defaults. Each SA is rekeyed at
	// about 90% of its lifetime.
	IKELifetime, ESPLifetime time.Duration
	// DPDDelay is the idle time after which we ask the server whether it is
	// alive (R-U-THERE). Zero means DefaultDPDDelay, negative disables.
	DPDDelay time.Duration
	// RetransmitTimeout is the first retransmission timeout; it doubles up
	// to 8 s. Retransmits is how many times a message is sent again.
	RetransmitTimeout time.Duration
	Retransmits       int

	// Send transmits one ISAKMP message; natt says it goes to the server's
	// port 4500, where the caller prepends the non-ESP marker.
	Send func(msg []byte, natt bool) error
	// Events receives what happened, from the Run goroutine. It must not
	// block for long; nil means none.
	Events func(Event)
	// Rand is the randomness for cookies, nonces, SPIs, DH and IVs
	// (crypto/rand if nil). Logger gets one Info line per phase and one
	// Debug line per message (nil: discard).
	Rand   io.Reader
	Logger *slog.Logger
	// KeyLog, if set, receives the negotiated keys in Wireshark's formats
	// (see WriteKeyLog). Debug use only: it holds secrets.
	KeyLog *KeyLog
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	Phase1Up      EventKind = iota + 1 // an ISAKMP SA is established (also after a rekey)
	ChildUp                            // a child SA pair is ready: install it
	ChildDown                          // a child SA pair must no longer be used
	Phase1Rekeyed                      // a new ISAKMP SA replaced the old one
)

// Event is a Session event.
type Event struct {
	Kind   EventKind
	Phase1 Phase1Info // for Phase1Up and Phase1Rekeyed
	Child  *ChildSA   // for ChildUp and ChildDown
	Rekey  bool       // ChildUp: it replaces an earlier pair
}

// Phase1Info describes an ISAKMP SA.
type Phase1Info struct {
	Proposal IKEProposal
	Lifetime time.Duration
	NATT     string   // "rfc3947" or "draft"
	PeerID   string   // the server's phase 1 identity
	Vendors  []string // names of the vendor IDs received
	DPD      bool     // the server supports dead peer detection
}

// ChildSA is a pair of ESP SAs negotiated by one Quick Mode.
type ChildSA struct {
	In, Out  *esp.SA
	Proposal ESPProposal
	Mode     esp.Mode
	Encap    uint16 // encapsulation mode attribute value
	Lifetime time.Duration
	// Initiator says we started the Quick Mode.
	Initiator bool

	established time.Time
	rekeyAt     time.Time
	expireAt    time.Time
	superseded  bool
	deleteAt    time.Time // superseded: when we delete it
}

// Session is an IKEv1 initiator. Create it with NewSession, start Run, feed
// it every received ISAKMP message with Input.
type Session struct {
	cfg  Config
	log  *slog.Logger
	rand io.Reader

	in     chan inbound
	rekey  chan struct{}
	lastRx atomic.Int64 // unix nanoseconds of the last sign of life
	// restartHint: the server sent a clear INVALID-SPI/-COOKIE notify; the
	// next dead peer detection probe goes out at once (Run's goroutine only).
	restartHint bool
	dropped     atomic.Uint64
	upOnce      sync.Once
	up          chan struct{}
	doneOnce    sync.Once
	done        chan struct{}
	err         error // set before done is closed

	mu   sync.Mutex
	info Phase1Info

	// Owned by the Run goroutine.
	ike      *ikeSA // established ISAKMP SA
	mm       *ikeSA // Main Mode in progress (first, or a rekey)
	children []*ChildSA
	natt     bool // talk to port 4500
}

type inbound struct {
	b    []byte
	natt bool
}

// NewSession checks cfg and returns a Session.
func NewSession(cfg Config) (*Session, error) {
	if len(cfg.PSK) == 0 {
		return nil, errors.New("ike: no pre-shared key")
	}
	if len(cfg.IKE) == 0 || len(cfg.ESP) == 0 {
		return nil, errors.New("ike: no proposals")
	}
	if !cfg.Local.Is4() || !cfg.Remote.Is4() {
		return nil, errors.New("ike: only IPv4 peers are supported")
	}
	if cfg.Send == nil {
		return nil, errors.New("ike: no Send function")
	}
	if cfg.IKELifetime <= 0 {
		cfg.IKELifetime = DefaultIKELifetime
	}
	if cfg.ESPLifetime <= 0 {
		cfg.ESPLifetime = DefaultESPLifetime
	}
	if cfg.DPDDelay == 0 {
		cfg.DPDDelay = DefaultDPDDelay
	}
	if cfg.RetransmitTimeout <= 0 {
		cfg.RetransmitTimeout = DefaultRetransmitTimeout
	}
	if cfg.Retransmits <= 0 {
		cfg.Retransmits = DefaultRetransmits
	}
	s := &Session{
		cfg:   cfg,
		log:   cfg.Logger,
		rand:  cfg.Rand,
		in:    make(chan inbound, inputQueue),
		rekey: make(chan struct{}, 1),
		up:    make(chan struct{}),
		done:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = cryptorand.Reader
	}
	return s, nil
}

// Input hands a received ISAKMP message (without the non-ESP marker) to the
// session; natt says it came from port 4500. It copies b. When the queue is
// full the message is dropped and counted, as the network would.
func (s *Session) Input(b []byte, natt bool) {
	c := make([]byte, len(b))
	copy(c, b)
	select {
	case s.in <- inbound{c, natt}:
	default:
		s.dropped.Add(1)
	}
}

// Alive records a sign of life from the server (an authenticated ESP packet),
// which postpones dead peer detection.
func (s *Session) Alive() { s.lastRx.Store(time.Now().UnixNano()) }

// Rekey asks for a new child SA now (an outbound SA ran out of sequence
// numbers).
func (s *Session) Rekey() {
	select {
	case s.rekey <- struct{}{}:
	default:
	}
}

// Up is closed when the first child SA has been installed.
func (s *Session) Up() <-chan struct{} { return s.up }

// Done is closed when Run has returned; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is the reason Run ended (nil for a cancelled context).
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Info describes the current ISAKMP SA (zero before phase 1 is up).
func (s *Session) Info() Phase1Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Run negotiates and keeps the SAs until ctx is cancelled (it then deletes
// them at the server and returns nil) or the session fails (it returns an
// *Error).
func (s *Session) Run(ctx context.Context) (err error) {
	defer func() {
		s.err = err
		s.doneOnce.Do(func() { close(s.done) })
	}()
	s.lastRx.Store(time.Now().UnixNano())
	if err := s.startMainMode(time.Now()); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		next, err := s.tick(now)
		if err != nil {
			s.deleteAll()
			return err
		}
		timer.Reset(next.Sub(now))
		select {
		case <-ctx.Done():
			s.deleteAll()
			return nil
		case m := <-s.in:
			if err := s.handle(m, time.Now()); err != nil {
				s.deleteAll()
				return err
			}
		case <-s.rekey:
			s.rekeyNow(time.Now())
		case <-timer.C:
		}
	}
}

// tick runs everything that is due and returns when it must run next.
func (s *Session) tick(now time.Time) (time.Time, error) {
	next := now.Add(time.Hour)
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	// Retransmissions.
	for _, sa := range []*ikeSA{s.mm, s.ike} {
		if sa == nil {
			continue
		}
		for _, p := range sa.pendings() {
			if !now.Before(p.deadline) {
				if err := s.retransmit(sa, p, now); err != nil {
					return next, err
				}
			}
			earlier(p.deadline)
		}
	}
	// Child lifetimes.
	kept := s.children[:0]
	for _, c := range s.children {
		switch {
		case c.superseded && !c.deleteAt.IsZero() && !now.Before(c.deleteAt):
			s.sendDeleteChild(c, now)
			s.emit(Event{Kind: ChildDown, Child: c})
			continue
		case !now.Before(c.expireAt):
			s.log.Info("ike: child SA expired", "spi_in", spiHex(c.In.SPI()))
			s.emit(Event{Kind: ChildDown, Child: c})
			continue
		}
		kept = append(kept, c)
	}
	clear(s.children[len(kept):])
	s.children = kept
	for _, c := range s.children {
		if !c.superseded && !now.Before(c.rekeyAt) && s.ike != nil && !s.ike.rekeying(c) {
			s.startQuickMode(c, now)
		}
		if !c.superseded && (s.ike == nil || !s.ike.rekeying(c)) {
			earlier(c.rekeyAt)
		}
		earlier(c.expireAt)
		earlier(c.deleteAt)
	}
	if s.ike != nil {
		// No child and none being negotiated (the server deleted them, or
		// they expired): negotiate a new one.
		if len(s.children) == 0 && !s.ike.quickModePending() {
			s.startQuickMode(nil, now)
		}
		// Phase 1 rekey: a fresh Main Mode; the old SA goes once it is up.
		if s.mm == nil && !now.Before(s.ike.rekeyAt) {
			s.log.Info("ike: rekeying the ISAKMP SA")
			if err := s.startMainMode(now); err != nil {
				return next, err
			}
		}
		if s.mm == nil {
			earlier(s.ike.rekeyAt)
		}
		t, err := s.dpd(now)
		if err != nil {
			return next, err
		}
		earlier(t)
	}
	return next, nil
}

// handle processes one received message.
func (s *Session) handle(m inbound, now time.Time) error {
	msg, err := Parse(m.b)
	if err != nil {
		s.log.Debug("ike: dropping malformed message", "err", err)
		return nil
	}
	h := msg.Header
	var sa *ikeSA
	for _, c := range []*ikeSA{s.mm, s.ike} {
		if c != nil && c.ckyI == h.InitiatorCookie {
			sa = c
			break
		}
	}
	if sa == nil {
		s.log.Debug("ike: dropping message for an unknown SA", "exchange", h.Exchange)
		s.unknownSAHint(&msg)
		return nil
	}
	switch h.Exchange {
	case ExchangeIDProt:
		if sa != s.mm {
			s.log.Debug("ike: ignoring main mode message for an established SA")
			return nil
		}
		return s.handleMainMode(sa, msg, now)
	case ExchangeInformational:
		return s.handleInformational(sa, msg, now)
	case ExchangeQuickMode:
		if !sa.established {
			s.log.Debug("ike: ignoring quick mode before phase 1 is up")
			return nil
		}
		return s.handleQuickMode(sa, msg, m.b, now)
	}
	s.log.Debug("ike: ignoring exchange", "exchange", h.Exchange)
	return nil
}

// send transmits a message; a send error is logged and left to the
// retransmission.
func (s *Session) send(msg []byte, what string) {
	if err := s.cfg.Send(msg, s.natt); err != nil {
		s.log.Debug("ike: send failed", "message", what, "err", err)
	}
}

func (s *Session) emit(e Event) {
	if e.Kind == ChildUp {
		s.upOnce.Do(func() { close(s.up) })
	}
	if s.cfg.Events != nil {
		s.cfg.Events(e)
	}
}

// rekeyNow starts a Quick Mode replacing the newest child.
func (s *Session) rekeyNow(now time.Time) {
	if s.ike == nil || len(s.children) == 0 {
		return
	}
	c := s.children[len(s.children)-1]
	if !c.superseded && !s.ike.rekeying(c) {
		s.startQuickMode(c, now)
	}
}

// installChild adds a freshly negotiated pair; older pairs are superseded.
func (s *Session) installChild(c *ChildSA, rekey bool, now time.Time) {
	c.established = now
	c.expireAt = now.Add(c.Lifetime)
	c.rekeyAt = now.Add(rekeyTime(c.Lifetime, s.rand))
	if !c.Initiator {
		// The server started this pair, so it rekeys it (charon does, at
		// its own rekey time). Two rekeys at once would leave duplicate
		// pairs; we step in only if the server has not rekeyed shortly
		// before the pair expires.
		c.rekeyAt = c.expireAt.Add(-responderRekeyMargin(c.Lifetime))
	}
	for _, old := range s.children {
		if old.superseded {
			continue
		}
		old.superseded = true
		// The side that started the rekey deletes the old pair (RFC 2409
		// leaves it open; charon and Windows do it that way). A pair the
		// server started is left for the server to delete, or to expire.
		if c.Initiator {
			old.deleteAt = now.Add(supersededGrace)
		}
		rekey = true
	}
	s.children = append(s.children, c)
	s.log.Info("ike: child SA up", "esp", c.Proposal.String(), "mode", c.Mode.String(),
		"spi_in", spiHex(c.In.SPI()), "spi_out", spiHex(c.Out.SPI()), "lifetime", c.Lifetime, "rekey", rekey)
	s.emit(Event{Kind: ChildUp, Child: c, Rekey: rekey})
}

// removeChildByOutSPI drops the pair whose outbound SPI the server deleted.
func (s *Session) removeChildByOutSPI(spi uint32) bool {
	for i, c := range s.children {
		if c.Out.SPI() == spi {
			s.children = append(s.children[:i], s.children[i+1:]...)
			s.emit(Event{Kind: ChildDown, Child: c})
			return true
		}
	}
	return false
}

// deleteAll tells the server we are leaving: Delete payloads for every
// child and for the ISAKMP SAs. Best effort, no answer expected.
func (s *Session) deleteAll() {
	now := time.Now()
	for _, c := range s.children {
		s.sendDeleteChild(c, now)
		s.emit(Event{Kind: ChildDown, Child: c})
	}
	s.children = nil
	for _, sa := range []*ikeSA{s.ike, s.mm} {
		if sa != nil && sa.established {
			s.sendDeleteISAKMP(sa)
		}
	}
}

// responderRekeyMargin is how long before expiry we rekey a pair the server
// started: 3% of its lifetime, at least 2 s.
func responderRekeyMargin(life time.Duration) time.Duration {
	return max(life*3/100, 2*time.Second)
}

// rekeyTime is about 90% of life, less up to 5% random jitter so both
// sides rarely start a rekey at once.
func rekeyTime(life time.Duration, r io.Reader) time.Duration {
	var b [2]byte
	_, _ = io.ReadFull(r, b[:])
	jitter := time.Duration(binary.BigEndian.Uint16(b[:])) * (life / 20) / 65536
	return life*9/10 - jitter
}

func (s *Session) randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("ike: randomness source failed: " + err.Error())
	}
	return b
}

func (s *Session) randUint32() uint32 {
	for {
		v := binary.BigEndian.Uint32(s.randBytes(4))
		if v >= 256 { // SPIs 1-255 are reserved (RFC 4303 2.1)
			return v
		}
	}
}
