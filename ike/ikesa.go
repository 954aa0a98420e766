package ike

// The ISAKMP SA as the Session keeps it, from its first Main Mode message to
// its deletion, and the retransmission of messages that await an answer
// (RFC 2408 5: the sender of a request retransmits it until answered).

import "time"

// Main Mode states of an ikeSA: mmSent* as the initiator, mmRespSent* as the
// responder (the server started it).
const (
	mmSent1 = iota + 1
	mmSent3
	mmSent5
	mmRespSent2
	mmRespSent4
	mmDone
)

// ikeSA is one ISAKMP SA, from its first message to its deletion. ckyI is
// the cookie of whoever started it, which is how messages find it.
type ikeSA struct {
	ckyI, ckyR [8]byte
	state      int
	// rekey: not the session's first phase 1 (no INITIAL-CONTACT; a
	// failure is retried while the ESP SAs last instead of ending the
	// session).
	rekey bool
	// responder: the server started this Main Mode (it rekeys phase 1
	// itself); we answered it.
	responder bool

	prop     IKEProposal
	life     time.Duration
	draft    bool // NAT-T negotiated with a draft, not RFC 3947
	peerDPD  bool
	vendors  []string
	peerID   string
	localID  string
	auth     authMethod // the negotiated authentication method
	saib     []byte     // the initiator's SA payload body, for HASH_I/HASH_R
	idib     []byte     // our ID payload body, for Aggressive Mode's HASH_I
	dh       *DH
	ni, nr   []byte
	gxi, gxr []byte
	keys     Phase1Keys
	iv       []byte // CBC chaining during Main Mode
	// lastBlock is the last CBC block of Main Mode, the seed of every
	// phase 2 IV (RFC 2409 appendix B).
	lastBlock []byte

	badMM6 bool // a message 6 arrived that did not verify
	// hint is an unauthenticated error notification received for this
	// Main Mode while it was a rekey (see rekeyHint).
	hint NotifyType
	// Responder: the last message received and our answer to it, to
	// answer retransmissions; a half-open SA is dropped at abandonAt.
	lastIn, reply []byte
	abandonAt     time.Time

	established bool
	upAt        time.Time // when it was established
	rekeyAt     time.Time
	expireAt    time.Time
	out         *pending // the Main Mode message awaiting its answer
	qms         map[uint32]*quickMode
	dpdSeq      uint32
	dpdOut      *pending
}

// pending is a sent message awaiting its answer.
type pending struct {
	msg      []byte
	what     string
	natt     bool
	tries    int
	deadline time.Time
	giveUp   func() error // returns the failure, or nil after cleaning up
	// fast, for a probe after a hint that the server restarted: a fixed
	// interval and try count instead of the configured backoff.
	fast bool
}

// A fast probe is sent fastProbeTries times, fastProbeInterval apart: a live
// server answers an R-U-THERE within milliseconds.
const (
	fastProbeInterval = time.Second
	fastProbeTries    = 3
)

func (sa *ikeSA) pendings() []*pending {
	var ps []*pending
	if sa.out != nil {
		ps = append(ps, sa.out)
	}
	for _, q := range sa.qms {
		if q.out != nil {
			ps = append(ps, q.out)
		}
	}
	if sa.dpdOut != nil {
		ps = append(ps, sa.dpdOut)
	}
	return ps
}

func (sa *ikeSA) quickModePending() bool {
	for _, q := range sa.qms {
		if !q.done {
			return true
		}
	}
	return false
}

func (sa *ikeSA) rekeying(c *ChildSA) bool {
	for _, q := range sa.qms {
		if !q.done && q.rekeyOf == c {
			return true
		}
	}
	return false
}

// cookies is the SPI of an ISAKMP SA in Delete and Notify payloads (RFC
// 2408 3.14, 3.15): the initiator's cookie, then the responder's.
func (sa *ikeSA) cookies() []byte { return append(sa.ckyI[:], sa.ckyR[:]...) }

// sendPending sends a message that expects an answer and arms its
// retransmission.
func (s *Session) sendPending(msg []byte, what string, now time.Time, giveUp func() error) *pending {
	p := &pending{msg: msg, what: what, natt: s.natt, deadline: now.Add(s.cfg.RetransmitTimeout), giveUp: giveUp}
	s.log.Debug("ike: sending " + what)
	s.send(msg, what)
	return p
}

// retransmitLimit is how many times p is sent again before giving up.
func (s *Session) retransmitLimit(p *pending) int {
	if p.fast {
		return fastProbeTries - 1
	}
	return s.cfg.Retransmits
}

func (s *Session) retransmit(sa *ikeSA, p *pending, now time.Time) error {
	if p.tries >= s.retransmitLimit(p) {
		if sa.out == p {
			sa.out = nil
		}
		if sa.dpdOut == p {
			sa.dpdOut = nil
		}
		for mid, q := range sa.qms {
			if q.out == p {
				q.out = nil
				delete(sa.qms, mid)
			}
		}
		return p.giveUp()
	}
	p.tries++
	t := s.cfg.RetransmitTimeout << p.tries
	if t > retransmitCap || t <= 0 {
		t = retransmitCap
	}
	if p.fast {
		t = fastProbeInterval
	}
	p.deadline = now.Add(t)
	s.log.Debug("ike: retransmitting "+p.what, "try", p.tries)
	if err := s.transmit(p.msg, p.natt); err != nil {
		s.log.Debug("ike: send failed", "message", p.what, "err", err)
	}
	return nil
}

// waited is how long a message goes unanswered before we give up.
func (s *Session) waited() time.Duration {
	var total time.Duration
	for i := 0; i <= s.cfg.Retransmits; i++ {
		t := s.cfg.RetransmitTimeout << i
		if t > retransmitCap || t <= 0 {
			t = retransmitCap
		}
		total += t
	}
	return total
}
