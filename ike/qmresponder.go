package ike

// Quick Mode, responder side (RFC 2409 5.5): the server starts one for its
// own first child SA (SoftEther, right after Main Mode) and for its rekeys
// (charon). We pick the first of its proposals that matches ours.
//
//	QM1                                  <- HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] [, NAT-OA ...]
//	QM2  HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ] [, NAT-OA ...]  ->
//	QM3                                  <- HDR*, HASH(3)
//
// A commit bit the server sets in its QM1 is not honoured: we never hold
// back our own SAs, so there is nothing to wait for.

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"time"
)

// quickModeRespond answers a Quick Mode the server started.
func (s *Session) quickModeRespond(sa *ikeSA, m Message, raw []byte, now time.Time) {
	mid := m.Header.MessageID
	ps, hash, rest, next, err := decryptHashed(sa, m, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid))
	if err != nil {
		s.log.Debug("ike: dropping undecryptable quick mode message", "err", err)
		return
	}
	if !hmac.Equal(hash, quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)) {
		s.log.Debug("ike: dropping quick mode message 1 with a wrong HASH(1)")
		return
	}
	s.log.Debug(fmt.Sprintf("ike: received QUICK_MODE request %#08x %s", mid, summary(ps)))
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 {
		s.log.Debug("ike: dropping quick mode message 1 without SA or nonce")
		return
	}
	want := s.encapMode(sa)
	var chosen *Proposal
	var tr Transform
	for _, p := range sap.Proposals {
		if p.Protocol != ProtoESP || len(p.SPI) != 4 {
			continue
		}
		for _, t := range p.Transforms {
			ep, encap, life, err := espProposalFromTransform(t)
			if err != nil || encap != want || !acceptableESP(s.cfg.ESP, ep) {
				continue
			}
			pp := p
			chosen, tr = &pp, t
			if life <= 0 {
				life = s.cfg.ESPLifetime
			}
			q := &quickMode{mid: mid, ni: bytes.Clone(nonce.Data), nr: s.randBytes(32), spiIn: s.randUint32(),
				spiOut: binary.BigEndian.Uint32(p.SPI), prop: ep, encap: encap, life: life, iv: next,
				lastIn: bytes.Clone(raw[:m.Header.Length])}
			s.quickModeAnswer(sa, q, ps, chosen, tr, now)
			return
		}
	}
	s.log.Info("ike: declined a quick mode from the server: none of its proposals matches ours",
		"mode", s.cfg.Mode.String(), "encapsulation", want)
}

func (s *Session) quickModeAnswer(sa *ikeSA, q *quickMode, ps []Payload, p *Proposal, t Transform, now time.Time) {
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiIn)
	answer := Proposal{Number: p.Number, Protocol: ProtoESP, SPI: spi[:], Transforms: []Transform{t}}
	rest := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{answer}}, &Nonce{Data: q.nr}}
	if q.prop.Group != 0 {
		ke, ok := FindPayload[*KeyExchange](ps)
		if !ok {
			s.log.Debug("ike: dropping quick mode with PFS but no KE")
			return
		}
		dh, err := NewDH(q.prop.Group, s.rand)
		if err != nil {
			s.log.Debug("ike: dropping quick mode", "err", err)
			return
		}
		if q.gxy, err = dh.Shared(ke.Data); err != nil {
			s.log.Debug("ike: dropping quick mode with an invalid KE", "err", err)
			return
		}
		rest = append(rest, &KeyExchange{Data: dh.Public()})
	}
	// Echo the server's traffic selectors and answer its NAT-OA with ours.
	natoa := false
	for _, p := range ps {
		switch p := p.(type) {
		case *Identification:
			rest = append(rest, p)
		case *NATOA:
			natoa = true
		}
	}
	if natoa {
		rest = append(rest, &NATOA{Draft: sa.draft, Addr: s.cfg.Remote}, &NATOA{Draft: sa.draft, Addr: s.cfg.Local})
	}
	restBytes := AppendPayloads(nil, rest)
	hash := quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, restBytes)
	msg, next, err := s.encrypt(sa, ExchangeQuickMode, q.mid, q.iv, append([]Payload{&Hash{Data: hash}}, rest...))
	if err != nil {
		s.log.Debug("ike: quick mode answer", "err", err)
		return
	}
	q.iv = next
	q.reply = msg
	sa.qms[q.mid] = q
	what := fmt.Sprintf("QUICK_MODE response %#08x %s", q.mid, summary(append([]Payload{&Hash{}}, rest...)))
	q.out = s.sendPending(msg, what, now, func() error {
		s.log.Debug("ike: the server did not finish its quick mode", "mid", fmt.Sprintf("%#08x", q.mid))
		return nil
	})
}
