package ike

// Quick Mode (RFC 2409 5.5), responder side, and the child SAs it makes:
//
//	QM1                                  <- HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] [, NAT-OAi, NAT-OAr ]
//	QM2  HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ] [, NAT-OAi, NAT-OAr ] [, N(RESPONDER-LIFETIME)]  ->
//	QM3                                  <- HDR*, HASH(3)
//
// The first ESP transform of the client's that we accept is chosen, in a
// mode we allow (transport: L2TP, UDP port 1701, as the selectors must
// say; tunnel: the selectors go to the supervisor as they are), with PFS
// when the client's transform names a group. QM2 is retransmitted until
// QM3 arrives; the pair goes to OnChildSA once it has. A client's new Quick
// Mode while a pair is up is a rekey: the old pair is kept until the client
// deletes it or it expires.
//
// A client that asks for a longer lifetime than ESPLifetime is told ours
// with RESPONDER-LIFETIME in QM2. Rekeys are mostly the client's; if it has
// not replaced a pair shortly before it expires (ESPRekeyMargin), we do
// with a Quick Mode of our own (server_rekey.go); a pair that expires
// anyway is deleted at the client and withdrawn. Finished Quick Modes are
// kept with their ISAKMP SA, to recognise repeats, until it goes.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Selector is one side of a child SA's traffic selectors (the Quick Mode
// ID payloads): addresses, IP protocol (0: any) and port (0: any).
type Selector struct {
	Prefix   netip.Prefix
	Protocol uint8
	Port     uint16
}

// ResponderChild is a child SA pair negotiated with a client: everything
// the supervisor needs to build and route its two esp.SAs. KeyIn and KeyOut
// are the KEYMAT of the inbound (SPIIn) and outbound (SPIOut) SA, in the
// form esp.NewSA takes.
type ResponderChild struct {
	Peer, Local netip.AddrPort // the client's IKE address and port, and ours
	NATT        bool           // ESP is UDP-encapsulated (RFC 3948) between them
	PeerID      string
	Mode        esp.Mode
	Encap       uint16 // the encapsulation mode attribute
	SPIIn       uint32 // ours: the client sends with it
	SPIOut      uint32 // the client's
	Proposal    ESPProposal
	Transform   esp.Transform
	KeyIn       secret.Secret
	KeyOut      secret.Secret
	Lifetime    time.Duration
	// PeerTS and LocalTS are the traffic selectors (the client's side,
	// ours); PeerOA and LocalOA the original addresses of NAT-OA (RFC 3947
	// 5.2), zero when the client sent none.
	PeerTS, LocalTS Selector
	PeerOA, LocalOA netip.Addr
	// Rekey: it replaces an earlier pair of the same peer.
	Rekey bool
}

// NewSAs builds the inbound and outbound esp.SA of c.
func (c ResponderChild) NewSAs(rand io.Reader) (in, out *esp.SA, err error) {
	kin, kout := c.KeyIn.Bytes(), c.KeyOut.Bytes()
	defer clear(kin)
	defer clear(kout)
	if in, err = esp.NewSA(c.SPIIn, c.Transform, kin, c.Mode, rand); err != nil {
		return nil, nil, err
	}
	if out, err = esp.NewSA(c.SPIOut, c.Transform, kout, c.Mode, rand); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// rqm is one Quick Mode at the responder, the client's or (initiator) ours.
type rqm struct {
	quickMode
	child ResponderChild // filled as it is negotiated
	// idPeer and idLocal are the ID payloads (traffic selectors) of the
	// client's side and ours, nil when the exchange had none.
	idPeer, idLocal *Identification
	rekeyOf         *rchild // ours: the pair it replaces
}

// rchild is a child SA pair of a peer.
type rchild struct {
	c               ResponderChild
	idPeer, idLocal *Identification // as in rqm, for our rekeys
	upAt            time.Time
	expireAt        time.Time
	superseded      bool
	rekeyAt         time.Time // when we replace it (zero: never)
	rekeying        *rqm      // our Quick Mode replacing it, in progress
	deleteAt        time.Time // we replaced it: when we delete it
}

// quickMode takes a Quick Mode message under the established sa.
func (r *Responder) quickMode(sa *rSA, from netip.AddrPort, natt bool, m Message, raw []byte, now time.Time) {
	if !sa.established {
		r.stats.UnknownSA++
		r.log.Debug("ike: ignoring quick mode before phase 1 is up", "peer", from)
		return
	}
	mid := m.Header.MessageID
	q := sa.qm[mid]
	if q == nil {
		r.quickMode1(sa, m, raw, now)
		return
	}
	if bytes.Equal(q.lastIn, raw) {
		if q.reply != nil {
			what := "response"
			if q.initiator {
				what = "request" // our QM3, for a repeated QM2
			}
			r.sendTo(sa.peer.addr, sa.peer.natt, q.reply, fmt.Sprintf("QUICK_MODE %s %#08x (again)", what, mid))
		}
		return
	}
	if q.done {
		return
	}
	if q.initiator {
		r.rekeyAnswer(sa, q, m, raw, now)
		return
	}
	ps, hash, _, _, err := decryptHashed(&sa.ikeSA, m, q.iv)
	if err != nil || !hmac.Equal(hash, quickHash3(sa.prop.Hash, sa.keys.SKEYIDa, mid, q.ni, q.nr)) {
		r.stats.UnknownSA++
		r.log.Debug("ike: dropping a quick mode message 3 that does not verify", "peer", from)
		return
	}
	r.log.Debug(fmt.Sprintf("ike: received QUICK_MODE request %#08x %s", mid, summary(ps)), "peer", from)
	sa.peer.lastRx = now
	q.done, q.out, q.reply, q.lastIn = true, nil, nil, bytes.Clone(raw)
	r.installChild(sa.peer, q, now)
}

// modeAllowed: the configuration allows ESP mode m.
func (r *Responder) modeAllowed(m esp.Mode) bool { return slices.Contains(r.cfg.Modes, m) }

// encapAllowed: encap suits the ISAKMP SA: UDP encapsulation needs NAT-T,
// and plain ESP a client whose messages do not cross a NAT, and no
// ForceEncap. (With ForceEncap a client that negotiated NAT-T saw a NAT in
// our Main Mode 4 and must ask for UDP encapsulation, RFC 3947 5.1.)
func (r *Responder) encapAllowed(sa *rSA, encap uint16) bool {
	switch encap {
	case EncapUDPTransport, EncapUDPTunnel, EncapUDPTransportDraft, EncapUDPTunnelDraft:
		return sa.natT
	case EncapTransport, EncapTunnel:
		return !r.cfg.ForceEncap && !sa.natPeer && !sa.natUs
	}
	return false
}

func (r *Responder) quickMode1(sa *rSA, m Message, raw []byte, now time.Time) {
	p := sa.peer
	mid := m.Header.MessageID
	ps, hash, rest, next, err := decryptHashed(&sa.ikeSA, m, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid))
	if err != nil || !hmac.Equal(hash, quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)) {
		r.stats.UnknownSA++
		r.log.Debug("ike: dropping a quick mode message 1 that does not verify", "peer", p.addr)
		return
	}
	r.log.Debug(fmt.Sprintf("ike: received QUICK_MODE request %#08x %s", mid, summary(ps)), "peer", p.addr)
	p.lastRx = now
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 {
		r.stats.Malformed++
		r.log.Debug("ike: dropping a quick mode message 1 without SA or nonce", "peer", p.addr)
		return
	}
	q := &rqm{quickMode: quickMode{mid: mid, ni: bytes.Clone(nonce.Data), lastIn: bytes.Clone(raw)}}
	var chosen Proposal
	var tr Transform
	found := false
	var offered []string
	for _, pr := range sap.Proposals {
		if pr.Protocol != ProtoESP || len(pr.SPI) != 4 {
			continue
		}
		for _, t := range pr.Transforms {
			ep, encap, life, err := espProposalFromTransform(t)
			if err != nil {
				continue
			}
			offered = append(offered, fmt.Sprintf("%s/%s", ep, modeOf(encap)))
			if found || !acceptableESP(r.cfg.ESP, ep) || !r.modeAllowed(modeOf(encap)) || !r.encapAllowed(sa, encap) {
				continue
			}
			found, chosen, tr = true, pr, t
			q.prop, q.encap, q.life = ep, encap, life
			q.spiOut = binary.BigEndian.Uint32(pr.SPI)
		}
	}
	if !found {
		r.stats.NoProposal++
		lv, why := slog.LevelWarn, ""
		if r.cfg.ForceEncap && !sa.natT {
			// Said once per peer when its phase 1 came up (phase1Up).
			lv, why = slog.LevelInfo, " (the client has no NAT traversal, so no UDP encapsulation)"
		}
		r.log.Log(context.Background(), lv, "ike: quick mode refused: no proposal chosen"+why, "peer", p.addr, "offered", offered,
			"accepted", FormatESPProposals(r.cfg.ESP), "modes", fmt.Sprint(r.cfg.Modes), "force_encap", r.cfg.ForceEncap)
		r.sendInfo(sa, "NO_PROPOSAL_CHOSEN", &Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen})
		return
	}
	// Traffic selectors: absent, they are the two IKE addresses (RFC 2409 5.5).
	var ids []*Identification
	var oas []*NATOA
	for _, x := range ps {
		switch x := x.(type) {
		case *Identification:
			ids = append(ids, x)
		case *NATOA:
			oas = append(oas, x)
		}
	}
	c := &q.child
	c.PeerTS = Selector{Prefix: netip.PrefixFrom(p.addr.Addr(), p.addr.Addr().BitLen())}
	c.LocalTS = Selector{Prefix: netip.PrefixFrom(p.local.Addr(), p.local.Addr().BitLen())}
	if len(ids) != 0 && len(ids) != 2 {
		r.stats.Malformed++
		r.log.Debug("ike: dropping a quick mode message 1 with one ID payload", "peer", p.addr)
		return
	}
	if len(ids) == 2 {
		var ok1, ok2 bool
		c.PeerTS, ok1 = selectorOf(ids[0])
		c.LocalTS, ok2 = selectorOf(ids[1])
		if !ok1 || !ok2 {
			r.refuseSelectors(sa, "the traffic selectors are not addresses or subnets")
			return
		}
		q.idPeer, q.idLocal = cloneID(ids[0]), cloneID(ids[1])
	}
	if modeOf(q.encap) == esp.Transport && !l2tpSelectors(c.PeerTS, c.LocalTS) {
		r.refuseSelectors(sa, fmt.Sprintf("transport mode carries L2TP only (UDP port %d); the client asked for %v to %v",
			L2TPPort, c.PeerTS, c.LocalTS))
		return
	}
	if len(oas) >= 1 {
		c.PeerOA = oas[0].Addr
	}
	if len(oas) >= 2 {
		c.LocalOA = oas[1].Addr
	}
	var kePayload Payload
	if q.prop.Group != 0 {
		ke, ok := FindPayload[*KeyExchange](ps)
		if !ok {
			r.stats.Malformed++
			r.log.Debug("ike: dropping a quick mode with PFS but no KE", "peer", p.addr)
			return
		}
		dh, err := NewDH(q.prop.Group, r.rand)
		if err != nil {
			return
		}
		if q.gxy, err = dh.Shared(ke.Data); err != nil {
			r.stats.Malformed++
			r.log.Debug("ike: dropping a quick mode with an invalid KE", "peer", p.addr, "err", err)
			return
		}
		kePayload = &KeyExchange{Data: dh.Public()}
	}
	q.nr = r.randBytes(32)
	q.spiIn = r.newSPI()
	longer := q.life <= 0 || q.life > r.cfg.ESPLifetime
	if longer {
		q.life = r.cfg.ESPLifetime
	}
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiIn)
	answer := Proposal{Number: chosen.Number, Protocol: ProtoESP, SPI: spi[:], Transforms: []Transform{tr}}
	out := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{answer}}, &Nonce{Data: q.nr}}
	if kePayload != nil {
		out = append(out, kePayload)
	}
	if len(ids) == 2 {
		out = append(out, ids[0], ids[1])
	}
	if len(oas) > 0 {
		// RFC 3947 5.2: the addresses as we see them.
		out = append(out, &NATOA{Draft: sa.draft, Addr: p.addr.Addr()}, &NATOA{Draft: sa.draft, Addr: p.local.Addr()})
	}
	if longer {
		out = append(out, &Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyResponderLifetime, SPI: spi[:],
			Data: appendAttributes(nil, lifeAttributes(nil, AttrSALifeType, AttrSALifeDuration, q.life))})
	}
	hash2 := quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, mid, q.ni, AppendPayloads(nil, out))
	msg, iv, err := encryptMessage(&sa.ikeSA, ExchangeQuickMode, mid, next, append([]Payload{&Hash{Data: hash2}}, out...))
	if err != nil {
		delete(r.spis, q.spiIn)
		return
	}
	q.iv, q.reply = iv, msg
	what := fmt.Sprintf("QUICK_MODE response %#08x %s", mid, summary(append([]Payload{&Hash{}}, out...)))
	q.out = &pending{msg: msg, what: what, natt: p.natt, deadline: now.Add(r.cfg.RetransmitTimeout)}
	sa.qm[mid] = q
	r.sendTo(p.addr, p.natt, msg, what)
}

// selectorOf reads a Quick Mode ID payload.
func selectorOf(id *Identification) (Selector, bool) {
	pfx, ok := id.Prefix()
	return Selector{Prefix: pfx, Protocol: id.Protocol, Port: id.Port}, ok
}

// l2tpSelectors: both sides are single addresses and the traffic is L2TP
// (UDP, port 1701 or any on our side).
func l2tpSelectors(peer, local Selector) bool {
	udp := func(s Selector) bool { return s.Protocol == 17 || s.Protocol == 0 }
	return peer.Prefix.IsSingleIP() && local.Prefix.IsSingleIP() && udp(peer) && udp(local) &&
		(local.Port == L2TPPort || local.Port == 0)
}

// refuseSelectors answers a Quick Mode whose traffic selectors we do not
// accept with INVALID-ID-INFORMATION.
func (r *Responder) refuseSelectors(sa *rSA, why string) {
	r.stats.NoProposal++
	r.log.Warn("ike: quick mode refused: "+why, "peer", sa.peer.addr)
	r.sendInfo(sa, "INVALID_ID_INFORMATION", &Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyInvalidIDInformation})
}

// installChild derives the keys of a finished Quick Mode and hands the pair
// to the supervisor.
func (r *Responder) installChild(p *rpeer, q *rqm, now time.Time) {
	sa := p.current()
	for _, s := range p.sas {
		if s.qm[q.mid] == q {
			sa = s
		}
	}
	c := q.child
	n := espKeyLen(q.prop)
	kin := keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), q.spiIn, q.ni, q.nr, n)
	kout := keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), q.spiOut, q.ni, q.nr, n)
	c.KeyIn, c.KeyOut = secret.New(kin), secret.New(kout)
	clear(kin)
	clear(kout)
	clear(q.gxy)
	q.gxy, q.dh = nil, nil
	c.Peer, c.Local, c.NATT, c.PeerID = p.addr, p.local, p.natt && modeEncapUDP(q.encap), p.id.String()
	c.Mode, c.Encap, c.SPIIn, c.SPIOut = modeOf(q.encap), q.encap, q.spiIn, q.spiOut
	c.Proposal, c.Transform, c.Lifetime = q.prop, esp.Transform{Enc: q.prop.Enc, Integ: q.prop.Integ}, q.life
	for _, old := range p.children {
		if !old.superseded {
			old.superseded = true
			c.Rekey = true
		}
	}
	if o := q.rekeyOf; o != nil {
		// Ours: we delete the pair we replaced, after a short overlap for
		// the packets already on their way (as the client does after its
		// rekeys, children.go).
		c.Rekey = true
		o.superseded, o.rekeying, o.deleteAt = true, nil, now.Add(supersededGrace)
	}
	by := "client"
	if q.initiator {
		by = "us"
	}
	p.children = append(p.children, &rchild{c: c, idPeer: q.idPeer, idLocal: q.idLocal, upAt: now,
		expireAt: now.Add(q.life), rekeyAt: r.childRekeyAt(now, q.life)})
	r.log.Info("ike: child SA up", "peer", p.addr, "esp", q.prop.String(), "mode", c.Mode.String(),
		"spi_in", spiHex(c.SPIIn), "spi_out", spiHex(c.SPIOut), "lifetime", c.Lifetime, "rekey", c.Rekey, "by", by)
	if f := r.cfg.OnChildSA; f != nil {
		r.later(func() { f(c) })
	}
}

func modeEncapUDP(encap uint16) bool {
	switch encap {
	case EncapUDPTransport, EncapUDPTunnel, EncapUDPTransportDraft, EncapUDPTunnelDraft:
		return true
	}
	return false
}

// childGone withdraws a pair (the caller removes it from its peer).
func (r *Responder) childGone(c *rchild) {
	delete(r.spis, c.c.SPIIn)
	if f := r.cfg.OnChildDeleted; f != nil {
		cc := c.c
		r.later(func() { f(cc) })
	}
}

// sendDeleteChild deletes a pair at the client: by our inbound SPI (RFC
// 2408 3.15, the SPI of the SA the sender receives on).
func (r *Responder) sendDeleteChild(p *rpeer, c *rchild) {
	sa := p.current()
	if sa == nil {
		return
	}
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], c.c.SPIIn)
	r.sendInfo(sa, "delete ESP SA "+spiHex(c.c.SPIIn), &Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{spi[:]}})
}

// childTick drops the pairs of p that expired and those we replaced whose
// overlap ended (deleting them at the client), and starts our rekeys that
// are due.
func (r *Responder) childTick(p *rpeer, now time.Time, earlier func(time.Time)) {
	kept := p.children[:0]
	for _, c := range p.children {
		switch {
		case !now.Before(c.expireAt):
			r.log.Info("ike: child SA expired", "peer", p.addr, "spi_in", spiHex(c.c.SPIIn))
			r.sendDeleteChild(p, c)
			r.childGone(c)
			continue
		case !c.deleteAt.IsZero() && !now.Before(c.deleteAt):
			r.log.Debug("ike: deleting the child SA we replaced", "peer", p.addr, "spi_in", spiHex(c.c.SPIIn))
			r.sendDeleteChild(p, c)
			r.childGone(c)
			continue
		}
		earlier(c.expireAt)
		earlier(c.deleteAt)
		r.rekeyTick(p, c, now, earlier)
		kept = append(kept, c)
	}
	clear(p.children[len(kept):])
	p.children = kept
}

// quickModeTick retransmits our QM2s that await QM3 and our QM1s that await
// QM2, and forgets those the client abandoned or did not answer.
func (r *Responder) quickModeTick(sa *rSA, now time.Time, earlier func(time.Time)) {
	for mid, q := range sa.qm {
		if q.done {
			// Kept to answer repeats; dropped once the SA is.
			continue
		}
		if q.out == nil {
			continue
		}
		if now.Before(q.out.deadline) {
			earlier(q.out.deadline)
			continue
		}
		if r.retransmit(sa.peer.addr, q.out, now) {
			if q.initiator {
				r.rekeyFailed(sa, q, now, "no answer to our quick mode message 1")
				if c := q.rekeyOf; c != nil {
					earlier(c.rekeyAt) // the retry
				}
				continue
			}
			r.log.Info("ike: the client did not finish its quick mode", "peer", sa.peer.addr, "mid", fmt.Sprintf("%#08x", mid))
			delete(r.spis, q.spiIn)
			delete(sa.qm, mid)
			continue
		}
		earlier(q.out.deadline)
	}
}
