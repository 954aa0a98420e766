package ike

// The commit bit (RFC 2408 3.1 and 4.8, RFC 2409 5.5). A responder that
// sets it in Quick Mode message 2 has not installed its SAs yet: "the
// entity that did not set the Commit Bit MUST wait for ... the CONNECTED
// Notify Message" before it uses them. It comes as a fourth Quick Mode
// message (racoon's form) or as an informational message:
//
//	QM2                                  <- HDR*(C), HASH(2), SA, Nr [, KE ] [, IDci, IDcr ]
//	QM3  HDR*, HASH(3)                   ->
//	QM4                                  <- HDR*, HASH(4), N(CONNECTED)
//	                                        HASH(4) = prf(SKEYID_a, M-ID | N)
//
// Until then the pair's inbound SA may already receive (ChildInbound) but
// nothing is sent on its outbound SA; ChildUp follows CONNECTED. QM3 is
// retransmitted meanwhile (a lost QM3 is why a server stays silent);
// without CONNECTED the Quick Mode fails like an unanswered one.

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"time"
)

// awaitConnected holds the pair of a Quick Mode whose QM2 had the commit
// bit until the server's CONNECTED; qm3 is our last message, iv the CBC
// chain after it (the IV of QM4).
func (s *Session) awaitConnected(sa *ikeSA, q *quickMode, qm3, iv []byte, now time.Time) error {
	c, err := s.newChild(sa, q)
	if err != nil {
		return s.quickModeFailed(q, err)
	}
	q.commit, q.child, q.iv = true, c, iv
	s.log.Debug(fmt.Sprintf("ike: quick mode %#08x: the server set the commit bit; waiting for CONNECTED", q.mid))
	s.emit(Event{Kind: ChildInbound, Child: c})
	first := q.rekeyOf == nil && len(s.children) == 0
	q.out = &pending{msg: qm3, what: fmt.Sprintf("QUICK_MODE request %#08x [ HASH ] (awaiting CONNECTED)", q.mid),
		natt: s.natt, deadline: now.Add(s.cfg.RetransmitTimeout), giveUp: func() error {
			s.dropPendingChild(q)
			err := failf(ErrNoResponse, "Quick Mode: the server set the commit bit but sent no CONNECTED notification "+
				"after %d tries of message 3", s.cfg.Retransmits+1)
			if first && len(s.children) == 0 {
				return err
			}
			s.log.Warn(err.Msg + "; the rekey will be tried again")
			return nil
		}}
	return nil
}

// connectedQuickMode takes a Quick Mode message after our QM3 with the
// commit bit: HASH(4) and the server's notification.
func (s *Session) connectedQuickMode(sa *ikeSA, q *quickMode, m Message, now time.Time) error {
	ps, hash, rest, _, err := decryptHashed(sa, m, q.iv)
	if err != nil {
		s.log.Debug("ike: dropping undecryptable quick mode message", "err", err)
		return nil
	}
	if !hmac.Equal(hash, quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, rest)) {
		s.log.Debug("ike: dropping quick mode message 4 with a wrong HASH(4)")
		return nil
	}
	s.log.Debug(fmt.Sprintf("ike: received QUICK_MODE response %#08x %s", q.mid, summary(ps)))
	s.lastRx.Store(now.UnixNano())
	for _, p := range ps {
		if n, ok := p.(*Notify); ok {
			return s.commitResult(q, n.MessageType, now)
		}
	}
	s.log.Debug("ike: quick mode message 4 without a notification")
	return nil
}

// connectedInformational takes a CONNECTED notification in an
// informational message under sa: it names the pair by one of its SPIs,
// or by none when only one pair waits.
func (s *Session) connectedInformational(sa *ikeSA, n *Notify, now time.Time) {
	var match *quickMode
	for _, q := range sa.qms {
		if !q.commit || q.done {
			continue
		}
		if len(n.SPI) == 4 {
			if spi := binary.BigEndian.Uint32(n.SPI); spi != q.spiIn && spi != q.spiOut {
				continue
			}
		} else if match != nil {
			s.log.Debug("ike: ignoring a CONNECTED notification that does not say which SA it is for")
			return
		}
		match = q
	}
	if match == nil {
		s.log.Debug("ike: ignoring a CONNECTED notification for no pending SA")
		return
	}
	_ = s.commitResult(match, n.MessageType, now) // only an error notification fails, and it is not a CONNECTED
}

// commitResult ends the wait of q: CONNECTED installs the pair; an error
// notification fails the Quick Mode.
func (s *Session) commitResult(q *quickMode, t NotifyType, now time.Time) error {
	if t != NotifyConnected {
		if !t.IsError() {
			return nil
		}
		s.dropPendingChild(q)
		return s.quickModeFailed(q, failf(ErrRejected, "Quick Mode: the server reports %s instead of CONNECTED", t))
	}
	c := q.child
	q.child, q.out, q.done, q.commit = nil, nil, true, false
	s.log.Debug(fmt.Sprintf("ike: quick mode %#08x: CONNECTED", q.mid))
	s.installChild(c, q.rekeyOf != nil, now)
	return nil
}

// dropPendingChild withdraws the pair of q that waits for CONNECTED, if
// any: its inbound SA was announced with ChildInbound.
func (s *Session) dropPendingChild(q *quickMode) {
	c := q.child
	if c == nil {
		return
	}
	q.child = nil
	s.sendDeleteChild(c, time.Now())
	s.emit(Event{Kind: ChildDown, Child: c})
}
