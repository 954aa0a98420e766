package ike

// The life of the child SAs (the ESP pairs): installed when a Quick Mode
// ends, rekeyed at about 90% of their lifetime (or, for pairs the server
// started, shortly before they expire), the old pair deleted a little
// after a rekey, dropped when they expire or the server deletes them. They
// are independent of the ISAKMP SA that made them: a phase 1 rekey or
// failure leaves them running (lifecycle.go).

import (
	"encoding/binary"
	"io"
	"time"
)

// rekeyNow starts a Quick Mode replacing the newest child.
func (s *Session) rekeyNow(now time.Time) {
	if s.ike == nil || len(s.children) == 0 {
		return
	}
	c := s.children[len(s.children)-1]
	if !c.superseded && !s.ike.rekeying(c) {
		s.startQuickMode(c, now)
	}
}

// installChild adds a freshly negotiated pair; older pairs are superseded.
func (s *Session) installChild(c *ChildSA, rekey bool, now time.Time) {
	c.established = now
	s.everChild = true
	c.expireAt = now.Add(c.Lifetime)
	c.rekeyAt = s.childRekeyAt(c, c.Lifetime)
	for _, old := range s.children {
		if old.superseded {
			continue
		}
		old.superseded = true
		// The side that started the rekey deletes the old pair (RFC 2409
		// leaves it open; charon and Windows do it that way). A pair the
		// server started is left for the server to delete, or to expire.
		if c.Initiator {
			old.deleteAt = now.Add(supersededGrace)
		}
		rekey = true
	}
	s.children = append(s.children, c)
	s.log.Info("ike: child SA up", "esp", c.Proposal.String(), "mode", c.Mode.String(),
		"spi_in", spiHex(c.In.SPI()), "spi_out", spiHex(c.Out.SPI()), "lifetime", c.Lifetime, "rekey", rekey)
	s.emit(Event{Kind: ChildUp, Child: c, Rekey: rekey})
}

// childRekeyAt is when we rekey c, which lives for life.
func (s *Session) childRekeyAt(c *ChildSA, life time.Duration) time.Time {
	if !c.Initiator {
		// The server started this pair, so it rekeys it (charon does, at
		// its own rekey time). Two rekeys at once would leave duplicate
		// pairs; we step in only if the server has not rekeyed shortly
		// before the pair expires.
		return c.established.Add(life - responderRekeyMargin(life))
	}
	return c.established.Add(rekeyTime(life, s.rand))
}

// shortenChild applies a lifetime the server stated after the pair was
// installed (RESPONDER-LIFETIME in an informational message). c.Lifetime,
// which the event consumer may read, keeps the negotiated value.
func (s *Session) shortenChild(c *ChildSA, life time.Duration) {
	if !c.established.Add(life).Before(c.expireAt) {
		return
	}
	s.log.Info("ike: the server states a shorter child SA lifetime (RESPONDER-LIFETIME)",
		"spi_in", spiHex(c.In.SPI()), "lifetime", life)
	c.expireAt = c.established.Add(life)
	c.rekeyAt = s.childRekeyAt(c, life)
}

// childBySPI finds the pair with spi as its inbound or outbound SPI.
func (s *Session) childBySPI(spi uint32) *ChildSA {
	for _, c := range s.children {
		if c.In.SPI() == spi || c.Out.SPI() == spi {
			return c
		}
	}
	return nil
}

// removeChildByOutSPI drops the pair whose outbound SPI the server deleted.
func (s *Session) removeChildByOutSPI(spi uint32) bool {
	for i, c := range s.children {
		if c.Out.SPI() == spi {
			s.children = append(s.children[:i], s.children[i+1:]...)
			s.emit(Event{Kind: ChildDown, Child: c})
			return true
		}
	}
	return false
}

// expireChildren drops the pairs that expired, and the superseded ones
// whose grace after a rekey of ours has ended (deleting them at the server).
func (s *Session) expireChildren(now time.Time) {
	kept := s.children[:0]
	for _, c := range s.children {
		switch {
		case c.superseded && !c.deleteAt.IsZero() && !now.Before(c.deleteAt):
			s.sendDeleteChild(c, now)
			s.emit(Event{Kind: ChildDown, Child: c})
			continue
		case !now.Before(c.expireAt):
			s.log.Info("ike: child SA expired", "spi_in", spiHex(c.In.SPI()))
			s.emit(Event{Kind: ChildDown, Child: c})
			continue
		}
		kept = append(kept, c)
	}
	clear(s.children[len(kept):])
	s.children = kept
}

// childTimers starts the child rekeys that are due (they need an ISAKMP
// SA), a new pair when none is left, and reports the next child deadline.
func (s *Session) childTimers(now time.Time, earlier func(time.Time)) {
	for _, c := range s.children {
		if s.ike != nil && !c.superseded && !s.ike.rekeying(c) {
			if now.Before(c.rekeyAt) {
				earlier(c.rekeyAt)
			} else {
				s.startQuickMode(c, now)
			}
		}
		earlier(c.expireAt)
		earlier(c.deleteAt)
	}
	// No child and none being negotiated (the server deleted them, or they
	// expired): negotiate a new one.
	if s.ike != nil && len(s.children) == 0 && !s.ike.quickModePending() {
		s.startQuickMode(nil, now)
	}
}

// responderRekeyMargin is how long before expiry we rekey an SA the server
// started: 3% of its lifetime, at least 2 s.
func responderRekeyMargin(life time.Duration) time.Duration {
	return max(life*3/100, 2*time.Second)
}

// rekeyTime is about 90% of life, less up to 5% random jitter so both
// sides rarely start a rekey at once.
func rekeyTime(life time.Duration, r io.Reader) time.Duration {
	var b [2]byte
	_, _ = io.ReadFull(r, b[:])
	jitter := time.Duration(binary.BigEndian.Uint16(b[:])) * (life / 20) / 65536
	return life*9/10 - jitter
}
