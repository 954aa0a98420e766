package ike

// Session is the IKEv1 initiator: one goroutine (Run) owns all state and is
// driven by received messages, timers and Close. It negotiates an ISAKMP SA
// with Main Mode and pre-shared key (RFC 2409 5.4), then ESP SAs with Quick
// Mode (5.5), always UDP-encapsulated (RFC 3947/3948): the NAT-D hash of our
// own address is deliberately wrong, so the server believes we are behind a
// NAT and floats to port 4500. It answers Quick Modes the server starts (the
// server's own first SA, or its rekeys) and Main Modes it starts once phase 1
// is up (a server that rekeys phase 1 itself), rekeys both phases before
// their lifetimes end, runs dead peer detection (RFC 3706) and deletes its
// SAs when closed. The life of the ISAKMP SAs (rekeys, their failures and
// retries, deletes) is in lifecycle.go, that of the child SAs in children.go.

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
	"github.com/l2tpvpn/l2tpvpn/secret"
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
	PSK secret.Secret
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

	// LocalID is our phase 1 identity; zero means our address
	// (ID_IPV4_ADDR / ID_IPV6_ADDR), or with Cert the certificate's subject
	// DN (as Windows sends). RemoteID is the identity the server must
	// prove; zero accepts any (it is logged and in Phase1Info.PeerID).
	LocalID, RemoteID ID
	// Cert, when set, authenticates us with signatures made by our
	// certificate's key (RSA, RFC 2409 5.1, or ECDSA, RFC 4754) instead of
	// the PSK, and the server's certificate is verified against its CAs.
	Cert *Credential
	// Fragmentation says when our IKE messages are split into IKE
	// fragments (fragment.go); received fragments are always reassembled.
	// FragmentSize is the largest IPv4 datagram of a fragment, all headers
	// included, as in Windows and strongSwan's fragment_size (0:
	// DefaultFragmentSize).
	Fragmentation FragmentMode
	FragmentSize  int
	// Aggressive negotiates phase 1 with Aggressive Mode (PSK only) instead
	// of Main Mode. Opt-in: it sends a hash of the PSK in clear, open to an
	// offline dictionary attack.
	Aggressive bool
	// PFSAuto: the first child SA is offered without PFS, and if the
	// server refuses, with each group of the IKE proposals in turn
	// (pfs.go). Otherwise the ESP proposals' own group is used.
	PFSAuto bool
	// SHA2Truncbug uses HMAC-SHA2-256 in ESP with 96-bit ICVs instead of
	// RFC 4868's 128 (for servers in that old mode); the negotiation is
	// unchanged.
	SHA2Truncbug bool

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
	// ChildInbound: the server set the commit bit (RFC 2408 3.1): the
	// pair's inbound SA may receive now, its outbound SA waits for ChildUp
	// (or the pair is dropped with ChildDown).
	ChildInbound
)

// Event is a Session event.
type Event struct {
	Kind   EventKind
	Phase1 Phase1Info // for Phase1Up and Phase1Rekeyed
	Child  *ChildSA   // for ChildUp, ChildDown and ChildInbound
	Rekey  bool       // ChildUp: it replaces an earlier pair
}

// Phase1Info describes an ISAKMP SA.
type Phase1Info struct {
	Proposal IKEProposal
	Lifetime time.Duration
	NATT     string   // "rfc3947" or "draft"
	PeerID   string   // the server's phase 1 identity, as ID.String formats it
	LocalID  string   // ours
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
	auth authMethod // how phase 1 authenticates: PSK, or by Cert's key type
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
	ike      *ikeSA   // the established ISAKMP SA we use
	mm       *ikeSA   // our Main Mode in progress (the first, or a rekey)
	peerMM   *ikeSA   // a Main Mode the server started, in progress
	old      []*ikeSA // ISAKMP SAs the server replaced and has not deleted yet
	children []*ChildSA
	natt     bool // talk to port 4500
	// PFS group of our Quick Mode offers, and PFSAuto's groups still to
	// try (pfs.go); everChild: a child SA has been up.
	pfs       Group
	pfsNext   []Group
	everChild bool
	everUp    bool // phase 1 has been up: every later Main Mode is a rekey
	// manualQM: no Quick Mode starts by itself once phase 1 is up; the
	// phase-2 probe (probe_qm.go) starts each one.
	manualQM bool
	// Failed phase 1 rekeys in a row, when the next try is due and why the
	// last one failed (lifecycle.go).
	p1Failures int
	p1RetryAt  time.Time
	p1Err      error
	// IKE fragmentation: sending (fragment.go) and reassembly (defrag.go).
	frag   fragmenter
	defrag reassembler
}

type inbound struct {
	b    []byte
	natt bool
}

// NewSession checks cfg and returns a Session.
func NewSession(cfg Config) (*Session, error) {
	auth := authPSK
	switch {
	case cfg.Cert != nil:
		var err error
		if auth, err = checkCredential(cfg.Cert); err != nil {
			return nil, err
		}
		if cfg.LocalID.IsZero() {
			cfg.LocalID = certID(cfg.Cert)
		}
	case cfg.PSK.IsZero():
		return nil, errors.New("ike: no pre-shared key")
	}
	if len(cfg.IKE) == 0 || len(cfg.ESP) == 0 {
		return nil, errors.New("ike: no proposals")
	}
	cfg.Local, cfg.Remote = cfg.Local.Unmap(), cfg.Remote.Unmap()
	if !cfg.Local.IsValid() || !cfg.Remote.IsValid() || cfg.Local.Is4() != cfg.Remote.Is4() {
		return nil, errors.New("ike: local and remote addresses must be both IPv4 or both IPv6")
	}
	if cfg.Aggressive && cfg.Cert != nil {
		return nil, errors.New("ike: aggressive mode is implemented with a pre-shared key only")
	}
	if cfg.Send == nil {
		return nil, errors.New("ike: no Send function")
	}
	if cfg.LocalID.IsZero() {
		cfg.LocalID = AddrID(cfg.Local)
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
		auth:  auth,
		log:   cfg.Logger,
		rand:  cfg.Rand,
		in:    make(chan inbound, inputQueue),
		rekey: make(chan struct{}, 1),
		up:    make(chan struct{}),
		done:  make(chan struct{}),
	}
	s.pfs = cfg.ESP[0].Group
	if cfg.PFSAuto {
		s.pfs, s.pfsNext = 0, pfsCandidates(cfg.IKE)
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
func (s *Session) Run(ctx context.Context) error {
	return s.loop(ctx, s.tick, s.handle, nil, nil)
}

// loop is the session's goroutine: Main Mode, then tick when due, handle
// for each message, calls for work handed in by other goroutines, rekeys
// asked for by Rekey, until ctx ends (cancelled runs first, then every SA
// is deleted at the server) or tick or handle fails. Run and Phase2Probe
// drive it with their own tick, handle and calls.
func (s *Session) loop(ctx context.Context, tick func(time.Time) (time.Time, error),
	handle func(inbound, time.Time) error, calls <-chan func(time.Time), cancelled func()) (err error) {
	defer func() {
		s.err = err
		s.doneOnce.Do(func() { close(s.done) })
	}()
	s.lastRx.Store(time.Now().UnixNano())
	s.startMainMode(time.Now())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		next, err := tick(now)
		if err != nil {
			s.deleteAll()
			return err
		}
		timer.Reset(next.Sub(now))
		select {
		case <-ctx.Done():
			if cancelled != nil {
				cancelled()
			}
			s.deleteAll()
			return nil
		case m := <-s.in:
			if err := handle(m, time.Now()); err != nil {
				s.deleteAll()
				return err
			}
		case f := <-calls:
			f(time.Now())
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
	for _, sa := range s.allSAs() {
		for _, p := range sa.pendings() {
			if !now.Before(p.deadline) {
				if err := s.retransmit(sa, p, now); err != nil {
					return next, err
				}
			}
		}
	}
	s.expireChildren(now)
	if err := s.phase1Tick(now, earlier); err != nil {
		return next, err
	}
	s.childTimers(now, earlier)
	if s.ike != nil {
		t, err := s.dpd(now)
		if err != nil {
			return next, err
		}
		earlier(t)
	}
	// The retransmission deadlines, including those of the exchanges
	// just started.
	for _, sa := range s.allSAs() {
		for _, p := range sa.pendings() {
			earlier(p.deadline)
		}
	}
	return next, nil
}

// handle processes one received message.
func (s *Session) handle(m inbound, now time.Time) error {
	if isFragment(m.b) {
		if m.b = s.reassemble(m.b, now); m.b == nil {
			return nil
		}
	}
	msg, err := Parse(m.b)
	if err != nil {
		s.log.Debug("ike: dropping malformed message", "err", err)
		return nil
	}
	h := msg.Header
	var sa *ikeSA
	for _, c := range s.allSAs() {
		if c.ckyI == h.InitiatorCookie {
			sa = c
			break
		}
	}
	if sa == nil {
		if h.Exchange == ExchangeIDProt && h.ResponderCookie == ([8]byte{}) && h.Flags&FlagEncryption == 0 && s.everUp {
			s.peerMainMode1(msg, m, now)
			return nil
		}
		s.log.Debug("ike: dropping message for an unknown SA", "exchange", h.Exchange)
		s.unknownSAHint(&msg)
		return nil
	}
	// A failure of a rekey Main Mode of ours, whatever message reports it,
	// is retried later rather than ending the session.
	if sa == s.mm {
		if err := s.handleOwnMainMode(sa, msg, now); err != nil {
			return s.mainModeFailed(sa, err)
		}
		return nil
	}
	switch h.Exchange {
	case ExchangeIDProt:
		if sa.responder {
			s.peerMainMode(sa, msg, m, now)
			return nil
		}
		s.log.Debug("ike: ignoring main mode message for an established SA")
		return nil
	case ExchangeAggressive:
		// The server repeats its second message: our third was lost.
		if sa.reply != nil && !sa.responder {
			s.log.Debug("ike: aggressive mode message 2 repeated, sending our message 3 again")
			s.send(sa.reply, "AGGRESSIVE 3 (again)")
		}
		return nil
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

// handleOwnMainMode handles a message for our Main Mode in progress.
func (s *Session) handleOwnMainMode(sa *ikeSA, m Message, now time.Time) error {
	switch m.Header.Exchange {
	case ExchangeIDProt:
		return s.handleMainMode(sa, m, now)
	case ExchangeAggressive:
		return s.handleAggressive(sa, m, now)
	case ExchangeInformational:
		return s.handleInformational(sa, m, now)
	}
	s.log.Debug("ike: ignoring exchange during main mode", "exchange", m.Header.Exchange)
	return nil
}

// send transmits a message; a send error is logged and left to the
// retransmission.
func (s *Session) send(msg []byte, what string) {
	if err := s.transmit(msg, s.natt); err != nil {
		s.log.Debug("ike: send failed", "message", what, "err", err)
	}
}

// emit reports e. Up is closed only after the Events callback has taken
// the first ChildUp: whoever waits on Up may then use the installed SA.
func (s *Session) emit(e Event) {
	if s.cfg.Events != nil {
		s.cfg.Events(e)
	}
	if e.Kind == ChildUp {
		s.upOnce.Do(func() { close(s.up) })
	}
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
