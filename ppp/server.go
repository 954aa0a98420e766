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
	"io"
	"log/slog"
	"net/netip"
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
	linkCore
	cfg  ServerConfig
	acfg Config // what both roles configure alike: the automata's timers and counters, echo, logger, random source

	info ServerInfo // guarded by mu

	// Owned by Run's goroutine.
	lcpL    *serverLCP
	ipcpL   *serverIPCP
	ipv6cpL *ipv6cpLayer
	auth    serverAuth
}

// serverTraits are the ServerLink's words and defaults.
var serverTraits = traits{
	peer: "client", log: "ppp: server: ", closeText: "Administrative close",
	termReasons: []termReason{
		{ErrAuthFailed, "Authentication failed"}, {ErrAuthTimeout, "Authentication timed out"},
		{ErrNegotiation, "Negotiation failed"},
	},
}

// NewServerLink returns a ServerLink that sends its control frames (2-byte
// protocol + information field, without FF 03) through send. send is
// called only from Run's goroutine; each frame is a fresh slice the callee
// may keep.
func NewServerLink(cfg ServerConfig, send func(frame []byte) error) *ServerLink {
	cfg = cfg.withDefaults()
	s := &ServerLink{
		cfg: cfg,
		acfg: Config{RestartTimer: cfg.RestartTimer, MaxConfigure: cfg.MaxConfigure,
			MaxTerminate: cfg.MaxTerminate, MaxFailure: cfg.MaxFailure,
			EchoInterval: cfg.EchoInterval, EchoFailures: cfg.EchoFailures,
			Logger: cfg.Logger, Rand: cfg.Rand}.withDefaults(),
	}
	s.init(s, &serverTraits, &s.acfg, &s.auth.authTimers, send)
	s.lcpL = newServerLCP(s)
	s.lcpOpts = &s.lcpL.lcpOptions
	s.lcp = s.newAutomaton(ProtoLCP, s.lcpL)
	s.lcp.extras = s.lcpL
	s.ipcpL = &serverIPCP{s: s, sendAddr: cfg.LocalIP.Is4()}
	s.ipcp = s.newAutomaton(ProtoIPCP, s.ipcpL)
	if cfg.IPv6 {
		s.ipv6cpL = newIPV6CPLayer(&s.linkCore, cfg.LocalID, cfg.PeerID, false)
		s.ipv6cp = s.newAutomaton(ProtoIPV6CP, s.ipv6cpL)
	}
	return s
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
	if err := s.waitUp(ctx); err != nil {
		return ServerInfo{}, err
	}
	return s.Info(), nil
}

// Close terminates the link with an LCP Terminate-Request carrying reason
// ("" = "Administrative close"), retransmitted up to Max-Terminate times
// until the Terminate-Ack, and waits for Run to return (it then returns
// nil) or for ctx. It is safe to call more than once and from any
// goroutine; the first reason wins. Before Run it makes Run return nil at
// once without sending anything.
func (s *ServerLink) Close(ctx context.Context, reason string) error {
	return s.closeWith(ctx, reason)
}

// Run opens LCP (the Open and Up events of RFC 1661; we send the first
// Configure-Request) and runs the link until it goes down. It returns nil
// after a Close that completed, else the reason: *ServerAuthError (wraps
// ErrAuthFailed), an error wrapping ErrAuthTimeout, *ClientTerminateError,
// *NegotiationError or *EchoTimeoutError. When ctx is cancelled Run
// returns ctx.Err() at once without sending anything.
func (s *ServerLink) Run(ctx context.Context) error { return s.run(ctx) }

func (s *ServerLink) ended(err error) {
	info := s.Info()
	if err != nil {
		s.log.Info("ppp: server: link down", "user", sanitize([]byte(info.User)), "err", err)
	} else {
		s.log.Info("ppp: server: link closed", "user", sanitize([]byte(info.User)))
	}
	s.emit(ServerEvent{Kind: "down", Info: info, Err: err})
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

func (s *ServerLink) event(kind string) { s.emitInfo(kind, nil) }

func (s *ServerLink) terminateError(reason string) error {
	return &ClientTerminateError{Reason: reason}
}
