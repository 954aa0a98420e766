package ike

// Informational exchanges (RFC 2409 5.7): notifications, deletes and dead
// peer detection (RFC 3706). After phase 1 they are encrypted and start with
// HASH(1) = prf(SKEYID_a, M-ID | payloads); each uses a fresh IV derived from
// its message ID.

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"time"
)

// sendInformational sends an encrypted informational message under sa and
// returns it.
func (s *Session) sendInformational(sa *ikeSA, what string, payloads ...Payload) []byte {
	mid := s.newMID(sa)
	rest := AppendPayloads(nil, payloads)
	hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)
	msg, _, err := s.encrypt(sa, ExchangeInformational, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid),
		append([]Payload{&Hash{Data: hash}}, payloads...))
	if err != nil {
		s.log.Debug("ike: informational", "err", err)
		return nil
	}
	s.log.Debug(fmt.Sprintf("ike: sending INFORMATIONAL request %#08x %s (%s)", mid,
		summary(append([]Payload{&Hash{}}, payloads...)), what))
	s.send(msg, what)
	return msg
}

func (s *Session) sendDeleteChild(c *ChildSA, now time.Time) {
	if s.ike == nil {
		return
	}
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], c.In.SPI())
	s.sendInformational(s.ike, "delete ESP SA "+spiHex(c.In.SPI()),
		&Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{spi[:]}})
}

func (s *Session) sendDeleteISAKMP(sa *ikeSA) {
	s.sendInformational(sa, "delete ISAKMP SA", &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{sa.cookies()}})
}

func (s *Session) handleInformational(sa *ikeSA, m Message, now time.Time) error {
	var ps []Payload
	authenticated := m.Header.Flags&FlagEncryption != 0
	if !authenticated {
		// Unauthenticated: anyone on the path could have sent it. Only
		// the notifications answering our first Main Mode are taken (they
		// say why it failed; there is nothing yet to lose).
		switch {
		case sa.established || sa.responder:
			s.log.Debug("ike: ignoring an unencrypted informational message")
			return nil
		case sa.rekey:
			s.rekeyHint(sa, m.Payloads, now)
			return nil
		}
		ps = m.Payloads
	} else {
		var iv []byte
		switch {
		case sa.established:
			iv = phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, m.Header.MessageID)
		case sa.state == mmSent5:
			iv = phase2IV(sa.prop.Hash, sa.prop.Enc, sa.iv, m.Header.MessageID)
		default:
			return nil
		}
		var hash, rest []byte
		var err error
		ps, hash, rest, _, err = decryptHashed(sa, m, iv)
		if err != nil {
			s.log.Debug("ike: dropping undecryptable informational message", "err", err)
			return nil
		}
		if !hmac.Equal(hash, quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, m.Header.MessageID, rest)) {
			s.log.Debug("ike: dropping informational message with a wrong HASH")
			return nil
		}
		s.lastRx.Store(now.UnixNano())
	}
	s.log.Debug(fmt.Sprintf("ike: received INFORMATIONAL %#08x %s", m.Header.MessageID, summary(ps)))
	for _, p := range ps {
		switch p := p.(type) {
		case *Notify:
			if err := s.handleNotify(sa, p, now); err != nil {
				return err
			}
		case *Delete:
			if !authenticated {
				continue
			}
			if err := s.handleDelete(sa, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Session) handleNotify(sa *ikeSA, n *Notify, now time.Time) error {
	switch n.MessageType {
	case NotifyRUThere:
		if sa.established && len(n.Data) == 4 {
			ack := &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThereAck,
				SPI: append(sa.ckyI[:], sa.ckyR[:]...), Data: n.Data}
			s.sendInformational(sa, "R_U_THERE_ACK", ack)
		}
		return nil
	case NotifyRUThereAck:
		if sa.dpdOut != nil && len(n.Data) == 4 && binary.BigEndian.Uint32(n.Data) == sa.dpdSeq {
			sa.dpdOut = nil
		}
		return nil
	case NotifyResponderLifetime:
		if sa.established {
			s.responderLifetimeNotify(sa, n)
		}
		return nil
	case NotifyConnected:
		if sa.established {
			s.connectedInformational(sa, n, now)
		}
		return nil
	}
	if !n.MessageType.IsError() {
		s.log.Debug("ike: notification from the server", "type", n.MessageType.String())
		return nil
	}
	// An error notification: which exchange it answers decides how bad.
	phase1 := !sa.established
	firstChild := !phase1 && len(s.children) == 0
	if !phase1 && !firstChild {
		s.log.Warn("ike: the server reports " + n.MessageType.String())
		return nil
	}
	where := "Main Mode"
	offer := FormatIKEProposals(s.cfg.IKE)
	if phase1 && s.cfg.Aggressive {
		where, offer = "Aggressive Mode", FormatIKEProposals(aggressiveProposals(s.cfg.IKE))
		if n.MessageType == NotifyAuthenticationFailed || n.MessageType == NotifyInvalidIDInformation || n.MessageType == NotifyInvalidHashInformation {
			return failf(ErrAuthentication, "Aggressive Mode: the server reports %s: it has no group for the identity %s "+
				"(local-id), or its pre-shared key for it differs", n.MessageType, s.aggressiveLocalID())
		}
	}
	if !phase1 {
		where = "Quick Mode"
		offer = FormatESPProposals(s.espOffer()) + " (" + s.cfg.Mode.String() + " mode, UDP-encapsulated)"
		if n.MessageType == NotifyNoProposalChosen && s.nextPFS("NO-PROPOSAL-CHOSEN") {
			s.abandonQuickModes(sa)
			s.startQuickMode(nil, now)
			return nil
		}
	}
	if phase1 && sa.state == mmSent5 && n.MessageType != NotifyNoProposalChosen {
		// The answer to our first encrypted message is an error: the
		// server could not decrypt or verify it.
		kind := ErrAuthentication
		if s.cfg.Cert != nil {
			kind = ErrCertificate
		}
		return failf(kind, "the server answered our first encrypted Main Mode message with %s: %s", n.MessageType, s.authHint())
	}
	switch n.MessageType {
	case NotifyNoProposalChosen:
		hint := ""
		if !phase1 {
			hint = s.pfsHint()
		}
		return failf(ErrNoProposalChosen, "%s: no proposal chosen: the server accepted none of %s%s", where, offer, hint)
	case NotifyAuthenticationFailed, NotifyInvalidHashInformation:
		return failf(ErrAuthentication, "%s: the server reports %s: the pre-shared key does not match the server's",
			where, n.MessageType)
	case NotifyPayloadMalformed, NotifyInvalidPayloadType:
		if phase1 && sa.state == mmSent5 {
			return failf(ErrAuthentication, "the server could not read our Main Mode message 5 (%s): it decrypted "+
				"garbage, so the pre-shared key is most likely wrong", n.MessageType)
		}
		return failf(ErrRejected, "%s: the server says our message is malformed (%s)", where, n.MessageType)
	case NotifyInvalidIDInformation:
		if phase1 {
			return failf(ErrRejected, "Main Mode: the server rejected our identity %s (INVALID-ID-INFORMATION): "+
				"it may expect a different ID or a certificate", s.cfg.Local)
		}
		return failf(ErrRejected, "Quick Mode: the server rejected the traffic selectors (INVALID-ID-INFORMATION): "+
			"L2TP from %s to %s, UDP port %d, %s mode; check that the server allows L2TP/IPsec, or try --esp-mode %s",
			s.cfg.Local, s.cfg.Remote, L2TPPort, s.cfg.Mode, otherMode(s.cfg.Mode.String()))
	}
	return failf(ErrRejected, "%s: the server reports %s", where, n.MessageType)
}

func otherMode(m string) string {
	if m == "tunnel" {
		return "transport"
	}
	return "tunnel"
}

// handleDelete takes an authenticated Delete payload received under sa.
func (s *Session) handleDelete(sa *ikeSA, d *Delete) error {
	switch d.Protocol {
	case ProtoESP:
		for _, spi := range d.SPIs {
			if len(spi) == 4 && s.removeChildByOutSPI(binary.BigEndian.Uint32(spi)) {
				s.log.Info("ike: the server deleted a child SA", "spi_out", spiHex(binary.BigEndian.Uint32(spi)))
			}
		}
	case ProtoISAKMP:
		// The SPI names the ISAKMP SA by its cookies (RFC 2408 3.15),
		// whichever SA carries the message: after a rekey the server may
		// delete the old SA under the new one. Without a usable SPI, the
		// SA that carried it is meant.
		targets := []*ikeSA{sa}
		if len(d.SPIs) > 0 && len(d.SPIs[0]) == 16 {
			targets = targets[:0]
			for _, spi := range d.SPIs {
				if t := s.saByCookies(spi); t != nil {
					targets = append(targets, t)
				} else {
					s.log.Debug("ike: the server deleted an ISAKMP SA we do not know")
				}
			}
		}
		for _, t := range targets {
			if err := s.isakmpDeleted(t); err != nil {
				return err
			}
		}
	}
	return nil
}
