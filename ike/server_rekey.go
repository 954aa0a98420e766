package ike

// Quick Mode started by the Responder, to replace a child SA the client has
// not replaced in time (RFC 2409 5.5 lets either side of an ISAKMP SA start
// one; charon does the same as a responder):
//
//	QM1  HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] [, NAT-OAi, NAT-OAr ]  ->
//	QM2                                  <- HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ] [, NAT-OAi, NAT-OAr ]
//	QM3  HDR*, HASH(3)                   ->
//
// At the pair's soft lifetime (ESPRekeyMargin before it expires, less some
// jitter), unless the client has replaced it or is negotiating, we offer
// the pair's own proposal, encapsulation mode and lifetime, with PFS in its
// group if it had PFS. The traffic selectors are the pair's, turned around:
// IDci is the initiator's side, ours now. In UDP-encapsulated transport
// mode NAT-OA carries our address and the client's as we see it (RFC 3947
// 5.2). Once QM2 verifies we send QM3 and install the new pair (OnChildSA
// with Rekey); a repeated QM2 (our QM3 was lost) gets QM3 again. The pair
// it replaces is deleted supersededGrace later, so the packets already
// sealed with it still open. If the client does not answer or refuses, we
// try again halfway to the pair's expiry while there is time.
//
// Collisions: if both sides start at once, both Quick Modes finish and both
// new pairs are kept (each side sends with its newest pair and can open
// both); each side deletes the pair it replaced. A pair that is nobody's
// newest any more expires at its end.

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// childRekeyAt is when we replace a pair that came up at up and lives for
// life (zero: never).
func (r *Responder) childRekeyAt(up time.Time, life time.Duration) time.Time {
	m := r.cfg.ESPRekeyMargin
	if m < 0 || life <= 0 {
		return time.Time{}
	}
	if m == 0 {
		m = life / 10
	}
	m = min(m, life/2)
	jitter := time.Duration(binary.BigEndian.Uint16(r.randBytes(2))) * (life / 20) / 65536
	return up.Add(life - m - jitter)
}

// rekeyTick starts our rekey of c when it is due.
func (r *Responder) rekeyTick(p *rpeer, c *rchild, now time.Time, earlier func(time.Time)) {
	if c.rekeyAt.IsZero() || c.superseded || c.rekeying != nil {
		return
	}
	if now.Before(c.rekeyAt) {
		earlier(c.rekeyAt)
		return
	}
	sa := p.current()
	if sa == nil {
		// No ISAKMP SA to negotiate under: the pair runs until it expires
		// or the client makes a new one (its Input runs Tick again).
		return
	}
	for _, s := range p.sas {
		for _, q := range s.qm {
			if !q.initiator && !q.done {
				// The client is negotiating, most likely this very rekey:
				// let it finish rather than collide.
				earlier(now.Add(r.cfg.RetransmitTimeout))
				return
			}
		}
	}
	r.rekeyChild(p, sa, c, now)
}

// rekeyChild sends our QM1 replacing c under sa.
func (r *Responder) rekeyChild(p *rpeer, sa *rSA, c *rchild, now time.Time) {
	old := c.c
	q := &rqm{quickMode: quickMode{mid: r.newMID(sa), initiator: true, ni: r.randBytes(32), spiIn: r.newSPI(),
		prop: old.Proposal, encap: old.Encap, life: old.Lifetime}, rekeyOf: c, idPeer: c.idPeer, idLocal: c.idLocal}
	q.child = ResponderChild{PeerTS: old.PeerTS, LocalTS: old.LocalTS, PeerOA: old.PeerOA, LocalOA: old.LocalOA}
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiIn)
	offer := Proposal{Number: 1, Protocol: ProtoESP, SPI: spi[:], Transforms: []Transform{q.prop.transform(1, q.encap, q.life)}}
	out := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{offer}}, &Nonce{Data: q.ni}}
	if g := q.prop.Group; g != 0 {
		dh, err := NewDH(g, r.rand)
		if err != nil {
			r.log.Warn("ike: cannot rekey a child SA", "peer", p.addr, "err", err)
			delete(r.spis, q.spiIn)
			c.rekeyAt = time.Time{}
			return
		}
		q.dh = dh
		out = append(out, &KeyExchange{Data: dh.Public()})
	}
	if c.idPeer != nil {
		// IDci is the initiator's side of the traffic: ours, this time.
		out = append(out, c.idLocal, c.idPeer)
	}
	if modeOf(q.encap) == esp.Transport && modeEncapUDP(q.encap) {
		out = append(out, &NATOA{Draft: sa.draft, Addr: p.local.Addr()}, &NATOA{Draft: sa.draft, Addr: p.addr.Addr()})
	}
	hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, AppendPayloads(nil, out))
	msg, iv, err := encryptMessage(&sa.ikeSA, ExchangeQuickMode, q.mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, q.mid),
		append([]Payload{&Hash{Data: hash}}, out...))
	if err != nil {
		r.log.Debug("ike: quick mode message 1", "peer", p.addr, "err", err)
		delete(r.spis, q.spiIn)
		c.rekeyAt = time.Time{}
		return
	}
	q.iv = iv
	what := fmt.Sprintf("QUICK_MODE request %#08x %s", q.mid, summary(append([]Payload{&Hash{}}, out...)))
	q.out = &pending{msg: msg, what: what, natt: p.natt, deadline: now.Add(r.cfg.RetransmitTimeout)}
	sa.qm[q.mid] = q
	c.rekeying = q
	r.log.Info("ike: rekeying a child SA", "peer", p.addr, "spi_in", spiHex(old.SPIIn),
		"expires_in", c.expireAt.Sub(now).Round(time.Second))
	r.sendTo(p.addr, p.natt, msg, what)
}

// rekeyAnswer takes the client's QM2 for our Quick Mode q, answers it with
// QM3 and installs the new pair.
func (r *Responder) rekeyAnswer(sa *rSA, q *rqm, m Message, raw []byte, now time.Time) {
	p := sa.peer
	ps, hash, rest, next, err := decryptHashed(&sa.ikeSA, m, q.iv)
	if err != nil || !hmac.Equal(hash, quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, rest)) {
		r.stats.UnknownSA++
		r.log.Debug("ike: dropping a quick mode message 2 that does not verify", "peer", p.addr)
		return
	}
	r.log.Debug(fmt.Sprintf("ike: received QUICK_MODE response %#08x %s", q.mid, summary(ps)), "peer", p.addr)
	p.lastRx = now
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 || len(sap.Proposals) != 1 || sap.Proposals[0].Protocol != ProtoESP ||
		len(sap.Proposals[0].Transforms) != 1 || len(sap.Proposals[0].SPI) != 4 {
		r.rekeyFailed(sa, q, now, "quick mode message 2 is not a valid answer: "+summary(ps))
		return
	}
	prop, encap, life, err := espProposalFromTransform(sap.Proposals[0].Transforms[0])
	if err != nil || prop != q.prop || encap != q.encap {
		r.rekeyFailed(sa, q, now, fmt.Sprintf("the client chose %s (encapsulation %d), not the %s (encapsulation %d) we offered",
			prop, encap, q.prop, q.encap))
		return
	}
	if life > 0 && life < q.life {
		q.life = life
	}
	var oas []*NATOA
	for _, x := range ps {
		switch x := x.(type) {
		case *Notify:
			if x.MessageType == NotifyResponderLifetime {
				if l := responderLifetime(x.Data); l > 0 && l < q.life {
					q.life = l
				}
			}
		case *NATOA:
			oas = append(oas, x)
		}
	}
	if len(oas) >= 2 {
		// The client's view: NAT-OAi is our address, NAT-OAr its own.
		q.child.LocalOA, q.child.PeerOA = oas[0].Addr, oas[1].Addr
	}
	if q.dh != nil {
		ke, ok := FindPayload[*KeyExchange](ps)
		if !ok {
			r.rekeyFailed(sa, q, now, "quick mode message 2 has no KE payload although we asked for PFS")
			return
		}
		if q.gxy, err = q.dh.Shared(ke.Data); err != nil {
			r.rekeyFailed(sa, q, now, "quick mode message 2 has an invalid key exchange: "+err.Error())
			return
		}
	}
	q.nr = bytes.Clone(nonce.Data)
	q.spiOut = binary.BigEndian.Uint32(sap.Proposals[0].SPI)
	hash3 := quickHash3(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, q.nr)
	msg, _, err := encryptMessage(&sa.ikeSA, ExchangeQuickMode, q.mid, next, []Payload{&Hash{Data: hash3}})
	if err != nil {
		r.rekeyFailed(sa, q, now, "quick mode message 3: "+err.Error())
		return
	}
	// Kept to answer a repeated QM2 (our QM3 was lost) until the ISAKMP SA goes.
	q.done, q.out, q.lastIn, q.reply = true, nil, bytes.Clone(raw), msg
	r.sendTo(p.addr, p.natt, msg, fmt.Sprintf("QUICK_MODE request %#08x [ HASH ]", q.mid))
	r.installChild(p, q, now)
}

// rekeyFailed abandons our Quick Mode q under sa; its pair is tried again
// halfway to its expiry if there is time for another attempt.
func (r *Responder) rekeyFailed(sa *rSA, q *rqm, now time.Time, why string) {
	clear(q.gxy)
	q.gxy, q.dh, q.out = nil, nil, nil
	delete(r.spis, q.spiIn)
	delete(sa.qm, q.mid)
	c := q.rekeyOf
	if c == nil || c.rekeying != q {
		return
	}
	c.rekeying = nil
	left := c.expireAt.Sub(now)
	c.rekeyAt = time.Time{}
	retry := "no time left; it is deleted when it expires"
	if left > 2*r.waited() {
		c.rekeyAt = now.Add(left / 2)
		retry = "trying again in " + (left / 2).Round(time.Second).String()
	}
	r.log.Warn("ike: our rekey of a child SA failed: "+why+"; "+retry, "peer", sa.peer.addr, "spi_in", spiHex(c.c.SPIIn))
}

// rekeyRefused takes an error notification from the client under sa: the
// refusal of our Quick Modes in progress there, if any (it reports whether
// there were).
func (r *Responder) rekeyRefused(sa *rSA, n *Notify, now time.Time) bool {
	found := false
	for _, q := range sa.qm {
		if q.initiator && !q.done {
			found = true
			r.rekeyFailed(sa, q, now, "the client answered "+n.MessageType.String())
		}
	}
	return found
}

// waited is how long a message of ours goes unanswered before we give up.
func (r *Responder) waited() time.Duration {
	var total time.Duration
	for i := 0; i <= r.cfg.Retransmits; i++ {
		t := r.cfg.RetransmitTimeout << i
		if t > retransmitCap || t <= 0 {
			t = retransmitCap
		}
		total += t
	}
	return total
}

// cloneID copies an ID payload out of a received message.
func cloneID(id *Identification) *Identification {
	c := *id
	c.Data = bytes.Clone(id.Data)
	return &c
}
