package ike

// Main Mode with a pre-shared key (RFC 2409 5.4), responder side, with NAT
// traversal (RFC 3947 and drafts 02/03):
//
//	MM1                                  <- HDR, SA, VID...
//	MM2  HDR, SA, VID...                 ->
//	MM3                                  <- HDR, KE, Ni, NAT-D, NAT-D
//	MM4  HDR, KE, Nr, NAT-D, NAT-D       ->
//	MM5                                  <- HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]   (port 4500 from here if NAT-T)
//	MM6  HDR*, IDir, HASH_R [, N(RESPONDER-LIFETIME)]  ->
//
// As a responder we do not retransmit on our own: the client does, and a
// repeated message is answered with our stored answer. A Main Mode the
// client does not finish is dropped after HalfOpenExpiry. No acceptable
// proposal is answered with an unencrypted NO-PROPOSAL-CHOSEN, a message 5
// that does not decrypt or verify (the PSKs differ) with an unencrypted
// PAYLOAD-MALFORMED or AUTHENTICATION-FAILED, so the client can say why.

import (
	"bytes"
	"crypto/hmac"
	"net/netip"
	"strings"
	"time"
)

// mainMode1 answers a new Main Mode with the first transform the client
// offers that we accept.
func (r *Responder) mainMode1(from, local netip.AddrPort, natt bool, m Message, raw []byte, now time.Time) {
	// A retransmitted MM1: our MM2 was lost.
	for _, sa := range r.sas {
		if sa.ckyI == m.Header.InitiatorCookie && sa.state == mmRespSent2 && sa.from == from && bytes.Equal(sa.lastIn, raw) {
			r.sendTo(from, natt, sa.reply, "ID_PROT response 0 (main mode 2/6, again)")
			return
		}
	}
	r.log.Debug("ike: received ID_PROT request 0 "+summary(m.Payloads)+" (main mode 1/6)", "peer", from)
	if r.halfOpen >= r.cfg.MaxHalfOpen || (r.peers[from] == nil && len(r.peers)+r.halfOpen >= r.cfg.MaxPeers) {
		r.stats.OverLimit++
		r.log.Warn("ike: refusing a main mode: too many clients", "peer", from, "peers", len(r.peers),
			"half_open", r.halfOpen)
		return
	}
	sap, ok := FindPayload[*SA](m.Payloads)
	if !ok || len(sap.Proposals) != 1 || sap.Proposals[0].Protocol != ProtoISAKMP {
		r.stats.Malformed++
		r.log.Debug("ike: dropping a main mode message 1 without one ISAKMP proposal", "peer", from)
		return
	}
	var ckyR [8]byte
	for ckyR == ([8]byte{}) || r.sas[cookieKey(m.Header.InitiatorCookie, ckyR)] != nil {
		copy(ckyR[:], r.randBytes(8))
	}
	var chosen *Transform
	var prop IKEProposal
	var life time.Duration
	var offered []string
	for _, t := range sap.Proposals[0].Transforms {
		p, l, am, err := phase1FromTransform(t)
		if err != nil {
			offered = append(offered, "(unsupported)")
			continue
		}
		if am != authPSK {
			offered = append(offered, p.String()+"/"+am.String())
			continue
		}
		offered = append(offered, p.String())
		if containsIKE(r.cfg.IKE, p) {
			chosen, prop, life = &t, p, l
			break
		}
	}
	if chosen == nil {
		r.stats.NoProposal++
		r.log.Warn("ike: main mode refused: no proposal chosen", "peer", from,
			"offered", strings.Join(offered, ","), "accepted", FormatIKEProposals(r.cfg.IKE))
		n := Message{Header: Header{InitiatorCookie: m.Header.InitiatorCookie, ResponderCookie: ckyR,
			Exchange: ExchangeInformational}, Payloads: []Payload{&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP,
			MessageType: NotifyNoProposalChosen}}}
		r.sendTo(from, natt, n.Append(nil), "INFORMATIONAL [ N(NO_PROPOSAL_CHOSEN) ]")
		return
	}
	vendors, rfc, draft, dpd := peerVendors(m.Payloads)
	sa := &rSA{from: from, local: local, natt: natt, natT: rfc || draft != 0, qm: map[uint32]*rqm{}}
	sa.ikeSA = ikeSA{state: mmRespSent2, responder: true, ckyI: m.Header.InitiatorCookie, ckyR: ckyR, prop: prop,
		auth: authPSK, life: life, draft: !rfc && draft != 0, peerDPD: dpd, vendors: vendors, saib: bytes.Clone(sap.Raw)}
	if life <= 0 || life > r.cfg.IKELifetime {
		sa.longerLife = life > r.cfg.IKELifetime
		sa.life = r.cfg.IKELifetime
	}
	payloads := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{
		Number: sap.Proposals[0].Number, Protocol: ProtoISAKMP, Transforms: []Transform{*chosen}}}}}
	switch {
	case rfc:
		payloads = append(payloads, NewVendorID(VendorNATTRFC3947))
	case draft != 0:
		payloads = append(payloads, NewVendorID(draft))
	}
	payloads = append(payloads, NewVendorID(VendorDPD))
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	r.sas[cookieKey(sa.ckyI, ckyR)] = sa
	r.halfOpen++
	sa.abandonAt = now.Add(r.cfg.HalfOpenExpiry)
	r.answer(sa, raw, reply.Append(nil), "ID_PROT response 0 "+summary(payloads)+" (main mode 2/6)")
}

// answer sends our answer to the client's message raw and keeps both, for
// retransmissions.
func (r *Responder) answer(sa *rSA, raw, reply []byte, what string) {
	sa.lastIn, sa.reply = bytes.Clone(raw), reply
	r.sendTo(sa.from, sa.natt, reply, what)
}

// mainMode takes a later Main Mode message.
func (r *Responder) mainMode(sa *rSA, from, local netip.AddrPort, natt bool, m Message, raw []byte, now time.Time) {
	if sa.lastIn != nil && bytes.Equal(raw, sa.lastIn) {
		// Our answer was lost; the client may have floated meanwhile.
		sa.from, sa.natt = from, natt
		r.sendTo(from, natt, sa.reply, "ID_PROT response (again)")
		return
	}
	enc := m.Header.Flags&FlagEncryption != 0
	switch {
	case sa.state == mmRespSent2 && !enc && hasPayload[*KeyExchange](m.Payloads):
		r.mainMode3(sa, from, local, natt, m, raw)
	case sa.state == mmRespSent4 && enc:
		r.mainMode5(sa, from, local, natt, m, raw, now)
	default:
		r.stats.UnknownSA++
		r.log.Debug("ike: ignoring an unexpected main mode message", "peer", from, "state", sa.state)
	}
}

// psk is the pre-shared key for a client at from.
func (r *Responder) psk(from netip.AddrPort) ([]byte, bool) {
	if r.cfg.PSKFor != nil {
		k, ok := r.cfg.PSKFor(from)
		return k.Bytes(), ok && !k.IsZero()
	}
	return r.cfg.PSK.Bytes(), true
}

func (r *Responder) mainMode3(sa *rSA, from, local netip.AddrPort, natt bool, m Message, raw []byte) {
	r.log.Debug("ike: received ID_PROT request 0 "+summary(m.Payloads)+" (main mode 3/6)", "peer", from)
	ke, _ := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok := FindPayload[*Nonce](m.Payloads)
	if !ok {
		r.stats.Malformed++
		r.log.Debug("ike: dropping a main mode message 3 without a nonce", "peer", from)
		return
	}
	psk, ok := r.psk(from)
	if !ok {
		r.log.Warn("ike: main mode refused: no pre-shared key for this client", "peer", from)
		r.dropHalfOpen(sa)
		return
	}
	dh, err := NewDH(sa.prop.Group, r.rand)
	if err != nil {
		r.log.Debug("ike: dropping a main mode message 3", "peer", from, "err", err)
		return
	}
	gxy, err := dh.Shared(ke.Data)
	if err != nil {
		r.stats.Malformed++
		r.log.Debug("ike: dropping a main mode message 3 with an invalid key exchange", "peer", from, "err", err)
		return
	}
	keyLen, err := sa.prop.Enc.KeyLen(sa.prop.KeyBits)
	if err != nil {
		clear(gxy)
		return
	}
	sa.from, sa.local, sa.natt = from, local, natt
	sa.gxi, sa.ni = bytes.Clone(ke.Data), bytes.Clone(nonce.Data)
	sa.gxr, sa.nr = dh.Public(), r.randBytes(32)
	sa.keys = derivePhase1(sa.prop.Hash, sa.prop.Enc, keyLen, psk, sa.ni, sa.nr, gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
	sa.iv = sa.keys.IV
	clear(gxy)
	clear(psk)
	payloads := []Payload{&KeyExchange{Data: sa.gxr}, &Nonce{Data: sa.nr}}
	if sa.natT {
		// NAT-D (RFC 3947 3.2): the client's first hash is of our address
		// as it sent to it, the others of its own; ours are the client's
		// address as we see it, then ours.
		h := sa.prop.Hash
		var natds []*NATD
		for _, p := range m.Payloads {
			if n, ok := p.(*NATD); ok {
				natds = append(natds, n)
			}
		}
		peerHash := natdHash(h, sa.ckyI, sa.ckyR, from.Addr(), from.Port())
		if len(natds) > 0 {
			sa.natUs = !bytes.Equal(natds[0].Hash, natdHash(h, sa.ckyI, sa.ckyR, local.Addr(), local.Port()))
			sa.natPeer = true
			for _, n := range natds[1:] {
				if bytes.Equal(n.Hash, peerHash) {
					sa.natPeer = false
				}
			}
		}
		if r.cfg.ForceEncap {
			// The hash of the client's address is junk, so it believes it
			// is behind a NAT: it floats to port 4500 and asks for UDP
			// encapsulation (RFC 3947 3.2, 4, 5.1). Making it believe WE
			// are behind one (junk as our own hash, as strongSwan's
			// forceencaps does) would work as well with charon and
			// racoon, but Windows refuses a server behind a NAT unless
			// AssumeUDPEncapsulationContextOnSendRule is set (error 809),
			// while a client behind one is its default case.
			peerHash = r.randBytes(len(peerHash))
		}
		payloads = append(payloads, &NATD{Draft: sa.draft, Hash: peerHash},
			&NATD{Draft: sa.draft, Hash: natdHash(h, sa.ckyI, sa.ckyR, local.Addr(), local.Port())})
	}
	sa.state = mmRespSent4
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	r.answer(sa, raw, reply.Append(nil), "ID_PROT response 0 "+summary(payloads)+" (main mode 4/6)")
}

// authFailed refuses a message 5 that does not decrypt or verify: the
// pre-shared keys differ (or someone who saw the cookies sent junk). The
// client gets an unencrypted notification, repeated for its retransmissions;
// the Main Mode stays as it was until it expires.
func (r *Responder) authFailed(sa *rSA, from netip.AddrPort, natt bool, raw []byte, t NotifyType, why string) {
	r.stats.AuthFailed++
	r.log.Warn("ike: main mode refused: "+why+": the client's pre-shared key differs from ours", "peer", from)
	n := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeInformational},
		Payloads: []Payload{&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: t}}}
	sa.from, sa.natt = from, natt
	r.answer(sa, raw, n.Append(nil), "INFORMATIONAL [ N("+t.String()+") ]")
}

func (r *Responder) mainMode5(sa *rSA, from, local netip.AddrPort, natt bool, m Message, raw []byte, now time.Time) {
	pt, next, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, m.Ciphertext)
	if err != nil {
		r.authFailed(sa, from, natt, raw, NotifyPayloadMalformed, "main mode message 5 cannot be decrypted")
		return
	}
	ps, _, err := ParsePayloads(m.Header.NextPayload, pt)
	if err != nil {
		r.authFailed(sa, from, natt, raw, NotifyPayloadMalformed, "main mode message 5 decrypts to garbage")
		return
	}
	idp, ok1 := FindPayload[*Identification](ps)
	hp, ok2 := FindPayload[*Hash](ps)
	if !ok1 || !ok2 {
		r.authFailed(sa, from, natt, raw, NotifyPayloadMalformed, "main mode message 5 lacks ID or HASH ("+summary(ps)+")")
		return
	}
	if !hmac.Equal(hp.Data, authHash(&sa.ikeSA, true, idp.AppendBody(nil))) {
		r.authFailed(sa, from, natt, raw, NotifyAuthenticationFailed, "HASH_I of main mode message 5 does not verify")
		return
	}
	id := IDOf(idp)
	initialContact := false
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.MessageType == NotifyInitialContact {
			initialContact = true
		}
	}
	r.log.Debug("ike: received ID_PROT request 0 "+summary(ps)+" (main mode 5/6)", "peer", from, "peer_id", id.String())
	if p := r.peers[from]; (p == nil || !p.id.Equal(id)) && len(r.peers) >= r.cfg.MaxPeers {
		r.stats.OverLimit++
		r.log.Warn("ike: refusing a client: too many peers", "peer", from, "peers", len(r.peers))
		r.dropHalfOpen(sa)
		return
	}
	ourID := r.cfg.LocalID
	if ourID.IsZero() {
		ourID = AddrID(local.Addr())
	}
	idr := ourID.payload()
	mm6 := []Payload{idr, &Hash{Data: authHash(&sa.ikeSA, false, idr.AppendBody(nil))}}
	if sa.longerLife {
		mm6 = append(mm6, &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyResponderLifetime,
			SPI: sa.cookies(), Data: appendAttributes(nil, lifeAttributes(nil, AttrLifeType, AttrLifeDuration, sa.life))})
	}
	ct, last, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, next, AppendPayloads(nil, mm6))
	if err != nil {
		r.log.Debug("ike: main mode message 6", "peer", from, "err", err)
		return
	}
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
		Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}
	sa.from, sa.local, sa.natt = from, local, natt
	sa.iv, sa.lastBlock = nil, last
	sa.peerID, sa.localID = id.String(), ourID.String()
	r.answer(sa, raw, reply.Append(nil), "ID_PROT response 0 "+summary(mm6)+" (main mode 6/6)")
	sa.state, sa.established, sa.upAt = mmDone, true, now
	sa.expireAt = now.Add(sa.life)
	sa.gxi, sa.gxr, sa.ni, sa.nr = nil, nil, nil, nil
	r.halfOpen--
	r.phase1Up(sa, id, initialContact, now)
}

// dropHalfOpen forgets a Main Mode in progress.
func (r *Responder) dropHalfOpen(sa *rSA) {
	if r.sas[cookieKey(sa.ckyI, sa.ckyR)] == sa && !sa.established {
		delete(r.sas, cookieKey(sa.ckyI, sa.ckyR))
		r.halfOpen--
	}
}
