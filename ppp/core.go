package ppp

// What both roles of a PPP link share. A Link (the client, authenticatee)
// and a ServerLink (the authenticator) each embed a linkCore: the input
// queue, the Run loop and its timers, the LCP, IPCP and IPV6CP automata
// (and CCP's, which only the client runs), the receive dispatch and the
// send path, the keepalive, the counters, the failure bookkeeping and the
// random source. What differs (the Authenticate phase, CCP, events, the
// errors a peer's Terminate-Request becomes) the core asks of its role.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// role is what a linkCore asks of the side it runs; it is called from Run's
// goroutine only.
type role interface {
	// authInput takes a PAP or CHAP packet; LCP is Opened.
	authInput(proto Protocol, info []byte)
	// beforeNCP sees a well-formed IPCP or IPV6CP packet before the phase
	// check drops it outside the Network phase.
	beforeNCP(proto Protocol, p Packet)
	// ccpInput takes a CCP frame.
	ccpInput(f frame)
	// authRetransmit, authTimedOut and authWaiting run when the timers of
	// authTimers fire.
	authRetransmit()
	authTimedOut()
	authWaiting()
	// mppeResetC is the channel on which MPPE asks for a Reset-Request
	// (nil without MPPE); sendResetRequest sends it.
	mppeResetC() <-chan struct{}
	sendResetRequest()
	// lowerDown stops what the role runs above LCP (authentication, CCP)
	// when LCP leaves Opened.
	lowerDown()
	// ipv6cpUp and ipv6cpDown are IPV6CP's This-Layer-Up and -Down.
	ipv6cpUp()
	ipv6cpDown()
	// event reports a change of phase that carries no news of its own
	// ("lcp.down").
	event(kind string)
	// protoRejected handles the peer's Protocol-Reject of a protocol
	// other than LCP, IPCP and IPV6CP.
	protoRejected(proto Protocol)
	// terminateError is the failure for the peer's Terminate-Request.
	terminateError(reason string) error
	// ended runs when Run returns err, before Run's waiters are released.
	ended(err error)
}

// traits are the words and defaults that differ between the roles.
type traits struct {
	peer      string // who the other end is, in reasons and logs: "server" or "client"
	log       string // prefix of log messages: "ppp: " or "ppp: server: "
	closeText string // our Terminate-Request's data after a Close without a reason
	// termReasons name our Terminate-Request after a failure that wraps
	// err, the first match winning; any other failure is "Link failed".
	termReasons []termReason
	// echoNote: log once that the peer never answers Echo-Request and the
	// keepalive relies on its traffic instead.
	echoNote bool
}

type termReason struct {
	err  error
	text string
}

// authTimers are the Authenticate phase's timers; each role's auth state
// embeds them and the Run loop selects on them.
type authTimers struct {
	retx     timer // retransmission of our request (client) or Challenge (server)
	deadline timer // the time allowed for authentication
	wait     timer // the client's AuthWaitNotice; the authenticator leaves it stopped
}

// linkCore is the state both roles of a link share. The embedding Link or
// ServerLink creates it with init.
type linkCore struct {
	role   role
	tr     *traits
	shared *Config // the automata's timers and counters, echo, logger, random source
	send   func(frame []byte) error
	log    *slog.Logger

	in        chan frame
	closeReq  chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when Run returns
	upCh      chan struct{} // closed when IPCP opens for the first time
	failCh    chan struct{} // closed when the first failure is recorded
	stats     counters
	rxSeen    atomic.Uint64 // frames from the peer: Input, and batches via DataReceived

	mu          sync.Mutex // guards the fields below, and the role's info
	running     bool
	closeEarly  bool   // Close before Run
	closeReason string // the first Close's reason, "" = tr.closeText
	up          bool
	err         error // first failure
	runErr      error // Run's result

	// Owned by the Run goroutine.
	phase        phase
	lcp          *automaton
	ipcp         *automaton
	ipv6cp       *automaton  // nil unless IPv6 is configured
	ccp          *automaton  // nil for the authenticator
	lcpOpts      *lcpOptions // the LCP layer's shared options
	authT        *authTimers
	echo         echoState
	pendingClose bool // a failure or Close asks for LCP Close
	closeIssued  bool // LCP Close was issued
	finished     bool // Run must return
	randFallback uint16
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

// init sets the core up for r. cfg (defaults applied) holds what both roles
// configure alike; it must outlive the link.
func (c *linkCore) init(r role, tr *traits, cfg *Config, at *authTimers, send func(frame []byte) error) {
	c.role, c.tr, c.shared, c.authT, c.send, c.log = r, tr, cfg, at, send, cfg.Logger
	c.in = make(chan frame, inputQueueLen)
	c.closeReq = make(chan struct{})
	c.done = make(chan struct{})
	c.upCh = make(chan struct{})
	c.failCh = make(chan struct{})
}

// newAutomaton returns an automaton of proto driven by this link.
func (c *linkCore) newAutomaton(proto Protocol, l layer) *automaton {
	a := newAutomaton(proto, l, c, c.shared, c.log)
	a.peer = c.tr.peer
	return a
}

// Input hands over one received control frame: its protocol and
// information field (as returned by ParseFrame). It copies info and never
// blocks; it returns false when the queue is full and the frame is dropped.
func (c *linkCore) Input(proto Protocol, info []byte) bool {
	c.rxSeen.Add(1)
	f := frame{proto: proto, info: append([]byte(nil), info...)}
	select {
	case c.in <- f:
		return true
	default:
		c.stats.dropped.Add(1)
		return false
	}
}

// DataReceived tells the link that frames from the peer arrived on the
// data path, which keeps the LCP keepalive from declaring a busy link dead
// (some peers never answer Echo-Request). It is one atomic add: call it
// once per received batch, from any goroutine.
func (c *linkCore) DataReceived() { c.rxSeen.Add(1) }

// Stats returns the link's counters.
func (c *linkCore) Stats() Stats {
	s := &c.stats
	return Stats{
		Malformed: s.malformed.Load(), Dropped: s.dropped.Load(),
		ProtocolRejects: s.protocolRejects.Load(), CodeRejects: s.codeRejects.Load(),
		EchoSent: s.echoSent.Load(), EchoReceived: s.echoReceived.Load(),
		EchoAnswered: s.echoAnswered.Load(), SendErrors: s.sendErrors.Load(),
	}
}

// Err returns the failure recorded so far (the error Run will return), or
// nil while the link has not failed.
func (c *linkCore) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return c.runErr
}

// waitUp blocks until IPCP has been Opened (nil), or until the link failed
// (Run's error; ErrClosed after a Close), or until ctx is done.
func (c *linkCore) waitUp(ctx context.Context) error {
	select {
	case <-c.upCh:
		return nil
	default:
	}
	select {
	case <-c.upCh:
		return nil
	case <-c.failCh:
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.up:
		return nil
	case c.err != nil:
		return c.err
	case c.runErr != nil:
		return c.runErr
	}
	return ErrClosed
}

// closeWith asks Run to close LCP with reason ("" = the role's default; the
// first reason wins) and waits for Run to return, or for ctx. Before Run it
// makes Run return nil at once.
func (c *linkCore) closeWith(ctx context.Context, reason string) error {
	c.mu.Lock()
	if c.closeReason == "" {
		c.closeReason = reason
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() { close(c.closeReq) })
	c.mu.Lock()
	if !c.running {
		c.closeEarly = true
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run starts LCP (the Open and Up events of RFC 1661; we send the first
// Configure-Request) and runs the link until it goes down: Run of both
// roles.
func (c *linkCore) run(ctx context.Context) (err error) {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("ppp: Run called twice")
	}
	c.running = true
	early := c.closeEarly
	c.mu.Unlock()
	defer func() { c.stop(err) }()
	if early {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.log.Info(c.tr.log + "starting LCP")
	c.phase = phaseEstablish
	c.lcp.step(evOpen)
	c.lcp.step(evUp)
	c.settle()
	closeReq := c.closeReq
	for !c.finished {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-c.in:
			c.receive(f)
		case <-closeReq:
			closeReq = nil
			c.closeRequested()
		case <-c.lcp.timer.C():
			c.lcp.timeout()
		case <-c.ipcp.timer.C():
			c.ipcp.timeout()
		case <-timerC(c.ipv6cp):
			c.ipv6cp.timeout()
		case <-timerC(c.ccp):
			c.ccp.timeout()
		case <-c.role.mppeResetC():
			c.role.sendResetRequest()
		case <-c.authT.retx.C():
			c.authT.retx.fired()
			c.role.authRetransmit()
		case <-c.authT.deadline.C():
			c.authT.deadline.fired()
			c.role.authTimedOut()
		case <-c.authT.wait.C():
			c.authT.wait.fired()
			c.role.authWaiting()
		case <-c.echo.t.C():
			c.echo.t.fired()
			c.echoTick()
		}
		c.settle()
	}
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	return err
}

// timerC is the Restart timer's channel of a, nil if a does not run here.
func timerC(a *automaton) <-chan time.Time {
	if a == nil {
		return nil
	}
	return a.timer.C()
}

// closeRequested: Close was called; LCP closes with its reason.
func (c *linkCore) closeRequested() {
	c.mu.Lock()
	reason := c.closeReason
	c.mu.Unlock()
	if reason == "" {
		reason = c.tr.closeText
	}
	c.lcp.termData = []byte(reason)
	c.pendingClose = true
}

// settle runs what must not happen inside an automaton step: closing LCP
// after a failure or Close, and noticing that the link is finished.
func (c *linkCore) settle() {
	if c.pendingClose && !c.closeIssued {
		c.closeIssued = true
		c.phase = phaseTerminate
		if c.lcp.termData == nil {
			c.lcp.termData = []byte(c.termReason())
		}
		c.lcp.step(evClose)
	}
	if c.closeIssued && (c.lcp.state == stateInitial || c.lcp.state == stateClosed) {
		c.finished = true
	}
}

// stop runs when Run returns.
func (c *linkCore) stop(err error) {
	for _, a := range []*automaton{c.lcp, c.ipcp, c.ipv6cp, c.ccp} {
		if a != nil {
			a.timer.stop()
		}
	}
	for _, t := range []*timer{&c.authT.retx, &c.authT.deadline, &c.authT.wait, &c.echo.t} {
		t.stop()
	}
	c.phase = phaseDead
	c.mu.Lock()
	c.runErr = err
	if err != nil && c.err == nil {
		c.err = err
		close(c.failCh)
	}
	c.mu.Unlock()
	c.role.ended(err)
	close(c.done)
}

// fail records err (the first failure wins) and closes LCP gracefully.
func (c *linkCore) fail(err error) {
	c.setErr(err)
	c.pendingClose = true
}

// failNow records err and ends Run without sending anything more.
func (c *linkCore) failNow(err error) {
	c.setErr(err)
	c.finished = true
}

func (c *linkCore) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.failCh)
		c.log.Debug(c.tr.log+"failure", "err", err)
	}
}

// termReason is the text of our Terminate-Request after a failure.
func (c *linkCore) termReason() string {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	for _, r := range c.tr.termReasons {
		if errors.Is(err, r.err) {
			return r.text
		}
	}
	return "Link failed"
}
