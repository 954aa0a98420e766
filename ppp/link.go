package ppp

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

// Config configures a Link. The zero value of each field means its default.
type Config struct {
	User     string
	Password secret.Secret // never logged, never in an error
	Auth     []AuthMethod  // allowed methods; nil/empty = all three
	MRU      uint16        // MRU we ask for; 0 = 1500 (then the option is not sent)

	EchoInterval time.Duration // LCP Echo-Request interval once LCP is open; 0 = 20s; <0 disables
	EchoFailures int           // echoes in a row after which nothing at all came back that declare the link dead; 0 = 5
	IPv6         bool          // also run IPV6CP
	MPPE         MPPEPolicy    // MPPE (RFC 3078) policy; the zero value is MPPEAllow

	RestartTimer time.Duration // RFC 1661 section 4.6; 0 = 3s
	MaxConfigure int           // 0 = 10
	MaxTerminate int           // 0 = 2
	MaxFailure   int           // 0 = 5
	AuthTimeout  time.Duration // overall time allowed for the authentication phase (a second factor's push approval included); 0 = 60s

	Logger  *slog.Logger // nil = discard
	Rand    io.Reader    // nil = crypto/rand
	OnEvent func(Event)  // optional; called from the Run goroutine; must not block
}

func (c Config) withDefaults() Config {
	if len(c.Auth) == 0 {
		c.Auth = []AuthMethod{AuthPAP, AuthCHAPMD5, AuthMSCHAPv2}
	} else {
		c.Auth = append([]AuthMethod(nil), c.Auth...)
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = 20 * time.Second
	}
	if c.EchoFailures <= 0 {
		c.EchoFailures = 5
	}
	if c.RestartTimer <= 0 {
		c.RestartTimer = 3 * time.Second
	}
	if c.MaxConfigure <= 0 {
		c.MaxConfigure = 10
	}
	if c.MaxTerminate <= 0 {
		c.MaxTerminate = 2
	}
	if c.MaxFailure <= 0 {
		c.MaxFailure = 5
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// DefaultAuthTimeout is Config.AuthTimeout's default: long enough for a
// second factor's push approval on the user's phone.
const DefaultAuthTimeout = 60 * time.Second

// AuthWaitNotice is how long after our authentication request went out
// without an answer the link emits "auth.waiting".
const AuthWaitNotice = 5 * time.Second

// Event reports progress. Kind is one of "lcp.up", "auth.waiting",
// "auth.ok", "ipcp.up", "ipv6cp.up", "lcp.down", and also "ipcp.down" and
// "ipv6cp.down". "auth.waiting" comes once per authentication, when the
// server has not answered our request AuthWaitNotice after it went out
// (it may wait for a second factor). Auth is set for "lcp.up" (the method
// the server asked for), "auth.waiting" and "auth.ok"; Info for "ipcp.up"
// and "ipv6cp.up".
type Event struct {
	Kind string
	Auth AuthMethod
	Info *IPInfo
}

// IPInfo is the outcome of IPCP (and IPV6CP if it completed).
type IPInfo struct {
	Local, Peer         netip.Addr   // IPv4 from IPCP; Peer is invalid if the server didn't say
	DNS                 []netip.Addr // RFC 1877 primary/secondary, only those the server gave (non-zero)
	WINS                []netip.Addr // RFC 1877 NBNS primary/secondary, likewise
	PeerMRU             uint16       // the MRU the peer asked for (what we may send); 1500 if it didn't say
	LocalMRU            uint16       // what the peer acked for us
	Auth                AuthMethod   // 0 if the server required none
	IPv6Local, IPv6Peer [8]byte      // interface identifiers, zero if IPV6CP is not up
	MPPE                string       // e.g. "mppe-128 stateless"; "" if MPPE is off
}

// Stats are counters of a Link's control traffic.
type Stats struct {
	Malformed       uint64 // control frames that could not be decoded
	Dropped         uint64 // control frames dropped: input queue full, or not acceptable in the current phase
	ProtocolRejects uint64 // frames of unknown protocols answered with LCP Protocol-Reject
	CodeRejects     uint64 // packets with unknown codes answered with Code-Reject
	EchoSent        uint64 // LCP Echo-Requests sent
	EchoReceived    uint64 // LCP Echo-Replies received
	EchoAnswered    uint64 // the peer's Echo-Requests we answered
	SendErrors      uint64 // frames the send function failed to send
}

type counters struct {
	malformed, dropped, protocolRejects, codeRejects atomic.Uint64
	echoSent, echoReceived, echoAnswered, sendErrors atomic.Uint64
}

// inputQueueLen bounds the queue between Input and Run.
const inputQueueLen = 64

type frame struct {
	proto Protocol
	info  []byte
	sync  chan struct{} // non-nil: a Sync marker, closed when reached
}

// phase is a PPP link phase (RFC 1661 section 3.2).
type phase uint8

const (
	phaseDead phase = iota
	phaseEstablish
	phaseAuthenticate
	phaseNetwork
	phaseTerminate
)

func (p phase) String() string {
	return [...]string{"Dead", "Establish", "Authenticate", "Network", "Terminate"}[p]
}

// Link is the client side of one PPP link. Create it with NewLink, run it
// with Run, feed it with Input.
type Link struct {
	cfg  Config
	send func(frame []byte) error
	log  *slog.Logger

	in        chan frame
	closeReq  chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when Run returns
	upCh      chan struct{} // closed when IPCP opens for the first time
	failCh    chan struct{} // closed when the first failure is recorded
	stats     counters
	rxSeen    atomic.Uint64 // frames from the peer: Input, and batches via DataReceived

	mu         sync.Mutex // guards the fields below
	running    bool
	closeEarly bool // Close before Run
	info       IPInfo
	up         bool
	err        error // first failure
	runErr     error // Run's result

	mppe      atomic.Pointer[MPPE] // set while CCP is open with MPPE
	mppeBlock atomic.Bool          // no IP in the clear (see MPPEBlocked)

	// Owned by the Run goroutine.
	phase        phase
	lcp          *automaton
	ipcp         *automaton
	ipv6cp       *automaton // nil unless cfg.IPv6
	lcpL         *lcpLayer
	ipcpL        *ipcpLayer
	ipv6cpL      *ipv6cpLayer
	ccp          *automaton
	ccpL         *ccpLayer
	ccpStarted   bool // CCP was opened (Open and Up)
	ccpResetting bool // ccpReset is stepping CCP down
	ipcpWaiting  bool // IPCP is Opened, its Up waits for CCP
	auth         authState
	echo         echoState
	pendingClose bool // a failure or Close asks for LCP Close
	closeIssued  bool // LCP Close was issued
	finished     bool // Run must return
	randFallback uint16
}

// NewLink returns a Link that sends its control frames (2-byte protocol +
// information field, without FF 03) through send. send is called only from
// Run's goroutine; each frame is a fresh slice the callee may keep.
func NewLink(cfg Config, send func(frame []byte) error) *Link {
	cfg = cfg.withDefaults()
	l := &Link{
		cfg:      cfg,
		send:     send,
		log:      cfg.Logger,
		in:       make(chan frame, inputQueueLen),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
		upCh:     make(chan struct{}),
		failCh:   make(chan struct{}),
	}
	l.lcpL = newLCPLayer(l)
	l.lcp = newAutomaton(ProtoLCP, l.lcpL, l, &l.cfg, l.log)
	l.lcp.extras = l.lcpL
	l.ipcpL = newIPCPLayer(l)
	l.ipcp = newAutomaton(ProtoIPCP, l.ipcpL, l, &l.cfg, l.log)
	l.ccpL = newCCPLayer(l)
	l.ccp = newAutomaton(ProtoCCP, l.ccpL, l, &l.cfg, l.log)
	l.mppeBlock.Store(cfg.MPPE == MPPERequire)
	if cfg.IPv6 {
		l.ipv6cpL = newIPV6CPLayer(l)
		l.ipv6cp = newAutomaton(ProtoIPV6CP, l.ipv6cpL, l, &l.cfg, l.log)
	}
	return l
}

// Input hands over one received control frame: its protocol and
// information field (as returned by ParseFrame). It copies info and never
// blocks; it returns false when the queue is full and the frame is dropped.
func (l *Link) Input(proto Protocol, info []byte) bool {
	l.rxSeen.Add(1)
	f := frame{proto: proto, info: append([]byte(nil), info...)}
	select {
	case l.in <- f:
		return true
	default:
		l.stats.dropped.Add(1)
		return false
	}
}

// Sync waits until the Run loop has handled every frame handed to Input
// before the call (it queues a marker behind them). It returns at once if
// Run has ended. The caller uses it to order PPP frames against events on
// other layers that arrived later, e.g. an L2TP CDN right after a CHAP
// Failure.
func (l *Link) Sync(ctx context.Context) error {
	f := frame{sync: make(chan struct{})}
	select {
	case l.in <- f:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f.sync:
		return nil
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Err returns the failure recorded so far (the error Run will return), or
// nil while the link has not failed.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return l.runErr
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	s := &l.stats
	return Stats{
		Malformed: s.malformed.Load(), Dropped: s.dropped.Load(),
		ProtocolRejects: s.protocolRejects.Load(), CodeRejects: s.codeRejects.Load(),
		EchoSent: s.echoSent.Load(), EchoReceived: s.echoReceived.Load(),
		EchoAnswered: s.echoAnswered.Load(), SendErrors: s.sendErrors.Load(),
	}
}

// WaitUp blocks until IPCP is Opened and returns its IPInfo, or until the
// link failed (Run's error), or until ctx is done.
func (l *Link) WaitUp(ctx context.Context) (IPInfo, error) {
	select {
	case <-l.upCh:
		return l.ipInfo(), nil
	default:
	}
	select {
	case <-l.upCh:
		return l.ipInfo(), nil
	case <-l.failCh:
	case <-l.done:
	case <-ctx.Done():
		return IPInfo{}, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up {
		return l.copyInfo(), nil
	}
	if l.err != nil {
		return IPInfo{}, l.err
	}
	if l.runErr != nil {
		return IPInfo{}, l.runErr
	}
	return IPInfo{}, ErrClosed
}

func (l *Link) ipInfo() IPInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.copyInfo()
}

// copyInfo returns l.info with its own DNS slice; l.mu must be held.
func (l *Link) copyInfo() IPInfo {
	i := l.info
	i.DNS = append([]netip.Addr(nil), i.DNS...)
	i.WINS = append([]netip.Addr(nil), i.WINS...)
	return i
}

// Close terminates the link: LCP Terminate-Request, retransmitted on the
// Restart timer up to Max-Terminate times, until the Terminate-Ack or the
// give-up. It waits for Run to return (Run then returns nil) or for ctx. It
// is safe to call more than once and from any goroutine; before Run it makes
// Run return nil at once.
func (l *Link) Close(ctx context.Context) error {
	l.closeOnce.Do(func() { close(l.closeReq) })
	l.mu.Lock()
	if !l.running {
		l.closeEarly = true
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run starts LCP (the Open and Up events of RFC 1661) and runs the link
// until it goes down. It returns nil after a Close that completed, else the
// reason: *AuthError, *NegotiationError, *NoAuthMethodError,
// *EchoTimeoutError, *TerminateError or an error wrapping ErrAuthTimeout or
// ErrServerAuthInvalid. When ctx is cancelled Run returns ctx.Err() at once
// without sending anything.
func (l *Link) Run(ctx context.Context) (err error) {
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		return errors.New("ppp: Run called twice")
	}
	l.running = true
	early := l.closeEarly
	l.mu.Unlock()
	defer func() { l.stop(err) }()
	if early {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.log.Info("ppp: starting LCP")
	l.phase = phaseEstablish
	l.lcp.step(evOpen)
	l.lcp.step(evUp)
	l.settle()
	closeReq := l.closeReq
	for !l.finished {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-l.in:
			l.receive(f)
		case <-closeReq:
			closeReq = nil
			l.lcp.termData = []byte("User request")
			l.pendingClose = true
		case <-l.lcp.timer.C():
			l.lcp.timeout()
		case <-l.ipcp.timer.C():
			l.ipcp.timeout()
		case <-l.ipv6cpTimer():
			l.ipv6cp.timeout()
		case <-l.ccp.timer.C():
			l.ccp.timeout()
		case <-l.mppeResetC():
			l.sendResetRequest()
		case <-l.auth.retx.C():
			l.auth.retx.fired()
			l.authRetransmit()
		case <-l.auth.deadline.C():
			l.auth.deadline.fired()
			l.authTimedOut()
		case <-l.auth.wait.C():
			l.auth.wait.fired()
			l.authWaiting()
		case <-l.echo.t.C():
			l.echo.t.fired()
			l.echoTick()
		}
		l.settle()
	}
	l.mu.Lock()
	err = l.err
	l.mu.Unlock()
	return err
}

func (l *Link) ipv6cpTimer() <-chan time.Time {
	if l.ipv6cp == nil {
		return nil
	}
	return l.ipv6cp.timer.C()
}

// settle runs what must not happen inside an automaton step: closing LCP
// after a failure or Close, and noticing that the link is finished.
func (l *Link) settle() {
	if l.pendingClose && !l.closeIssued {
		l.closeIssued = true
		l.phase = phaseTerminate
		if l.lcp.termData == nil {
			l.lcp.termData = []byte(l.termReason())
		}
		l.lcp.step(evClose)
	}
	if l.closeIssued && (l.lcp.state == stateInitial || l.lcp.state == stateClosed) {
		l.finished = true
	}
}

// stop runs when Run returns.
func (l *Link) stop(err error) {
	for _, t := range []*timer{&l.lcp.timer, &l.ipcp.timer, &l.ccp.timer, &l.auth.retx, &l.auth.deadline, &l.auth.wait, &l.echo.t} {
		t.stop()
	}
	if l.ipv6cp != nil {
		l.ipv6cp.timer.stop()
	}
	l.phase = phaseDead
	l.mu.Lock()
	l.runErr = err
	if err != nil && l.err == nil {
		l.err = err
		close(l.failCh)
	}
	l.mu.Unlock()
	if err != nil {
		l.log.Info("ppp: link down", "err", err)
	} else {
		l.log.Info("ppp: link closed")
	}
	close(l.done)
}

// fail records err (the first failure wins) and closes LCP gracefully.
func (l *Link) fail(err error) {
	l.setErr(err)
	l.pendingClose = true
}

// failNow records err and ends Run without sending anything more.
func (l *Link) failNow(err error) {
	l.setErr(err)
	l.finished = true
}

func (l *Link) setErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		close(l.failCh)
		l.log.Debug("ppp: failure", "err", err)
	}
}

func (l *Link) emit(ev Event) {
	if l.cfg.OnEvent != nil {
		l.cfg.OnEvent(ev)
	}
}

// termReason is the text of our Terminate-Request after a failure.
func (l *Link) termReason() string {
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	switch {
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrAuthTimeout), errors.Is(err, ErrNoAuthMethod):
		return "Authentication failed"
	case errors.Is(err, ErrServerAuthInvalid):
		return "Server authentication failed"
	case errors.Is(err, ErrNegotiation):
		return "Negotiation failed"
	}
	return "Link failed"
}
