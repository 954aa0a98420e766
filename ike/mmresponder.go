package ike

// Main Mode with a pre-shared key (RFC 2409 5.4) or signatures (5.1),
// responder side, for a server that rekeys phase 1 itself (charon
// reauthenticates IKEv1 SAs that way): once our phase 1 is up, a Main Mode
// message 1 from the server with new cookies is answered, and the SA it
// makes replaces ours (lifecycle.go).
//
//	MM1                                  <- HDR, SA, VID...
//	MM2  HDR, SA, VID...                 ->
//	MM3                                  <- HDR, KE, Ni, [CR...,] NAT-D, NAT-D
//	MM4  HDR, KE, Nr, [CR...,] NAT-D, NAT-D  ->
//	MM5                                  <- HDR*, IDii, HASH_I | CERT..., SIG_I
//	MM6  HDR*, IDir, HASH_R | CERT..., SIG_R  ->
//
// The responder does not retransmit on its own: the server does, and a
// repeated message is answered with our stored answer. A Main Mode the
// server does not finish is dropped after twice its retransmission time.
// Everything that does not fit (no common proposal, no NAT-T, a hash that
// does not verify) is logged and dropped without an answer; our session
// and our own rekeys go on regardless.

import (
	"bytes"
	"time"
)

// peerMainMode1 answers Main Mode message 1 from the server with the first
// of its transforms that we also offer.
func (s *Session) peerMainMode1(m Message, in inbound, now time.Time) {
	s.log.Debug("ike: received ID_PROT request 0 " + summary(m.Payloads) + " (the server's main mode 1/6)")
	sap, ok := FindPayload[*SA](m.Payloads)
	if !ok || len(sap.Proposals) != 1 || sap.Proposals[0].Protocol != ProtoISAKMP {
		s.log.Debug("ike: dropping a main mode message 1 without one ISAKMP proposal")
		return
	}
	var chosen *Transform
	var prop IKEProposal
	var life time.Duration
	for _, t := range sap.Proposals[0].Transforms {
		p, l, am, err := phase1FromTransform(t)
		if err == nil && am == s.auth && containsIKE(s.cfg.IKE, p) {
			chosen, prop, life = &t, p, l
			break
		}
	}
	if chosen == nil {
		s.log.Warn("ike: declined the server's phase 1 rekey: it offers none of our proposals",
			"ours", FormatIKEProposals(s.cfg.IKE), "auth", s.auth.String())
		return
	}
	vendors, rfc, draft, dpd := peerVendors(m.Payloads)
	if !rfc && draft == 0 {
		s.log.Warn("ike: declined the server's phase 1 rekey: it offers no NAT traversal")
		return
	}
	if life <= 0 || life > s.cfg.IKELifetime {
		life = s.cfg.IKELifetime // the server rekeys by its own; ours bounds the SA here
	}
	sa := &ikeSA{state: mmRespSent2, rekey: true, responder: true, ckyI: m.Header.InitiatorCookie, prop: prop, auth: s.auth,
		life: life, draft: !rfc, peerDPD: dpd, vendors: vendors, saib: bytes.Clone(sap.Raw), qms: map[uint32]*quickMode{}}
	copy(sa.ckyR[:], s.randBytes(8))
	nat := VendorNATTRFC3947
	if !rfc {
		nat = draft
	}
	payloads := []Payload{
		&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: sap.Proposals[0].Number,
			Protocol: ProtoISAKMP, Transforms: []Transform{*chosen}}}},
		NewVendorID(nat), NewVendorID(VendorDPD),
	}
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	s.log.Info("ike: the server is rekeying phase 1; answering its main mode", "ike", prop.String())
	s.peerMM = sa
	s.peerAnswer(sa, in, reply.Append(nil), "ID_PROT response 0 [ SA V V ] (the server's main mode 2/6)", now)
}

// peerMainMode takes a later Main Mode message of the server's.
func (s *Session) peerMainMode(sa *ikeSA, m Message, in inbound, now time.Time) {
	if bytes.Equal(in.b, sa.lastIn) {
		s.log.Debug("ike: the server's main mode message repeated, answering again")
		s.sendTo(sa.reply, in.natt, "ID_PROT response (again)")
		return
	}
	enc := m.Header.Flags&FlagEncryption != 0
	switch {
	case sa.state == mmRespSent2 && !enc && hasPayload[*KeyExchange](m.Payloads):
		s.peerMainMode3(sa, m, in, now)
	case sa.state == mmRespSent4 && enc:
		s.peerMainMode5(sa, m, in, now)
	default:
		s.log.Debug("ike: ignoring an unexpected message of the server's main mode")
	}
}

func (s *Session) peerMainMode3(sa *ikeSA, m Message, in inbound, now time.Time) {
	s.log.Debug("ike: received ID_PROT request 0 " + summary(m.Payloads) + " (the server's main mode 3/6)")
	ke, _ := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok := FindPayload[*Nonce](m.Payloads)
	if !ok {
		s.log.Debug("ike: dropping the server's main mode message 3 without a nonce")
		return
	}
	dh, err := NewDH(sa.prop.Group, s.rand)
	if err != nil {
		s.log.Debug("ike: dropping the server's main mode message 3", "err", err)
		return
	}
	gxy, err := dh.Shared(ke.Data)
	if err != nil {
		s.log.Debug("ike: dropping the server's main mode message 3 with an invalid key exchange", "err", err)
		return
	}
	sa.gxi, sa.ni = bytes.Clone(ke.Data), bytes.Clone(nonce.Data)
	sa.gxr, sa.nr = dh.Public(), s.randBytes(32)
	err = s.deriveKeys(sa, gxy)
	clear(gxy)
	if err != nil {
		s.log.Debug("ike: dropping the server's main mode message 3", "err", err)
		return
	}
	// NAT-D (RFC 3947 3.2): the server's address and port as we see them,
	// then ours, deliberately random as in our own Main Mode.
	port := uint16(500)
	if in.natt {
		port = 4500
	}
	remote := natdHash(sa.prop.Hash, sa.ckyI, sa.ckyR, s.cfg.Remote, port)
	payloads := []Payload{&KeyExchange{Data: sa.gxr}, &Nonce{Data: sa.nr}}
	noteCertRequests(s.log, s.cfg.Cert, m.Payloads)
	if s.cfg.Cert != nil {
		payloads = append(payloads, certRequests(s.cfg.Cert)...)
	}
	payloads = append(payloads, &NATD{Draft: sa.draft, Hash: remote}, &NATD{Draft: sa.draft, Hash: s.randBytes(len(remote))})
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	sa.state = mmRespSent4
	s.peerAnswer(sa, in, reply.Append(nil), "ID_PROT response 0 "+summary(payloads)+" (the server's main mode 4/6)", now)
}

func (s *Session) peerMainMode5(sa *ikeSA, m Message, in inbound, now time.Time) {
	// Like our message 6: what does not decrypt or verify is dropped, as
	// anyone who saw the cookies could have sent it.
	pt, next, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, m.Ciphertext)
	if err != nil {
		s.log.Debug("ike: dropping the server's main mode message 5 that cannot be decrypted", "err", err)
		return
	}
	ps, _, err := ParsePayloads(m.Header.NextPayload, pt)
	if err != nil {
		s.log.Debug("ike: dropping the server's main mode message 5 that does not decrypt to valid payloads")
		return
	}
	peer, err := s.checkPeerAuth(sa, ps, now)
	s.log.Debug("ike: received ID_PROT request 0 "+summary(ps)+" (the server's main mode 5/6)", "peer_id", peer.String())
	switch {
	case err == errBadHash:
		s.log.Warn("ike: the server's phase 1 rekey does not verify (HASH_I): is its pre-shared key still ours?")
		return
	case err != nil:
		s.log.Warn("ike: declined the server's phase 1 rekey", "err", err.Error())
		return
	}
	mm6, err := s.ourAuth(sa)
	if err != nil {
		s.log.Warn("ike: cannot answer the server's phase 1 rekey", "err", err.Error())
		return
	}
	ct, last, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, next, AppendPayloads(nil, mm6))
	if err != nil {
		s.log.Debug("ike: the server's main mode message 6", "err", err)
		return
	}
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
		Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}
	sa.iv, sa.dh = nil, nil
	sa.lastBlock = last
	sa.peerID, sa.localID = peer.String(), s.cfg.LocalID.String()
	s.peerAnswer(sa, in, reply.Append(nil), "ID_PROT response 0 "+summary(mm6)+" (the server's main mode 6/6, local id "+
		sa.localID+")", now)
	s.phase1Notifies(sa, ps)
	if s.peerMM == sa {
		s.peerMM = nil
	}
	s.phase1Up(sa, now)
}

// peerAnswer sends our answer to in and keeps both for retransmissions.
func (s *Session) peerAnswer(sa *ikeSA, in inbound, reply []byte, what string, now time.Time) {
	sa.lastIn, sa.reply = in.b, reply
	sa.abandonAt = now.Add(2 * s.waited())
	s.log.Debug("ike: sending " + what)
	s.sendTo(reply, in.natt, what)
}

// sendTo sends a message to the server's port 4500 (natt) or 500.
func (s *Session) sendTo(msg []byte, natt bool, what string) {
	if err := s.transmit(msg, natt); err != nil {
		s.log.Debug("ike: send failed", "message", what, "err", err)
	}
}
