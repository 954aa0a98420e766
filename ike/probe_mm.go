package ike

// The phase-1 sweep of `l2tpvpn probe`: which Main Mode proposals a server
// accepts, found without a secret. For each proposal we implement, one Main
// Mode message 1 (RFC 2409 5) offers exactly that transform, with the
// NAT-T and DPD vendor IDs a real first message carries (some servers answer
// nothing else). The server answers with message 2 (accepted: it names the
// transform it chose and its vendor IDs), with an unencrypted
// informational such as NO-PROPOSAL-CHOSEN (RFC 2408 5.6, refused), or not
// at all (silently refused, or nobody there).
//
// Message 3 is never sent: the server keeps at most a half-open exchange,
// which it expires on its own (charon after its half-open timeout, our
// Responder after HalfOpenExpiry), and holds no state it must be told about.
//
// A probe must never flood a server: at most Concurrency exchanges are
// outstanding at a time and at most Rate messages per second leave, spaced
// evenly (1/Rate apart, never a burst). With the defaults (2, 5 per second)
// the sweep of every proposal we implement (ProbeIKEProposals: 140) takes
// 28 s against a server that answers each one, and up to Timeout×140/2
// (140 s with 2 s) against one that refuses silently.

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"io"
	"sync"
	"time"
)

// Defaults of Phase1Probe.
const (
	DefaultProbeTimeout     = 2 * time.Second
	DefaultProbeConcurrency = 2
	DefaultProbeRate        = 5 // messages per second
)

// Phase1Outcome is what became of one proposal.
type Phase1Outcome int

// Phase-1 probe outcomes.
const (
	Phase1NoAnswer Phase1Outcome = iota // nothing within the timeout
	Phase1Accepted                      // Main Mode message 2 chose it
	Phase1Refused                       // an informational (NO-PROPOSAL-CHOSEN or another error) refused it
)

func (o Phase1Outcome) String() string {
	switch o {
	case Phase1Accepted:
		return "accepted"
	case Phase1Refused:
		return "refused"
	}
	return "no answer"
}

// Phase1Result is the answer to one probe message.
type Phase1Result struct {
	Proposal IKEProposal // what we offered
	Outcome  Phase1Outcome
	// Notify is the notification that refused it (Phase1Refused).
	Notify NotifyType
	// Chosen is the transform message 2 chose (Phase1Accepted); a server
	// that changes the offer (another group, say) shows here.
	Chosen IKEProposal
	// Vendors are the vendor IDs of message 2, in order.
	Vendors [][]byte
	// Lifetime is the lifetime message 2 carried, 0 if none.
	Lifetime time.Duration
}

// Phase1Probe sweeps phase-1 proposals. Set Send, call Input with every
// datagram from the server's IKE port (the non-ESP marker stripped), and
// Run. A Phase1Probe runs once.
type Phase1Probe struct {
	// Proposals are offered one per message, in this order; nil means
	// ProbeIKEProposals().
	Proposals []IKEProposal
	// Timeout is how long each message waits for an answer;
	// Concurrency how many wait at once; Rate the most messages sent per
	// second. Zero means the defaults above.
	Timeout     time.Duration
	Concurrency int
	Rate        float64
	// Send transmits one message to the server's IKE port.
	Send func([]byte) error
	// Rand makes the cookies (crypto/rand if nil).
	Rand io.Reader

	mu      sync.Mutex
	waiting map[[8]byte]chan []byte
	pacer   *Pacer
	sent    int
}

// ProbeIKEProposals is every phase-1 proposal we implement: AES-128, -192,
// -256 and 3DES × MD5, SHA-1, SHA-256, -384, -512 × the groups NewDH
// supports. Our default offer comes first, then the presets' offers, then
// the rest, so a sweep cut short has asked the likely ones.
func ProbeIKEProposals() []IKEProposal {
	var out []IKEProposal
	seen := map[IKEProposal]bool{}
	add := func(ps ...IKEProposal) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	add(DefaultIKEProposals()...)
	for _, n := range ProposalPresetNames() {
		if ps, err := ParseIKEProposals(proposalPresets[n].IKE); err == nil {
			add(ps...)
		}
	}
	encs := []IKEProposal{{Enc: EncAESCBC, KeyBits: 256}, {Enc: EncAESCBC, KeyBits: 192}, {Enc: EncAESCBC, KeyBits: 128}, {Enc: Enc3DES}}
	hashes := []HashAlg{HashSHA256, HashSHA384, HashSHA512, HashSHA1, HashMD5}
	groups := []Group{MODP2048, MODP3072, MODP4096, ECP256, ECP384, MODP1536, MODP1024}
	for _, e := range encs {
		for _, h := range hashes {
			for _, g := range groups {
				add(IKEProposal{Enc: e.Enc, KeyBits: e.KeyBits, Hash: h, Group: g})
			}
		}
	}
	return out
}

// probeMessage is Main Mode message 1 with cookie ckyI offering exactly
// the proposals ps (one transform each), and the vendor IDs of ProbeRequest.
func probeMessage(ckyI [8]byte, ps []IKEProposal) []byte {
	p := Proposal{Number: 1, Protocol: ProtoISAKMP}
	for i, ip := range ps {
		p.Transforms = append(p.Transforms, ip.transform(uint8(i+1), DefaultIKELifetime))
	}
	payloads := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{p}}}
	for _, v := range natVendors {
		payloads = append(payloads, NewVendorID(v))
	}
	payloads = append(payloads, NewVendorID(VendorDPD))
	m := Message{Header: Header{InitiatorCookie: ckyI, Exchange: ExchangeIDProt}, Payloads: payloads}
	return m.Append(nil)
}

// Input takes one datagram from the server. Answers to no outstanding
// message are dropped. b is not retained.
func (p *Phase1Probe) Input(b []byte) {
	h, err := ParseHeader(b)
	if err != nil {
		return
	}
	p.mu.Lock()
	ch := p.waiting[h.InitiatorCookie]
	p.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- append([]byte(nil), b...):
	default: // one answer is enough; retransmissions are dropped
	}
}

// Sent is how many messages the probe has sent so far.
func (p *Phase1Probe) Sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func (p *Phase1Probe) defaults() {
	if p.Timeout <= 0 {
		p.Timeout = DefaultProbeTimeout
	}
	if p.Concurrency <= 0 {
		p.Concurrency = DefaultProbeConcurrency
	}
	if p.Rate <= 0 {
		p.Rate = DefaultProbeRate
	}
	if p.Rand == nil {
		p.Rand = cryptorand.Reader
	}
	p.mu.Lock()
	if p.waiting == nil {
		p.waiting = map[[8]byte]chan []byte{}
	}
	if p.pacer == nil {
		p.pacer = NewPacer(p.Rate)
	}
	p.mu.Unlock()
}

// Hello sends ProbeRequest (our whole default offer) up to tries times
// and reports whether anything with its cookie came back, with the answer.
// It is the quick "does IKE answer here at all" before a sweep.
func (p *Phase1Probe) Hello(ctx context.Context, tries int) ([]byte, bool, error) {
	if p.Send == nil {
		return nil, false, errors.New("ike: probe: no Send function")
	}
	p.defaults()
	for range max(tries, 1) {
		var cky [8]byte
		if _, err := io.ReadFull(p.Rand, cky[:]); err != nil {
			return nil, false, err
		}
		b, err := p.exchange(ctx, cky, ProbeRequest(cky))
		if err != nil || b != nil {
			return b, b != nil, err
		}
	}
	return nil, false, nil
}

// Run offers each proposal in its own message and returns one result per
// proposal, in the order of Proposals. It stops early, with what it has
// and ctx's error, when ctx ends.
func (p *Phase1Probe) Run(ctx context.Context) ([]Phase1Result, error) {
	if p.Send == nil {
		return nil, errors.New("ike: probe: no Send function")
	}
	p.defaults()
	props := p.Proposals
	if props == nil {
		props = ProbeIKEProposals()
	}
	results := make([]Phase1Result, len(props))
	for i, pr := range props {
		results[i].Proposal = pr
	}
	work := make(chan int)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range min(p.Concurrency, len(props)) {
		wg.Go(func() {
			for i := range work {
				if err := p.probeOne(ctx, &results[i]); err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}
		})
	}
feed:
	for i := range props {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return results, firstErr
}

// probeOne offers r.Proposal alone and reads the answer into r.
func (p *Phase1Probe) probeOne(ctx context.Context, r *Phase1Result) error {
	var cky [8]byte
	if _, err := io.ReadFull(p.Rand, cky[:]); err != nil {
		return err
	}
	b, err := p.exchange(ctx, cky, probeMessage(cky, []IKEProposal{r.Proposal}))
	if err != nil || b == nil {
		return err
	}
	readPhase1Answer(b, r)
	return nil
}

// readPhase1Answer sorts an answer into accepted or refused; anything else
// (unreadable, encrypted) counts as no answer.
func readPhase1Answer(b []byte, r *Phase1Result) {
	m, err := Parse(b)
	if err != nil {
		return
	}
	switch m.Header.Exchange {
	case ExchangeIDProt:
		sap, ok := FindPayload[*SA](m.Payloads)
		if !ok || len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
			return
		}
		chosen, life, _, err := phase1FromTransform(sap.Proposals[0].Transforms[0])
		if err != nil {
			return
		}
		r.Outcome, r.Chosen, r.Lifetime = Phase1Accepted, chosen, life
		for _, pl := range m.Payloads {
			if v, ok := pl.(*VendorID); ok {
				r.Vendors = append(r.Vendors, v.Data)
			}
		}
	case ExchangeInformational:
		if n, ok := FindPayload[*Notify](m.Payloads); ok {
			r.Outcome, r.Notify = Phase1Refused, n.MessageType
		}
	}
}

// exchange sends msg, whose initiator cookie is cky, once the rate allows,
// and waits Timeout for the first answer with that cookie (nil: none).
func (p *Phase1Probe) exchange(ctx context.Context, cky [8]byte, msg []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	p.mu.Lock()
	p.waiting[cky] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiting, cky)
		p.mu.Unlock()
	}()
	if err := p.pacer.Wait(ctx); err != nil {
		return nil, err
	}
	if err := p.Send(msg); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.sent++
	p.mu.Unlock()
	t := time.NewTimer(p.Timeout)
	defer t.Stop()
	select {
	case b := <-ch:
		return b, nil
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
