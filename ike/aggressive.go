package ike

// Aggressive Mode with a pre-shared key, initiator side (RFC 2409 5.4), with
// NAT traversal (RFC 3947 4: NAT-D in the second and third messages, and the
// initiator moves to port 4500 for the third):
//
//	AM1  HDR, SA, KE, Ni, IDii, VID...                        ->
//	AM2                    <- HDR, SA, KE, Nr, IDir, HASH_R, NAT-D, NAT-D, VID...
//	AM3  HDR, HASH_I, NAT-D, NAT-D                            ->  (port 4500)
//
// Opt-in only (Config.Aggressive): the server's HASH_R in AM2 is computed
// with the PSK and sent before anyone is authenticated, so whoever sees it
// (or just asks the server with a guessed ID) can run an offline dictionary
// attack on the PSK. Gateways that select the group by the client's ID
// (SonicWall GroupVPN, some Cisco and FortiGate setups) need it anyway.
//
// The key exchange goes out in the first message, so every proposal offered
// has the first proposal's Diffie-Hellman group; the others are left out.

import (
	"bytes"
	"crypto/hmac"
	"strings"
	"time"
)

// Aggressive Mode states of an ikeSA of ours (beside the mmSent* ones).
const amSent1 = 100

// aggressiveProposals are the IKE proposals with the first one's group.
func aggressiveProposals(ps []IKEProposal) []IKEProposal {
	var out []IKEProposal
	for _, p := range ps {
		if p.Group == ps[0].Group {
			out = append(out, p)
		}
	}
	return out
}

// aggressiveLocalID is our phase 1 identity: the configured one, or our address.
func (s *Session) aggressiveLocalID() ID {
	if !s.cfg.LocalID.IsZero() {
		return s.cfg.LocalID
	}
	return AddrID(s.cfg.Local)
}

// startAggressive starts an Aggressive Mode of ours: the session's first
// phase 1, or a rekey.
func (s *Session) startAggressive(now time.Time) {
	sa := &ikeSA{state: amSent1, rekey: s.everUp, auth: authPSK, qms: map[uint32]*quickMode{}}
	copy(sa.ckyI[:], s.randBytes(8))
	offer := aggressiveProposals(s.cfg.IKE)
	p := &Proposal{Number: 1, Protocol: ProtoISAKMP}
	for i, ip := range offer {
		p.Transforms = append(p.Transforms, ip.transform(uint8(i+1), s.cfg.IKELifetime))
	}
	sap := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{*p}}
	sa.saib = sap.AppendBody(nil)
	dh, err := NewDH(offer[0].Group, s.rand)
	if err != nil {
		s.log.Warn("ike: aggressive mode: " + err.Error())
		return
	}
	sa.dh = dh
	sa.gxi = dh.Public()
	sa.ni = s.randBytes(32)
	id := s.aggressiveLocalID().payload()
	sa.idib = id.AppendBody(nil)
	payloads := []Payload{sap, &KeyExchange{Data: sa.gxi}, &Nonce{Data: sa.ni}, id}
	payloads = s.ourVendors(payloads)
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, Exchange: ExchangeAggressive}, Payloads: payloads}
	s.mm = sa
	sa.out = s.sendPending(m.Append(nil), "AGGRESSIVE request 0 "+summary(payloads)+" (aggressive mode 1/3)", now, func() error {
		return s.mainModeFailed(sa, s.aggressiveGiveUp(sa))
	})
	s.log.Warn("ike: using aggressive mode: the server's answer exposes a hash of the pre-shared key to offline guessing",
		"local_id", s.aggressiveLocalID().String())
	s.log.Info("ike: phase 1 (aggressive mode) started", "server", s.cfg.Remote, "offer", FormatIKEProposals(offer))
}

// aggressiveGiveUp is the failure of an Aggressive Mode whose first message
// went unanswered.
func (s *Session) aggressiveGiveUp(sa *ikeSA) error {
	prefix := giveUpPrefix(sa)
	if err := hintFailure(sa, "Aggressive Mode message 1"); err != nil {
		return err
	}
	if sa.badMM6 {
		return failf(ErrAuthentication, "%sthe server's Aggressive Mode answer does not verify: the pre-shared key "+
			"differs from the one the server has for the identity %s", prefix, s.aggressiveLocalID())
	}
	return failf(ErrNoResponse, "%sno answer to Aggressive Mode message 1 from %s after %d tries: check the server address "+
		"and ports, that it allows aggressive mode, that it knows the identity %s (local-id), and the proposals (%s, all with "+
		"the first one's group)", prefix, s.cfg.Remote, s.cfg.Retransmits+1, s.aggressiveLocalID(), FormatIKEProposals(aggressiveProposals(s.cfg.IKE)))
}

func (s *Session) handleAggressive(sa *ikeSA, m Message, now time.Time) error {
	if sa.state == amSent1 && m.Header.Flags&FlagEncryption == 0 && hasPayload[*SA](m.Payloads) {
		return s.aggressive2(sa, m, now)
	}
	s.log.Debug("ike: ignoring an aggressive mode message in this state")
	return nil
}

func (s *Session) aggressive2(sa *ikeSA, m Message, now time.Time) error {
	s.log.Debug("ike: received AGGRESSIVE response 0 " + summary(m.Payloads) + " (aggressive mode 2/3)")
	sap, _ := FindPayload[*SA](m.Payloads)
	ke, ok1 := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok2 := FindPayload[*Nonce](m.Payloads)
	id, ok3 := FindPayload[*Identification](m.Payloads)
	hp, ok4 := FindPayload[*Hash](m.Payloads)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return failf(ErrRejected, "Aggressive Mode message 2 lacks KE, nonce, ID or HASH: %s", summary(m.Payloads))
	}
	if len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
		return failf(ErrRejected, "Aggressive Mode message 2: the server must choose exactly one transform, it sent %d proposals", len(sap.Proposals))
	}
	offer := aggressiveProposals(s.cfg.IKE)
	prop, life, err := ikeProposalFromTransform(sap.Proposals[0].Transforms[0])
	if err != nil {
		return failf(ErrNoProposalChosen, "Aggressive Mode message 2: the server chose a transform we cannot use: %v", err)
	}
	if !containsIKE(offer, prop) {
		return failf(ErrNoProposalChosen, "Aggressive Mode message 2: the server chose %s, which we did not offer (%s)",
			prop, FormatIKEProposals(offer))
	}
	if life <= 0 {
		life = s.cfg.IKELifetime
	}
	var rfc bool
	var draft Vendor
	vendors, rfc, draft, peerDPD := peerVendors(m.Payloads)
	if !rfc && draft == 0 {
		return failf(ErrRejected, "Aggressive Mode message 2: the server does not support NAT traversal (RFC 3947 or its drafts), "+
			"which this client always uses to carry ESP over UDP")
	}
	// Keep the state of sa untouched until HASH_R verifies: anyone who saw
	// AM1 could have sent this message.
	gxy, err := sa.dh.Shared(ke.Data)
	if err != nil {
		sa.badMM6 = true
		s.log.Debug("ike: dropping an aggressive mode answer with an invalid key exchange", "err", err)
		return nil
	}
	cand := *sa
	cand.ckyR = m.Header.ResponderCookie
	cand.prop, cand.life = prop, life
	cand.gxr, cand.nr = bytes.Clone(ke.Data), bytes.Clone(nonce.Data)
	if err := s.deriveKeys(&cand, gxy); err != nil {
		return failf(ErrNoProposalChosen, "Aggressive Mode message 2: %v", err)
	}
	want := hashR(prop.Hash, cand.keys.SKEYID, cand.gxr, cand.gxi, cand.ckyR[:], cand.ckyI[:], cand.saib, id.AppendBody(nil))
	if !hmac.Equal(want, hp.Data) {
		sa.badMM6 = true
		s.log.Debug("ike: dropping an aggressive mode answer whose HASH_R does not verify (pre-shared key or identity)")
		return nil
	}
	peer := IDOf(id)
	if !s.cfg.RemoteID.IsZero() && !s.cfg.RemoteID.Equal(peer) {
		return failf(ErrServerIdentity, "Aggressive Mode: the server identified itself as %s, not the expected remote-id %s",
			peer, s.cfg.RemoteID)
	}
	*sa = cand
	sa.vendors, sa.peerDPD, sa.draft = vendors, peerDPD, !rfc
	if len(vendors) > 0 {
		s.log.Debug("ike: server vendor IDs: " + strings.Join(vendors, ", "))
	}
	sa.peerID = peer.String()
	s.frag.notePeer(m.Payloads)
	s.phase1Notifies(sa, m.Payloads)
	s.natt = true // float to port 4500 for the third message (RFC 3947 4)

	hashI := hashI(prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ckyI[:], sa.ckyR[:], sa.saib, sa.idib)
	remote := natdHash(prop.Hash, sa.ckyI, sa.ckyR, s.cfg.Remote, s.serverPort())
	payloads := []Payload{&Hash{Data: hashI}, &NATD{Draft: sa.draft, Hash: remote}, &NATD{Draft: sa.draft, Hash: s.randBytes(len(remote))}}
	if !sa.rekey {
		spi := append(sa.ckyI[:], sa.ckyR[:]...)
		payloads = append(payloads, &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyInitialContact, SPI: spi})
	}
	// The third message goes in clear (RFC 2409 5.4 shows HDR, not HDR*),
	// as Windows and strongSwan send it; phase 2 IVs then start from the
	// phase 1 IV.
	msg := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeAggressive}, Payloads: payloads}
	s.log.Debug("ike: sending AGGRESSIVE request 0 "+summary(payloads)+" (aggressive mode 3/3)", "local_id", s.aggressiveLocalID().String(), "peer_id", sa.peerID)
	sa.reply = msg.Append(nil)
	s.send(sa.reply, "AGGRESSIVE 3")
	sa.lastBlock = sa.keys.IV
	sa.iv = nil
	sa.out = nil
	sa.dh = nil
	s.mm = nil
	s.phase1Up(sa, now)
	return nil
}
