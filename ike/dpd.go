package ike

// Dead peer detection (RFC 3706) on the ISAKMP SA we use, and the probe a
// clear INVALID-SPI/INVALID-COOKIE notification brings forward.

import (
	"encoding/binary"
	"time"
)

// dpd runs dead peer detection on the established SA and returns when it
// must run next.
func (s *Session) dpd(now time.Time) (time.Time, error) {
	sa := s.ike
	if !sa.peerDPD || s.cfg.DPDDelay < 0 || sa.dpdOut != nil {
		s.restartHint = false
		return time.Time{}, nil
	}
	fast := s.restartHint
	s.restartHint = false
	last := time.Unix(0, s.lastRx.Load())
	due := last.Add(s.cfg.DPDDelay)
	if now.Before(due) && !fast {
		return due, nil
	}
	if sa.dpdSeq == 0 {
		sa.dpdSeq = binary.BigEndian.Uint32(s.randBytes(4)) >> 1
	}
	sa.dpdSeq++
	var seq [4]byte
	binary.BigEndian.PutUint32(seq[:], sa.dpdSeq)
	n := &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere, SPI: append(sa.ckyI[:], sa.ckyR[:]...), Data: seq[:]}
	msg := s.sendInformational(sa, "R_U_THERE", n)
	if msg == nil {
		return time.Time{}, nil
	}
	sa.dpdOut = &pending{msg: msg, what: "R_U_THERE", natt: s.natt, deadline: now.Add(s.cfg.RetransmitTimeout),
		giveUp: func() error {
			return failf(ErrPeerGone, "the server stopped answering dead peer detection (no R-U-THERE-ACK after %d tries, "+
				"nothing received for %s)", s.cfg.Retransmits+1, time.Since(time.Unix(0, s.lastRx.Load())).Round(time.Second))
		}}
	if fast {
		sa.dpdOut.fast, sa.dpdOut.deadline = true, now.Add(fastProbeInterval)
		sa.dpdOut.giveUp = func() error {
			return failf(ErrPeerGone, "the server no longer knows our SAs (it answered with INVALID-SPI/INVALID-COOKIE "+
				"and not with an R-U-THERE-ACK after %d tries): it has most likely restarted", fastProbeTries)
		}
	}
	return sa.dpdOut.deadline, nil
}

// unknownSAHint looks at a clear informational message for an SA we do
// not know: a restarted server answers our ESP and IKE packets with
// INVALID-SPI or INVALID-COOKIE notifications. They are not authenticated,
// so they prove nothing by themselves; they only make the next dead peer
// detection probe go out now, on a short schedule. A live server answers
// it at once; one that lost our SAs cannot.
func (s *Session) unknownSAHint(msg *Message) {
	if s.ike == nil || !s.ike.established || msg.Header.Exchange != ExchangeInformational ||
		msg.Header.Flags&FlagEncryption != 0 || s.ike.dpdOut != nil {
		return
	}
	for _, p := range msg.Payloads {
		if n, ok := p.(*Notify); ok && (n.MessageType == NotifyInvalidSPI || n.MessageType == NotifyInvalidCookie) {
			if !s.restartHint {
				s.log.Info("ike: the server reports an unknown SA; probing whether it restarted", "notify", n.MessageType)
			}
			s.restartHint = true
			return
		}
	}
}
