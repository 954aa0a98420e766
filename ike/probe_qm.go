package ike

// The phase-2 half of `l2tpvpn probe`, with the pre-shared key: one Main
// Mode (RFC 2409 5.4) with the proposal the phase-1 sweep found, then
// Quick Modes (5.5) of the caller's choosing, one at a time, each offering
// exactly one ESP transform (with or without PFS). The answer sorts the
// transform: Quick Mode message 2 choosing it (accepted: we send message 3
// and, unless the caller keeps the pair, delete it at once with a Delete
// payload, RFC 2408 3.15), an encrypted error notification such as
// NO-PROPOSAL-CHOSEN (refused), or nothing within the Session's
// RetransmitTimeout (no answer: a probe's Quick Mode is never sent twice).
//
// Phase2Probe drives an ordinary Session: the same Main Mode, Quick Mode,
// keying and Delete code as a connection. Only the loop differs: Run starts
// no Quick Mode by itself, does no dead peer detection and no rekeys, and a
// refused Quick Mode is a result rather than the end of the session. When
// Run ends (its context cancelled) it deletes what is left at the server:
// the kept pair and the ISAKMP SA.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// QuickModeResult is the answer to one probe Quick Mode.
type QuickModeResult struct {
	Proposal ESPProposal
	// Outcome uses the phase-1 probe's words: accepted, refused, no
	// answer.
	Outcome Phase1Outcome
	// Kind and Reason say why it was refused: one of the failure kinds of
	// fail.go (ErrNoProposalChosen for NO-PROPOSAL-CHOSEN) and the
	// explanation, without the "ike: " prefix.
	Kind   error
	Reason string
	// Child is the negotiated pair when accepted and kept (nil otherwise:
	// it was deleted at once).
	Child *ChildSA
}

// Phase2Probe runs Main Mode and then the caller's Quick Modes. Make it
// with NewPhase2Probe, start Run, feed it every ISAKMP message from the
// server with Input, wait for Up, then call QuickMode as often as needed.
type Phase2Probe struct {
	s      *Session
	calls  chan func(now time.Time)
	up     chan struct{}
	upOnce sync.Once

	// Owned by Run's goroutine.
	cur  *qmCall  // the Quick Mode in progress
	keep *ChildSA // the pair the caller keeps
}

type qmCall struct {
	q    *quickMode
	keep bool
	res  QuickModeResult
	done chan QuickModeResult
}

// NewPhase2Probe checks cfg as NewSession does. cfg.Events is taken over;
// cfg.ESP may be empty (each QuickMode names its transform); PFSAuto is
// ignored. Set RetransmitTimeout to the probe's per-message timeout: it is
// how long a Quick Mode waits for its answer.
func NewPhase2Probe(cfg Config) (*Phase2Probe, error) {
	if len(cfg.ESP) == 0 {
		cfg.ESP = DefaultESPProposals()[:1]
	}
	cfg.PFSAuto = false
	cfg.DPDDelay = -1
	p := &Phase2Probe{calls: make(chan func(time.Time)), up: make(chan struct{})}
	cfg.Events = p.event
	s, err := NewSession(cfg)
	if err != nil {
		return nil, err
	}
	s.manualQM = true
	p.s = s
	return p, nil
}

// Input hands a received ISAKMP message (without the non-ESP marker) to the
// probe; natt says it came from port 4500.
func (p *Phase2Probe) Input(b []byte, natt bool) { p.s.Input(b, natt) }

// Up is closed when phase 1 is up.
func (p *Phase2Probe) Up() <-chan struct{} { return p.up }

// Done is closed when Run has returned; Err then says why.
func (p *Phase2Probe) Done() <-chan struct{} { return p.s.done }

// Err is why Run ended: nil for a cancelled context, else the *Error that
// ended phase 1 (ErrAuthentication for a wrong pre-shared key).
func (p *Phase2Probe) Err() error { return p.s.Err() }

// Info describes the ISAKMP SA once phase 1 is up.
func (p *Phase2Probe) Info() Phase1Info { return p.s.Info() }

// Run negotiates phase 1 and then serves QuickMode and DeleteChild until
// ctx ends (it then deletes the kept pair and the ISAKMP SA at the server
// and returns nil) or phase 1 fails (it returns an *Error).
func (p *Phase2Probe) Run(ctx context.Context) error {
	return p.s.loop(ctx, p.tick, p.handle, p.calls, func() { p.keep = nil })
}

// tick retransmits Main Mode messages that are due (giving up as a
// connection would) and ends the Quick Mode in progress that went
// unanswered; it returns when it must run next.
func (p *Phase2Probe) tick(now time.Time) (time.Time, error) {
	s := p.s
	next := now.Add(time.Hour)
	for _, sa := range s.allSAs() {
		for _, pd := range sa.pendings() {
			switch {
			case now.Before(pd.deadline):
			case p.cur != nil && pd == p.cur.q.out:
				p.cur.q.out, p.cur.q.done = nil, true
				delete(sa.qms, p.cur.q.mid)
				p.finish(Phase1NoAnswer, nil)
			default:
				if err := s.retransmit(sa, pd, now); err != nil {
					return next, err
				}
			}
		}
		for _, pd := range sa.pendings() {
			if pd.deadline.Before(next) {
				next = pd.deadline
			}
		}
	}
	return next, nil
}

// handle processes one message. A failure after phase 1 is the refusal of
// the Quick Mode in progress, unless the server deleted the ISAKMP SA.
func (p *Phase2Probe) handle(m inbound, now time.Time) error {
	s := p.s
	err := s.handle(m, now)
	p.dropChildren(now)
	if err == nil {
		return nil
	}
	if !s.everUp || s.ike == nil || errors.Is(err, ErrPeerGone) {
		return err
	}
	if p.cur != nil {
		s.abandonQuickModes(s.ike)
		p.finish(Phase1Refused, err)
		return nil
	}
	s.log.Debug("ike: probe: an error with no Quick Mode in progress", "err", err)
	return nil
}

// dropChildren deletes every pair but the kept one: those our probes
// negotiated and any the server started itself (SoftEther does after Main
// Mode).
func (p *Phase2Probe) dropChildren(now time.Time) {
	s := p.s
	kept := s.children[:0]
	for _, c := range s.children {
		if c == p.keep {
			kept = append(kept, c)
			continue
		}
		s.sendDeleteChild(c, now)
	}
	clear(s.children[len(kept):])
	s.children = kept
}

// event runs on Run's goroutine, inside the Session.
func (p *Phase2Probe) event(e Event) {
	switch e.Kind {
	case Phase1Up:
		p.upOnce.Do(func() { close(p.up) })
	case ChildUp:
		c := p.cur
		if c == nil || !e.Child.Initiator || e.Child.In.SPI() != c.q.spiIn {
			return
		}
		if c.keep {
			p.keep = e.Child
			c.res.Child = e.Child
		}
		p.finish(Phase1Accepted, nil)
	}
}

// finish reports the Quick Mode in progress.
func (p *Phase2Probe) finish(o Phase1Outcome, err error) {
	c := p.cur
	p.cur = nil
	c.res.Outcome = o
	if err != nil {
		c.res.Kind = err
		var e *Error
		if errors.As(err, &e) {
			c.res.Kind = e.Kind
		}
		c.res.Reason = strings.TrimPrefix(err.Error(), "ike: ")
	}
	c.done <- c.res
}

// call runs f on Run's goroutine.
func (p *Phase2Probe) call(ctx context.Context, f func(now time.Time)) error {
	select {
	case p.calls <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.s.done:
		return p.ended()
	}
}

func (p *Phase2Probe) ended() error {
	if err := p.s.Err(); err != nil {
		return err
	}
	return errors.New("ike: probe: the session has ended")
}

// QuickMode offers prop alone (with PFS in prop.Group, none if 0) in the
// mode of the Config and waits for the outcome. An accepted pair is
// deleted at once unless keep: then it is Child, and stays until
// DeleteChild or the end of Run. One Quick Mode at a time.
func (p *Phase2Probe) QuickMode(ctx context.Context, prop ESPProposal, keep bool) (QuickModeResult, error) {
	done := make(chan QuickModeResult, 1)
	err := p.call(ctx, func(now time.Time) {
		s := p.s
		res := QuickModeResult{Proposal: prop}
		if s.ike == nil || p.cur != nil {
			res.Outcome, res.Kind, res.Reason = Phase1Refused, ErrRejected, "probe: phase 1 is not up, or a Quick Mode is in progress"
			done <- res
			return
		}
		s.cfg.ESP = []ESPProposal{prop}
		s.pfs = prop.Group
		before := map[uint32]bool{}
		for mid := range s.ike.qms {
			before[mid] = true
		}
		s.startQuickMode(nil, now)
		for mid, q := range s.ike.qms {
			if !before[mid] && q.initiator {
				p.cur = &qmCall{q: q, keep: keep, res: res, done: done}
				return
			}
		}
		res.Outcome, res.Kind, res.Reason = Phase1Refused, ErrRejected, "probe: the Quick Mode could not be built"
		done <- res
	})
	if err != nil {
		return QuickModeResult{Proposal: prop}, err
	}
	select {
	case r := <-done:
		return r, nil
	case <-ctx.Done():
		return QuickModeResult{Proposal: prop}, ctx.Err()
	case <-p.s.done:
		return QuickModeResult{Proposal: prop}, p.ended()
	}
}

// DeleteChild deletes the kept pair c at the server (a Delete payload).
func (p *Phase2Probe) DeleteChild(ctx context.Context, c *ChildSA) error {
	done := make(chan struct{})
	err := p.call(ctx, func(now time.Time) {
		if p.keep == c {
			p.keep = nil
		}
		p.dropChildren(now)
		close(done)
	})
	if err != nil {
		return err
	}
	<-done
	return nil
}

// ProbeESPProposals is every ESP transform we implement, without PFS: our
// default offer first, then the rest (AES-GCM, AES-CBC and 3DES with each
// integrity algorithm).
func ProbeESPProposals() []ESPProposal {
	var out []ESPProposal
	seen := map[ESPProposal]bool{}
	add := func(p ESPProposal) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range DefaultESPProposals() {
		add(p)
	}
	add(ESPProposal{Enc: esp.AESGCM16, KeyBits: 192})
	integ := []esp.IntegAlg{esp.HMACSHA256_128, esp.HMACSHA384_192, esp.HMACSHA512_256, esp.HMACSHA1_96, esp.HMACMD5_96}
	for _, bits := range []int{256, 192, 128, 0} {
		for _, in := range integ {
			p := ESPProposal{Enc: esp.AESCBC, KeyBits: bits, Integ: in}
			if bits == 0 {
				p.Enc = esp.TripleDES
			}
			add(p)
		}
	}
	return out
}
