package ppp

// The authenticator (LNS/server) side of one PPP link.
//
// A supervisor creates one ServerLink per PPP session (one L2TP session),
// with the addresses it took from its pool and a Lookup for credentials:
//
//	s := ppp.NewServerLink(ppp.ServerConfig{
//		Lookup:  users.Lookup, // func(user string) (ppp.Credential, bool)
//		LocalIP: gw, PeerIP: addr, DNS: dns,
//		OnEvent: report,
//	}, sendToSession)
//	go s.Run(ctx)          // one goroutine per link owns every state machine and timer
//	s.Input(proto, info)   // each received control frame (from ParseFrame), any goroutine
//	s.DataReceived()       // received data frames, for the keepalive
//	s.WaitUp(ctx)          // blocks until IPCP is up: the user, method and addresses
//	s.Close(ctx, "reason") // LCP Terminate-Request, waits for Run
//
// Run answers the client's LCP, asks it to authenticate with the
// configured methods in order of preference (MS-CHAPv2, CHAP-MD5, PAP by
// default; after a Configure-Nak the next allowed one, the client's
// suggestion first), verifies what it sends through Lookup (passwords are
// never stored in the link), then assigns the address and DNS servers in
// IPCP (RFC 1332, RFC 1877) and, with IPv6 set, interface identifiers in
// IPV6CP (RFC 5072). EAP is never offered; we never authenticate ourselves
// to the client (its Authentication-Protocol option is Configure-Rejected,
// as pppd does when it has no secret to authenticate itself with). CCP is
// Protocol-Rejected: this side does not do MPPE.
//
// Concurrency: every method may be called from any goroutine; the state
// machines belong to Run's goroutine, so a server with many clients runs
// one ServerLink (and one Run goroutine) per session and never shares one.

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Credential is what the authenticator knows about a user: the cleartext
// password, or only the NT hash (MD4 of the UTF-16LE password, 16 bytes,
// RFC 2759 section 8.3). MS-CHAPv2 works from either; CHAP-MD5 and PAP need
// the cleartext password and fail for a user that has only the hash.
type Credential struct {
	Password secret.Secret
	NTHash   secret.Secret // used when Password is empty
}

// NTPasswordHash returns the NT hash of a password (RFC 2759 section 8.3),
// what a user database may store instead of the password.
func NTPasswordHash(password secret.Secret) secret.Secret {
	h := ntPasswordHash(string(password.Bytes()))
	return secret.New(h[:])
}

// ServerConfig configures a ServerLink. The zero value of each field means
// its default.
type ServerConfig struct {
	// Auth lists the methods the client may authenticate with, in order of
	// preference; nil/empty = MS-CHAPv2, CHAP-MD5, PAP.
	Auth []AuthMethod
	// Lookup returns the credential of a user. It gets the name exactly as
	// the client sent it (PAP Peer-ID, CHAP Name), "DOMAIN\user" and
	// "user@realm" included: stripping a domain or realm is its choice.
	// (MS-CHAPv2's challenge hash uses the name without "DOMAIN\", as RFC
	// 2759 section 8.2 says; the link does that itself.) It is called from
	// Run's goroutine and should not block for long. Required.
	Lookup func(user string) (Credential, bool)
	// Name is our name in CHAP Challenges; "" = "l2tpvpn".
	Name string
	// AuthRetries is how many failed attempts the client may repeat after
	// the first (PAP: another Authenticate-Request; CHAP: a new Challenge;
	// MS-CHAPv2: Failure with R=1 and a new challenge). 0 = none: the first
	// failure ends the link.
	AuthRetries int

	MRU uint16 // the MRU we ask for; 0 = 1500 (then the option is not sent)

	LocalIP netip.Addr // our IPv4 address, sent in IPCP; invalid = none
	PeerIP  netip.Addr // the client's IPv4 address; invalid = IPCP cannot come up
	// AssignIP, if set, chooses the client's address once it has
	// authenticated (a user's fixed address, or one from a pool for that
	// user), replacing PeerIP; an error ends the link. It runs on Run's
	// goroutine.
	AssignIP func(user string) (netip.Addr, error)
	DNS      []netip.Addr // up to two DNS servers (RFC 1877), given when the client asks
	WINS     []netip.Addr // up to two NBNS servers (RFC 1877), likewise
	IPv6     bool         // also run IPV6CP
	LocalID  [8]byte      // our IPv6 interface identifier; zero = random
	PeerID   [8]byte      // the client's, Nak'd when it proposes another; zero = accept any valid one

	EchoInterval time.Duration // LCP Echo-Request interval once LCP is open; 0 = 20s; <0 disables
	EchoFailures int           // echoes in a row unanswered (nothing at all received) that declare the link dead; 0 = 5
	RestartTimer time.Duration // RFC 1661 section 4.6; 0 = 3s
	MaxConfigure int           // 0 = 10
	MaxTerminate int           // 0 = 2
	MaxFailure   int           // 0 = 5
	AuthTimeout  time.Duration // time the client has to authenticate; 0 = 30s

	Logger  *slog.Logger      // nil = discard
	Rand    io.Reader         // nil = crypto/rand
	OnEvent func(ServerEvent) // optional; called from Run's goroutine; must not block
}

// DefaultServerAuthTimeout is ServerConfig.AuthTimeout's default.
const DefaultServerAuthTimeout = 30 * time.Second

func (c ServerConfig) withDefaults() ServerConfig {
	var auth []AuthMethod // known methods only, each once
	for _, m := range c.Auth {
		if m >= AuthPAP && m <= AuthMSCHAPv2 && !containsMethod(auth, m) {
			auth = append(auth, m)
		}
	}
	if len(auth) == 0 {
		auth = append(auth, authPreference[:]...)
	}
	c.Auth = auth
	if c.Lookup == nil {
		c.Lookup = func(string) (Credential, bool) { return Credential{}, false }
	}
	if c.Name == "" {
		c.Name = "l2tpvpn"
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = 20 * time.Second
	}
	if c.EchoFailures <= 0 {
		c.EchoFailures = 5
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultServerAuthTimeout
	}
	if c.AuthRetries < 0 {
		c.AuthRetries = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if len(c.DNS) > 2 {
		c.DNS = c.DNS[:2]
	}
	if len(c.WINS) > 2 {
		c.WINS = c.WINS[:2]
	}
	return c
}

// ServerInfo is what a ServerLink negotiated.
type ServerInfo struct {
	User                string       // the authenticated name, as the client sent it
	Auth                AuthMethod   // the method it authenticated with
	Local, Peer         netip.Addr   // IPCP: ours and the client's
	DNS, WINS           []netip.Addr // the servers the client asked for and got
	PeerMRU, LocalMRU   uint16       // the client's MRU (what we may send) and ours
	IPv6Local, IPv6Peer [8]byte      // interface identifiers, zero unless IPV6CP is up
}

// ServerEvent reports progress. Kind is one of "lcp.up", "auth.ok",
// "auth.failed" (Err says why; the link then terminates, unless retries
// remain), "ipcp.up", "ipv6cp.up", "ipcp.down", "ipv6cp.down", "lcp.down",
// and last "down" (Err is Run's result, nil after our Close). Info is a
// copy of what was negotiated so far.
type ServerEvent struct {
	Kind string
	Info ServerInfo
	Err  error
}

// ServerLink is the authenticator side of one PPP link. Create it with
// NewServerLink, run it with Run, feed it with Input.
type ServerLink struct {
	cfg  ServerConfig
	acfg Config // the automata's timers and counters
	send func(frame []byte) error
	log  *slog.Logger

	in        chan frame
	closeReq  chan struct{}
	closeOnce sync.Once
	done      chan struct{}
	upCh      chan struct{}
	failCh    chan struct{}
	stats     counters
	rxSeen    atomic.Uint64

	mu          sync.Mutex // guards the fields below
	running     bool
	closeEarly  bool
	closeReason string
	info        ServerInfo
	up          bool
	err         error
	runErr      error

	// Owned by Run's goroutine.
	phase        phase
	lcp          *automaton
	ipcp         *automaton
	ipv6cp       *automaton // nil unless cfg.IPv6
	lcpL         *serverLCP
	ipcpL        *serverIPCP
	ipv6cpL      *serverIPV6CP
	auth         serverAuth
	echo         echoState
	pendingClose bool
	closeIssued  bool
	finished     bool
	randFallback uint16
}

// NewServerLink returns a ServerLink that sends its control frames (2-byte
// protocol + information field, without FF 03) through send. send is
// called only from Run's goroutine; each frame is a fresh slice the callee
// may keep.
func NewServerLink(cfg ServerConfig, send func(frame []byte) error) *ServerLink {
	cfg = cfg.withDefaults()
	s := &ServerLink{
		cfg:  cfg,
		send: send,
		log:  cfg.Logger,
		acfg: Config{RestartTimer: cfg.RestartTimer, MaxConfigure: cfg.MaxConfigure,
			MaxTerminate: cfg.MaxTerminate, MaxFailure: cfg.MaxFailure}.withDefaults(),
		in:       make(chan frame, inputQueueLen),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
		upCh:     make(chan struct{}),
		failCh:   make(chan struct{}),
	}
	s.lcpL = newServerLCP(s)
	s.lcp = s.newAutomaton(ProtoLCP, s.lcpL)
	s.lcp.extras = s.lcpL
	s.ipcpL = &serverIPCP{s: s, sendAddr: cfg.LocalIP.Is4()}
	s.ipcp = s.newAutomaton(ProtoIPCP, s.ipcpL)
	if cfg.IPv6 {
		s.ipv6cpL = &serverIPV6CP{s: s, sendID: true}
		s.ipv6cp = s.newAutomaton(ProtoIPV6CP, s.ipv6cpL)
	}
	return s
}

func (s *ServerLink) newAutomaton(proto Protocol, l layer) *automaton {
	a := newAutomaton(proto, l, s, &s.acfg, s.log)
	a.peer = "client"
	return a
}

// Input hands over one received control frame: its protocol and
// information field (as returned by ParseFrame). It copies info and never
// blocks; it returns false when the queue is full and the frame is dropped.
func (s *ServerLink) Input(proto Protocol, info []byte) bool {
	s.rxSeen.Add(1)
	f := frame{proto: proto, info: append([]byte(nil), info...)}
	select {
	case s.in <- f:
		return true
	default:
		s.stats.dropped.Add(1)
		return false
	}
}

// DataReceived tells the link that data frames from the client arrived,
// which keeps the keepalive from declaring a busy link dead. One atomic
// add: call it once per received batch, from any goroutine.
func (s *ServerLink) DataReceived() { s.rxSeen.Add(1) }

// Stats returns the link's counters.
func (s *ServerLink) Stats() Stats {
	c := &s.stats
	return Stats{
		Malformed: c.malformed.Load(), Dropped: c.dropped.Load(),
		ProtocolRejects: c.protocolRejects.Load(), CodeRejects: c.codeRejects.Load(),
		EchoSent: c.echoSent.Load(), EchoReceived: c.echoReceived.Load(),
		EchoAnswered: c.echoAnswered.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// Err returns the failure recorded so far (what Run will return), or nil.
func (s *ServerLink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return s.runErr
}

// Info returns what has been negotiated so far.
func (s *ServerLink) Info() ServerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.copyInfo()
}

func (s *ServerLink) copyInfo() ServerInfo {
	i := s.info
	i.DNS = append([]netip.Addr(nil), i.DNS...)
	i.WINS = append([]netip.Addr(nil), i.WINS...)
	return i
}

// WaitUp blocks until IPCP is Opened and returns the ServerInfo, or until
// the link failed (Run's error), or until ctx is done.
func (s *ServerLink) WaitUp(ctx context.Context) (ServerInfo, error) {
	select {
	case <-s.upCh:
		return s.Info(), nil
	case <-s.failCh:
	case <-s.done:
	case <-ctx.Done():
		return ServerInfo{}, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.up:
		return s.copyInfo(), nil
	case s.err != nil:
		return ServerInfo{}, s.err
	case s.runErr != nil:
		return ServerInfo{}, s.runErr
	}
	return ServerInfo{}, ErrClosed
}

// Close terminates the link with an LCP Terminate-Request carrying reason
// ("" = "Administrative close"), retransmitted up to Max-Terminate times
// until the Terminate-Ack, and waits for Run to return (it then returns
// nil) or for ctx. It is safe to call more than once and from any
// goroutine; the first reason wins. Before Run it makes Run return nil at
// once without sending anything.
func (s *ServerLink) Close(ctx context.Context, reason string) error {
	s.mu.Lock()
	if s.closeReason == "" {
		s.closeReason = reason
	}
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.closeReq) })
	s.mu.Lock()
	if !s.running {
		s.closeEarly = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run opens LCP (the Open and Up events of RFC 1661; we send the first
// Configure-Request) and runs the link until it goes down. It returns nil
// after a Close that completed, else the reason: *ServerAuthError (wraps
// ErrAuthFailed), an error wrapping ErrAuthTimeout, *ClientTerminateError,
// *NegotiationError or *EchoTimeoutError. When ctx is cancelled Run
// returns ctx.Err() at once without sending anything.
func (s *ServerLink) Run(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("ppp: Run called twice")
	}
	s.running = true
	early := s.closeEarly
	s.mu.Unlock()
	defer func() { s.stop(err) }()
	if early {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.log.Info("ppp: server: starting LCP")
	s.phase = phaseEstablish
	s.lcp.step(evOpen)
	s.lcp.step(evUp)
	s.settle()
	closeReq := s.closeReq
	for !s.finished {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-s.in:
			s.receive(f)
		case <-closeReq:
			closeReq = nil
			s.mu.Lock()
			reason := s.closeReason
			s.mu.Unlock()
			if reason == "" {
				reason = "Administrative close"
			}
			s.lcp.termData = []byte(reason)
			s.pendingClose = true
		case <-s.lcp.timer.C():
			s.lcp.timeout()
		case <-s.ipcp.timer.C():
			s.ipcp.timeout()
		case <-s.ipv6cpTimer():
			s.ipv6cp.timeout()
		case <-s.auth.retx.C():
			s.auth.retx.fired()
			s.authRetransmit()
		case <-s.auth.deadline.C():
			s.auth.deadline.fired()
			s.authTimedOut()
		case <-s.echo.t.C():
			s.echo.t.fired()
			s.echoTick()
		}
		s.settle()
	}
	s.mu.Lock()
	err = s.err
	s.mu.Unlock()
	return err
}

func (s *ServerLink) ipv6cpTimer() <-chan time.Time {
	if s.ipv6cp == nil {
		return nil
	}
	return s.ipv6cp.timer.C()
}

// settle closes LCP after a failure or Close, outside any automaton step,
// and notices that the link is finished.
func (s *ServerLink) settle() {
	if s.pendingClose && !s.closeIssued {
		s.closeIssued = true
		s.phase = phaseTerminate
		if s.lcp.termData == nil {
			s.lcp.termData = []byte(s.termReason())
		}
		s.lcp.step(evClose)
	}
	if s.closeIssued && (s.lcp.state == stateInitial || s.lcp.state == stateClosed) {
		s.finished = true
	}
}

func (s *ServerLink) stop(err error) {
	for _, t := range []*timer{&s.lcp.timer, &s.ipcp.timer, &s.auth.retx, &s.auth.deadline, &s.echo.t} {
		t.stop()
	}
	if s.ipv6cp != nil {
		s.ipv6cp.timer.stop()
	}
	s.phase = phaseDead
	s.mu.Lock()
	s.runErr = err
	if err != nil && s.err == nil {
		s.err = err
		close(s.failCh)
	}
	info := s.copyInfo()
	s.mu.Unlock()
	if err != nil {
		s.log.Info("ppp: server: link down", "user", sanitize([]byte(info.User)), "err", err)
	} else {
		s.log.Info("ppp: server: link closed", "user", sanitize([]byte(info.User)))
	}
	s.emit(ServerEvent{Kind: "down", Info: info, Err: err})
	close(s.done)
}

// fail records err (the first failure wins) and closes LCP gracefully.
func (s *ServerLink) fail(err error) {
	s.setErr(err)
	s.pendingClose = true
}

func (s *ServerLink) failNow(err error) {
	s.setErr(err)
	s.finished = true
}

func (s *ServerLink) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.failCh)
		s.log.Debug("ppp: server: failure", "err", err)
	}
}

func (s *ServerLink) emit(ev ServerEvent) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}

// emitInfo emits an event with a copy of the current info.
func (s *ServerLink) emitInfo(kind string, err error) {
	s.emit(ServerEvent{Kind: kind, Info: s.Info(), Err: err})
}

func (s *ServerLink) termReason() string {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrAuthFailed):
		return "Authentication failed"
	case errors.Is(err, ErrAuthTimeout):
		return "Authentication timed out"
	case errors.Is(err, ErrNegotiation):
		return "Negotiation failed"
	}
	return "Link failed"
}
