package ppp

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/netip"
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
	// ServerVerified says the transport below (IPsec) has authenticated
	// the server. Then a lost MS-CHAPv2 Success may be inferred from the
	// server's network phase (see Link.beforeNCP); without it the Success
	// is the only proof that the server knows the password.
	ServerVerified bool

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

// Link is the client side of one PPP link. Create it with NewLink, run it
// with Run, feed it with Input.
type Link struct {
	linkCore
	cfg Config

	info IPInfo // guarded by mu

	mppe      atomic.Pointer[MPPE] // set while CCP is open with MPPE
	mppeBlock atomic.Bool          // no IP in the clear (see MPPEBlocked)

	// Owned by the Run goroutine.
	lcpL         *lcpLayer
	ipcpL        *ipcpLayer
	ipv6cpL      *ipv6cpLayer
	ccpL         *ccpLayer
	ccpStarted   bool // CCP was opened (Open and Up)
	ccpResetting bool // ccpReset is stepping CCP down
	ipcpWaiting  bool // IPCP is Opened, its Up waits for CCP
	auth         authState
}

// clientTraits are the Link's words and defaults.
var clientTraits = traits{
	peer: "server", log: "ppp: ", closeText: "User request", echoNote: true,
	termReasons: []termReason{
		{ErrAuthFailed, "Authentication failed"}, {ErrAuthTimeout, "Authentication failed"},
		{ErrNoAuthMethod, "Authentication failed"}, {ErrServerAuthInvalid, "Server authentication failed"},
		{ErrNegotiation, "Negotiation failed"},
	},
}

// NewLink returns a Link that sends its control frames (2-byte protocol +
// information field, without FF 03) through send. send is called only from
// Run's goroutine; each frame is a fresh slice the callee may keep.
func NewLink(cfg Config, send func(frame []byte) error) *Link {
	l := &Link{cfg: cfg.withDefaults()}
	l.init(l, &clientTraits, &l.cfg, &l.auth.authTimers, send)
	l.lcpL = newLCPLayer(l)
	l.lcpOpts = &l.lcpL.lcpOptions
	l.lcp = l.newAutomaton(ProtoLCP, l.lcpL)
	l.lcp.extras = l.lcpL
	l.ipcpL = newIPCPLayer(l)
	l.ipcp = l.newAutomaton(ProtoIPCP, l.ipcpL)
	l.ccpL = newCCPLayer(l)
	l.ccp = l.newAutomaton(ProtoCCP, l.ccpL)
	l.mppeBlock.Store(l.cfg.MPPE == MPPERequire)
	if l.cfg.IPv6 {
		l.ipv6cpL = newIPV6CPLayer(&l.linkCore, [8]byte{}, [8]byte{}, true)
		l.ipv6cp = l.newAutomaton(ProtoIPV6CP, l.ipv6cpL)
	}
	return l
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

// WaitUp blocks until IPCP is Opened and returns its IPInfo, or until the
// link failed (Run's error), or until ctx is done.
func (l *Link) WaitUp(ctx context.Context) (IPInfo, error) {
	if err := l.waitUp(ctx); err != nil {
		return IPInfo{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.copyInfo(), nil
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
func (l *Link) Close(ctx context.Context) error { return l.closeWith(ctx, "") }

// Run starts LCP (the Open and Up events of RFC 1661) and runs the link
// until it goes down. It returns nil after a Close that completed, else the
// reason: *AuthError, *NegotiationError, *NoAuthMethodError,
// *EchoTimeoutError, *TerminateError or an error wrapping ErrAuthTimeout or
// ErrServerAuthInvalid. When ctx is cancelled Run returns ctx.Err() at once
// without sending anything.
func (l *Link) Run(ctx context.Context) error { return l.run(ctx) }

func (l *Link) ended(err error) {
	if err != nil {
		l.log.Info("ppp: link down", "err", err)
	} else {
		l.log.Info("ppp: link closed")
	}
}

func (l *Link) emit(ev Event) {
	if l.cfg.OnEvent != nil {
		l.cfg.OnEvent(ev)
	}
}

func (l *Link) event(kind string) { l.emit(Event{Kind: kind}) }

func (l *Link) terminateError(reason string) error { return &TerminateError{Reason: reason} }
