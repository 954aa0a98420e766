package ike

// The life of the ISAKMP SAs: up, rekeyed, replaced, deleted, expired.
//
// The child SAs carry the data on their own; an ISAKMP SA is needed only to
// negotiate (rekey) them, for dead peer detection and for deletes. So a
// phase 1 rekey that fails (no answer, NO-PROPOSAL-CHOSEN, a bad answer)
// does not end the session: it is logged and tried again after 5 s, 10 s,
// 20 s ... up to 2 min (plus up to 25% jitter), while the old ISAKMP SA
// keeps rekeying the children and answering DPD until it expires. When it
// has expired (or the server deleted it) and no new one could be made, the
// children run on until their own lifetimes end; the session ends, with
// the last failure as its error, when the last child has expired with no
// ISAKMP SA to renew it. Dead peer detection on the old SA still ends the
// session when the server is gone.
//
// Unencrypted notifications for a rekey Main Mode (anyone on the path sees
// its cookies) only make the attempt give up sooner (rekeyHint); they never
// end the session. A Delete names the ISAKMP SA it removes by its cookies,
// whichever SA carried it: deleting an old one leaves the current one alone.
// A server that rekeys phase 1 itself starts a Main Mode that we answer
// (mmresponder.go); its new SA replaces ours, and the one it replaced is
// kept, for Quick Modes and informational messages the server still sends
// under it, until the server deletes it or it expires.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"time"
)

// Retries of a failed phase 1 rekey: phase1RetryMin after the first
// failure, doubling up to phase1RetryMax.
const (
	phase1RetryMin = 5 * time.Second
	phase1RetryMax = 2 * time.Minute
)

// allSAs are the ISAKMP SAs the session knows, current or not.
func (s *Session) allSAs() []*ikeSA {
	sas := make([]*ikeSA, 0, 3+len(s.old))
	for _, sa := range []*ikeSA{s.mm, s.peerMM, s.ike} {
		if sa != nil {
			sas = append(sas, sa)
		}
	}
	return append(sas, s.old...)
}

// saByCookies finds the ISAKMP SA a Delete or Notify payload names by its
// SPI, the two cookies (RFC 2408 3.14, 3.15).
func (s *Session) saByCookies(spi []byte) *ikeSA {
	if len(spi) != 16 {
		return nil
	}
	for _, sa := range s.allSAs() {
		if bytes.Equal(sa.ckyI[:], spi[:8]) && bytes.Equal(sa.ckyR[:], spi[8:]) {
			return sa
		}
	}
	return nil
}

// phase1Tick drops the ISAKMP SAs that expired, ends the session when
// neither an ISAKMP SA nor a child is left, and starts our phase 1 rekey
// (or its retry) when it is due.
func (s *Session) phase1Tick(now time.Time, earlier func(time.Time)) error {
	if s.ike != nil && !now.Before(s.ike.expireAt) {
		s.log.Warn("ike: the ISAKMP SA expired before a new one could be made; the child SAs run on until they expire",
			"children", len(s.children))
		s.retire(s.ike)
		s.ike = nil
	}
	kept := s.old[:0]
	for _, sa := range s.old {
		if now.Before(sa.expireAt) {
			kept = append(kept, sa)
			earlier(sa.expireAt)
		}
	}
	clear(s.old[len(kept):])
	s.old = kept
	if s.peerMM != nil && !now.Before(s.peerMM.abandonAt) {
		s.log.Info("ike: the server did not finish its phase 1 rekey")
		s.peerMM = nil
	}
	if s.peerMM != nil {
		earlier(s.peerMM.abandonAt)
	}
	if s.everUp && s.ike == nil && len(s.children) == 0 {
		return s.phase1Lost()
	}
	if s.mm == nil && s.everUp {
		due := now // no ISAKMP SA: the children need one for their rekeys
		if s.ike != nil {
			due = s.ike.rekeyAt
		}
		if s.p1RetryAt.After(due) {
			due = s.p1RetryAt
		}
		if now.Before(due) {
			earlier(due)
		} else {
			s.startMainMode(now)
		}
	}
	if s.ike != nil {
		earlier(s.ike.expireAt)
	}
	return nil
}

// phase1Lost is the end of a session whose children expired with no
// ISAKMP SA left to renew them.
func (s *Session) phase1Lost() error {
	kind, why := ErrPeerGone, "the ISAKMP SA expired or the server deleted it"
	var e *Error
	if errors.As(s.p1Err, &e) {
		kind, why = e.Kind, strings.TrimPrefix(e.Msg, "ike: ")
	}
	return failf(kind, "the child SAs expired and no ISAKMP SA was left to renew them (%s)", why)
}

// mainModeFailed ends a Main Mode of ours that failed with err. The
// session's first one ends the session; a later one is retried with
// backoff (see the top of this file).
func (s *Session) mainModeFailed(sa *ikeSA, err error) error {
	if s.mm == sa {
		s.mm = nil
	}
	if !sa.rekey {
		return err
	}
	s.p1Failures++
	d := s.phase1RetryDelay(s.p1Failures)
	s.p1RetryAt = time.Now().Add(d)
	s.p1Err = err
	s.log.Warn("ike: phase 1 rekey failed; the child SAs stay up and it is tried again",
		"attempt", s.p1Failures, "retry_in", d.Round(time.Millisecond), "err", err.Error())
	return nil
}

// phase1RetryDelay is the wait after the nth failure in a row.
func (s *Session) phase1RetryDelay(n int) time.Duration {
	d := phase1RetryMax
	if n <= 6 {
		d = min(phase1RetryMin<<(n-1), phase1RetryMax)
	}
	var b [2]byte
	_, _ = io.ReadFull(s.rand, b[:])
	return d + time.Duration(binary.BigEndian.Uint16(b[:]))*(d/4)/65536
}

// rekeyHint takes an unencrypted informational message for a rekey Main
// Mode of ours. It is not authenticated: anyone on the path sees the
// cookies and can send one. So it neither ends the session nor the
// exchange (a genuine answer that follows is still taken); an error
// notification only stops the retransmissions, so that without such an
// answer the attempt fails within one retransmission timeout and the next
// one comes sooner.
func (s *Session) rekeyHint(sa *ikeSA, ps []Payload, now time.Time) {
	for _, p := range ps {
		n, ok := p.(*Notify)
		if !ok || !n.MessageType.IsError() {
			continue
		}
		if sa.hint == 0 {
			s.log.Warn("ike: phase 1 rekey: unencrypted error notification from the server; trying again sooner "+
				"unless a real answer follows", "notify", n.MessageType.String())
		}
		sa.hint = n.MessageType
		if o := sa.out; o != nil {
			o.tries = max(o.tries, s.retransmitLimit(o))
			if d := now.Add(s.cfg.RetransmitTimeout); d.Before(o.deadline) {
				o.deadline = d
			}
		}
		return
	}
	s.log.Debug("ike: ignoring an unencrypted informational message during the phase 1 rekey", "payloads", summary(ps))
}

// phase1Up makes sa, just established by either side, the ISAKMP SA we use.
func (s *Session) phase1Up(sa *ikeSA, now time.Time) {
	sa.state = mmDone
	sa.established = true
	sa.upAt = now
	sa.expireAt = now.Add(sa.life)
	sa.rekeyAt = s.phase1RekeyAt(sa)
	info := sa.info()
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
	old := s.ike
	s.ike = sa
	s.p1Failures, s.p1RetryAt, s.p1Err = 0, time.Time{}, nil
	if !s.everUp {
		s.everUp = true
		s.log.Info("ike: phase 1 up", "ike", sa.prop.String(), "lifetime", sa.life, "nat_t", info.NATT, "peer_id", sa.peerID)
		s.emit(Event{Kind: Phase1Up, Phase1: info})
		if !s.manualQM {
			s.startQuickMode(nil, now)
		}
		return
	}
	by := "us"
	if sa.responder {
		by = "the server"
		if s.mm != nil {
			// Ours is no longer needed; the server drops it half-open.
			s.log.Debug("ike: abandoning our phase 1 rekey: the server's finished first")
			s.mm = nil
		}
	}
	s.log.Info("ike: phase 1 rekeyed", "by", by, "ike", sa.prop.String(), "lifetime", sa.life, "peer_id", sa.peerID)
	if old != nil {
		// Children are independent of the ISAKMP SA that made them. The
		// side that rekeyed deletes the old SA: we do when it was us. The
		// server's rekey leaves it to the server, and we keep answering
		// under it until then or until it expires.
		s.retire(old)
		if sa.responder {
			s.old = append(s.old, old)
		} else {
			s.sendDeleteISAKMP(old)
		}
	}
	s.emit(Event{Kind: Phase1Rekeyed, Phase1: info})
}

// phase1RekeyAt is when we rekey sa.
func (s *Session) phase1RekeyAt(sa *ikeSA) time.Time {
	if sa.responder {
		// The server rekeys what it started; we step in only shortly
		// before it expires.
		return sa.expireAt.Add(-responderRekeyMargin(sa.life))
	}
	return sa.upAt.Add(rekeyTime(sa.life, s.rand))
}

func (sa *ikeSA) info() Phase1Info {
	info := Phase1Info{Proposal: sa.prop, Lifetime: sa.life, NATT: "rfc3947", PeerID: sa.peerID, LocalID: sa.localID, Vendors: sa.vendors, DPD: sa.peerDPD}
	if sa.draft {
		info.NATT = "draft"
	}
	return info
}

// retire stops using an ISAKMP SA that was replaced, expired or deleted:
// our exchanges on it are abandoned (tick restarts them on the new SA).
func (s *Session) retire(sa *ikeSA) {
	for mid, q := range sa.qms {
		if q.initiator && !q.done {
			s.dropPendingChild(q)
			delete(sa.qms, mid)
		}
	}
	sa.out, sa.dpdOut = nil, nil
}

// isakmpDeleted removes an ISAKMP SA the server deleted. Without the
// current one the children cannot be rekeyed, so phase1Tick negotiates a
// new one; with no child left either, the connection is gone.
func (s *Session) isakmpDeleted(sa *ikeSA) error {
	switch sa {
	case s.ike:
		s.retire(sa)
		s.ike = nil
		if len(s.children) == 0 {
			return failf(ErrPeerGone, "the server deleted the IPsec connection (its ISAKMP and ESP SAs)")
		}
		s.log.Info("ike: the server deleted the ISAKMP SA; negotiating a new one")
	case s.mm:
		return s.mainModeFailed(sa, failf(ErrRejected, "phase 1 rekey failed: the server deleted the new ISAKMP SA"))
	case s.peerMM:
		s.peerMM = nil
	default:
		for i, o := range s.old {
			if o == sa {
				s.old = append(s.old[:i], s.old[i+1:]...)
				s.log.Info("ike: the server deleted the ISAKMP SA it replaced")
			}
		}
	}
	return nil
}

// phase1Notifies applies the status notifications of a Main Mode message
// for sa: RESPONDER-LIFETIME (RFC 2407 4.6.3.1), the lifetime the responder
// chose for it.
func (s *Session) phase1Notifies(sa *ikeSA, ps []Payload) {
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.MessageType == NotifyResponderLifetime &&
			(n.Protocol == ProtoISAKMP || n.Protocol == 0) {
			if life := phase1ResponderLifetime(n.Data); life > 0 {
				s.shortenPhase1(sa, life)
			}
		}
	}
}

// responderLifetimeNotify honours RESPONDER-LIFETIME in an authenticated
// informational message under sa, for the ISAKMP SA (by its cookies, or sa
// itself) or the child SA (by an SPI) it names.
func (s *Session) responderLifetimeNotify(sa *ikeSA, n *Notify) {
	switch n.Protocol {
	case ProtoISAKMP, 0:
		t := sa
		if len(n.SPI) == 16 {
			t = s.saByCookies(n.SPI)
		}
		if life := phase1ResponderLifetime(n.Data); t != nil && life > 0 {
			s.shortenPhase1(t, life)
		}
	case ProtoESP:
		if len(n.SPI) != 4 {
			return
		}
		c := s.childBySPI(binary.BigEndian.Uint32(n.SPI))
		if life := responderLifetime(n.Data); c != nil && life > 0 {
			s.shortenChild(c, life)
		}
	}
}

// phase1ResponderLifetime reads the lifetime of a phase 1 RESPONDER-LIFETIME.
// RFC 2407 4.6.3.1 defines the notification for IPsec SAs, with the IPsec
// DOI's SA Life Type/Duration attributes (1 and 2); for an ISAKMP SA the
// Oakley Life Type/Duration (11 and 12, RFC 2409 appendix A) are taken too.
func phase1ResponderLifetime(data []byte) time.Duration {
	attrs, err := parseAttributes(data)
	if err != nil {
		return 0
	}
	for _, p := range [...][2]AttributeType{{AttrLifeType, AttrLifeDuration}, {AttrSALifeType, AttrSALifeDuration}} {
		if life, err := lifeSeconds(attrs, p[0], p[1]); err == nil && life > 0 {
			return life
		}
	}
	return 0
}

// shortenPhase1 applies a lifetime the responder chose for sa. Only a
// shorter one counts: ours still bounds the SA.
func (s *Session) shortenPhase1(sa *ikeSA, life time.Duration) {
	if life >= sa.life {
		return
	}
	s.log.Info("ike: the server states a shorter ISAKMP SA lifetime (RESPONDER-LIFETIME)", "lifetime", life, "proposed", sa.life)
	sa.life = life
	if !sa.established {
		return // phase1Up schedules from sa.life
	}
	sa.expireAt = sa.upAt.Add(life)
	sa.rekeyAt = s.phase1RekeyAt(sa)
	if sa == s.ike {
		s.mu.Lock()
		s.info.Lifetime = life
		s.mu.Unlock()
	}
}

// deleteAll tells the server we are leaving: Delete payloads for every
// child and for the ISAKMP SAs. Best effort, no answer expected.
func (s *Session) deleteAll() {
	now := time.Now()
	if s.ike != nil {
		for _, q := range s.ike.qms {
			s.dropPendingChild(q)
		}
	}
	for _, c := range s.children {
		s.sendDeleteChild(c, now)
		s.emit(Event{Kind: ChildDown, Child: c})
	}
	s.children = nil
	for _, sa := range s.allSAs() {
		if sa.established && now.Before(sa.expireAt) {
			s.sendDeleteISAKMP(sa)
		}
	}
}
