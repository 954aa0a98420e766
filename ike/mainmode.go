package ike

// Main Mode with a pre-shared key (RFC 2409 5.4) or signatures (5.1, RFC
// 4754; Config.Cert), initiator side, with NAT traversal (RFC 3947 and
// drafts 02/03):
//
//	MM1  HDR, SA, VID...                 ->
//	MM2                                  <- HDR, SA, VID...
//	MM3  HDR, KE, Ni, [CR...,] NAT-D, NAT-D  ->   (still on port 500)
//	MM4                                  <- HDR, KE, Nr, [CR...,] NAT-D, NAT-D
//	MM5  HDR*, IDii, HASH_I | CERT..., SIG_I [, N(INITIAL-CONTACT)]  ->  (port 4500 from here)
//	MM6                                  <- HDR*, IDir, HASH_R | CERT..., SIG_R
//
// The authentication itself is in phase1auth.go and peercert.go.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// natVendors are the NAT-T vendor IDs we send, newest first.
var natVendors = []Vendor{VendorNATTRFC3947, VendorNATTDraft03, VendorNATTDraft02N, VendorNATTDraft02}

// ourVendors appends the vendor IDs of our first phase 1 message: NAT-T
// (RFC and drafts), DPD and, unless off, IKE fragmentation.
func (s *Session) ourVendors(payloads []Payload) []Payload {
	for _, v := range natVendors {
		payloads = append(payloads, NewVendorID(v))
	}
	payloads = append(payloads, NewVendorID(VendorDPD))
	if s.cfg.Fragmentation != FragmentOff {
		payloads = append(payloads, NewVendorID(VendorFragmentation))
	}
	return payloads
}

// startMainMode starts a Main Mode of ours: the session's first, or a
// rekey (which also replaces an ISAKMP SA the server deleted).
func (s *Session) startMainMode(now time.Time) {
	if s.cfg.Aggressive {
		s.startAggressive(now)
		return
	}
	sa := &ikeSA{state: mmSent1, rekey: s.everUp, qms: map[uint32]*quickMode{}}
	copy(sa.ckyI[:], s.randBytes(8))
	p := &Proposal{Number: 1, Protocol: ProtoISAKMP}
	for i, ip := range s.cfg.IKE {
		p.Transforms = append(p.Transforms, ip.transformAuth(uint8(i+1), s.cfg.IKELifetime, s.auth))
	}
	sap := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{*p}}
	sa.saib = sap.AppendBody(nil)
	payloads := []Payload{sap}
	payloads = s.ourVendors(payloads)
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, Exchange: ExchangeIDProt}, Payloads: payloads}
	s.mm = sa
	sa.out = s.sendPending(m.Append(nil), "ID_PROT request 0 "+summary(payloads)+" (main mode 1/6)", now, func() error {
		return s.mainModeFailed(sa, s.mainModeGiveUp(sa, 1))
	})
	if sa.rekey {
		s.log.Info("ike: rekeying the ISAKMP SA (main mode)", "attempt", s.p1Failures+1)
		return
	}
	s.log.Info("ike: phase 1 (main mode) started", "server", s.cfg.Remote, "offer", FormatIKEProposals(s.cfg.IKE))
}

// giveUpPrefix starts the failure of a phase 1 of ours: a failed rekey
// says so.
func giveUpPrefix(sa *ikeSA) string {
	if sa.rekey {
		return "phase 1 rekey failed: "
	}
	return ""
}

// hintFailure is the failure of a phase 1 whose message what got no answer
// but an unencrypted error notification (nil if none came).
func hintFailure(sa *ikeSA, what string) error {
	if sa.hint == 0 {
		return nil
	}
	kind := ErrRejected
	if sa.hint == NotifyNoProposalChosen {
		kind = ErrNoProposalChosen
	}
	return failf(kind, "%sthe only answer to %s was an unencrypted %s notification "+
		"(unauthenticated: it may be forged)", giveUpPrefix(sa), what, sa.hint)
}

// mainModeGiveUp is the failure of a Main Mode of ours whose message msg
// went unanswered.
func (s *Session) mainModeGiveUp(sa *ikeSA, msg int) error {
	prefix := giveUpPrefix(sa)
	if err := hintFailure(sa, fmt.Sprintf("Main Mode message %d", msg)); err != nil {
		return err
	}
	switch msg {
	case 1:
		return failf(ErrNoResponse, "%sno answer to Main Mode message 1 from %s port %d after %d tries over %s: "+
			"check the server address, that UDP ports 500 and 4500 reach it, and that it has L2TP/IPsec enabled "+
			"(a server may also stay silent when it accepts none of the proposals: %s)",
			prefix, s.cfg.Remote, s.serverPort(), s.cfg.Retransmits+1, s.waited().Round(time.Second), FormatIKEProposals(s.cfg.IKE))
	case 3:
		return failf(ErrNoResponse, "%sno answer to Main Mode message 3 (key exchange, %s) after %d tries: "+
			"the server may not support that Diffie-Hellman group", prefix, sa.prop.Group, s.cfg.Retransmits+1)
	}
	if s.cfg.Cert != nil {
		return failf(ErrCertificate, "%sno valid answer to Main Mode message 5, the first encrypted one, after %d tries: %s",
			prefix, s.cfg.Retransmits+1, s.authHint())
	}
	if sa.badMM6 {
		return failf(ErrAuthentication, "%sthe server's answers to Main Mode message 5 do not verify: "+
			"the pre-shared key differs from the server's (check --psk-env / --psk-file)", prefix)
	}
	return failf(ErrAuthentication, "%sno answer to Main Mode message 5, the first encrypted one, after %d tries: %s",
		prefix, s.cfg.Retransmits+1, s.authHint())
}

func (s *Session) handleMainMode(sa *ikeSA, m Message, now time.Time) error {
	h := m.Header
	switch {
	case sa.state == mmSent1 && h.Flags&FlagEncryption == 0 && hasPayload[*SA](m.Payloads):
		return s.mainMode2(sa, m, now)
	case sa.state == mmSent3 && h.Flags&FlagEncryption == 0 && hasPayload[*KeyExchange](m.Payloads):
		return s.mainMode4(sa, m, now)
	case sa.state == mmSent5 && h.Flags&FlagEncryption != 0:
		return s.mainMode6(sa, m, now)
	}
	// A retransmission of the server's previous message: ours was lost.
	if sa.out != nil {
		s.log.Debug("ike: main mode message repeated, sending ours again")
		s.send(sa.out.msg, sa.out.what)
	}
	return nil
}

func hasPayload[T Payload](ps []Payload) bool {
	_, ok := FindPayload[T](ps)
	return ok
}

// peerVendors reads the server's vendor IDs: their names (hex for unknown
// ones), whether it does RFC 3947 NAT-T, the NAT-T draft it names (0 for
// none) and whether it does DPD.
func peerVendors(ps []Payload) (names []string, rfc bool, draft Vendor, dpd bool) {
	for _, p := range ps {
		v, ok := p.(*VendorID)
		if !ok {
			continue
		}
		name := v.Vendor()
		if name == VendorUnknown {
			names = append(names, hex.EncodeToString(v.Data))
		} else {
			names = append(names, name.String())
		}
		switch name {
		case VendorNATTRFC3947:
			rfc = true
		case VendorNATTDraft02, VendorNATTDraft02N, VendorNATTDraft03:
			if draft == 0 {
				draft = name
			}
		case VendorDPD:
			dpd = true
		}
	}
	return names, rfc, draft, dpd
}

func (s *Session) mainMode2(sa *ikeSA, m Message, now time.Time) error {
	sa.ckyR = m.Header.ResponderCookie
	sa.hint = 0
	sap, _ := FindPayload[*SA](m.Payloads)
	s.log.Debug("ike: received ID_PROT response 0 " + summary(m.Payloads) + " (main mode 2/6)")
	if len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
		return failf(ErrRejected, "Main Mode message 2: the server must choose exactly one transform, it sent %d proposals", len(sap.Proposals))
	}
	prop, life, am, err := phase1FromTransform(sap.Proposals[0].Transforms[0])
	if err != nil {
		return failf(ErrNoProposalChosen, "Main Mode message 2: the server chose a transform we cannot use: %v", err)
	}
	if am != s.auth {
		return failf(ErrNoProposalChosen, "Main Mode message 2: the server chose authentication by %s; we offered %s", am, s.auth)
	}
	sa.auth = am
	if !containsIKE(s.cfg.IKE, prop) {
		return failf(ErrNoProposalChosen, "Main Mode message 2: the server chose %s, which we did not offer (%s)",
			prop, FormatIKEProposals(s.cfg.IKE))
	}
	if life <= 0 {
		life = s.cfg.IKELifetime
	}
	sa.prop, sa.life = prop, life
	s.phase1Notifies(sa, m.Payloads)
	var rfc bool
	var draft Vendor
	sa.vendors, rfc, draft, sa.peerDPD = peerVendors(m.Payloads)
	s.frag.notePeer(m.Payloads)
	if len(sa.vendors) > 0 {
		s.log.Debug("ike: server vendor IDs: " + strings.Join(sa.vendors, ", "))
	}
	if !rfc && draft == 0 {
		return failf(ErrRejected, "Main Mode message 2: the server does not support NAT traversal (RFC 3947 or its drafts), "+
			"which this client always uses to carry ESP over UDP")
	}
	sa.draft = !rfc

	sa.dh, err = NewDH(prop.Group, s.rand)
	if err != nil {
		return failf(ErrNoProposalChosen, "Main Mode message 2: %v", err)
	}
	sa.gxi = sa.dh.Public()
	sa.ni = s.randBytes(32)
	// NAT-D (RFC 3947 3.2): the server's address as we see it, then ours.
	// Ours is deliberately a random value, so the server always sees a NAT
	// and both sides use UDP encapsulation (like strongSwan's encap=yes):
	// no raw ESP socket, no privileged port.
	remote := natdHash(prop.Hash, sa.ckyI, sa.ckyR, s.cfg.Remote, s.serverPort())
	local := s.randBytes(len(remote))
	payloads := []Payload{&KeyExchange{Data: sa.gxi}, &Nonce{Data: sa.ni}}
	if s.cfg.Cert != nil {
		payloads = append(payloads, certRequests(s.cfg.Cert)...)
	}
	payloads = append(payloads, &NATD{Draft: sa.draft, Hash: remote}, &NATD{Draft: sa.draft, Hash: local})
	msg := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	sa.state = mmSent3
	sa.out = s.sendPending(msg.Append(nil), "ID_PROT request 0 "+summary(payloads)+" (main mode 3/6)", now, func() error {
		return s.mainModeFailed(sa, s.mainModeGiveUp(sa, 3))
	})
	return nil
}

// deriveKeys computes the keys of sa (RFC 2409 5) from the Diffie-Hellman
// secret gxy, in either role: ni, gxi and ckyI are always the initiator's.
func (s *Session) deriveKeys(sa *ikeSA, gxy []byte) error {
	keyLen, err := sa.prop.Enc.KeyLen(sa.prop.KeyBits)
	if err != nil {
		return err
	}
	sa.keys = phase1Keys(sa.prop.Hash, sa.prop.Enc, keyLen, s.skeyid(sa, gxy), gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
	sa.iv = sa.keys.IV
	if s.cfg.KeyLog != nil {
		s.cfg.KeyLog.ike(sa.ckyI, sa.keys.Ka)
	}
	return nil
}

// serverPort is the server's port we talk to: 4500 once NAT-T floated.
func (s *Session) serverPort() uint16 {
	if s.natt {
		return 4500
	}
	return 500
}

func (s *Session) mainMode4(sa *ikeSA, m Message, now time.Time) error {
	sa.hint = 0
	s.log.Debug("ike: received ID_PROT response 0 " + summary(m.Payloads) + " (main mode 4/6)")
	ke, _ := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok := FindPayload[*Nonce](m.Payloads)
	if !ok {
		return failf(ErrRejected, "Main Mode message 4 has no nonce")
	}
	gxy, err := sa.dh.Shared(ke.Data)
	if err != nil {
		return failf(ErrRejected, "Main Mode message 4: the server's key exchange is invalid: %v", err)
	}
	sa.gxr = bytes.Clone(ke.Data)
	sa.nr = bytes.Clone(nonce.Data)
	s.phase1Notifies(sa, m.Payloads)
	noteCertRequests(s.log, s.cfg.Cert, m.Payloads)
	err = s.deriveKeys(sa, gxy)
	clear(gxy)
	if err != nil {
		return failf(ErrNoProposalChosen, "Main Mode message 4: %v", err)
	}
	s.natt = true // float to port 4500 (RFC 3947 4)

	payloads, err := s.ourAuth(sa)
	if err != nil {
		return failf(ErrCertificate, "Main Mode message 5: %v", err)
	}
	if !sa.rekey {
		// RFC 2407 4.6.3.3: forget any SAs left from an earlier run.
		spi := append(sa.ckyI[:], sa.ckyR[:]...)
		payloads = append(payloads, &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyInitialContact, SPI: spi})
	}
	sa.localID = s.cfg.LocalID.String()
	what := "ID_PROT request 0 " + summary(payloads) + " (main mode 5/6, local id " + sa.localID + ")"
	ct, next, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, AppendPayloads(nil, payloads))
	if err != nil {
		return failf(ErrRejected, "Main Mode message 5: %v", err)
	}
	sa.iv = next
	msg := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
		Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}
	sa.state = mmSent5
	sa.out = s.sendPending(msg.Append(nil), what, now, func() error { return s.mainModeFailed(sa, s.mainModeGiveUp(sa, 5)) })
	return nil
}

func (s *Session) mainMode6(sa *ikeSA, m Message, now time.Time) error {
	// A message 6 that does not decrypt or verify is dropped, not fatal:
	// anyone who saw the cookies could have sent it, and the real one may
	// still come. If none does, the give-up says it was the key.
	pt, next, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, m.Ciphertext)
	if err != nil {
		sa.badMM6 = true
		s.log.Debug("ike: dropping a Main Mode message 6 that cannot be decrypted", "err", err)
		return nil
	}
	ps, _, err := ParsePayloads(m.Header.NextPayload, pt)
	if err != nil {
		sa.badMM6 = true
		s.log.Debug("ike: dropping a Main Mode message 6 that does not decrypt to valid payloads")
		return nil
	}
	peer := ""
	if id, ok := FindPayload[*Identification](ps); ok {
		peer = IDOf(id).String()
	}
	s.log.Debug("ike: received ID_PROT response 0 "+summary(ps)+" (main mode 6/6)", "peer_id", peer)
	if _, err := s.checkPeerAuth(sa, ps, now); err != nil {
		if err == errBadHash {
			sa.badMM6 = true
			s.log.Debug("ike: dropping a Main Mode message 6 whose HASH_R does not verify")
			return nil
		}
		return prefixMM6(err)
	}
	sa.iv = nil
	sa.lastBlock = next
	sa.out = nil
	sa.peerID = peer
	sa.dh = nil
	s.phase1Notifies(sa, ps)
	s.mm = nil
	s.phase1Up(sa, now)
	return nil
}

// prefixMM6 says that a failure was found in Main Mode message 6.
func prefixMM6(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Kind: e.Kind, Msg: "ike: Main Mode message 6: " + strings.TrimPrefix(e.Msg, "ike: ")}
	}
	return err
}

func containsIKE(list []IKEProposal, p IKEProposal) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

func summary(ps []Payload) string { return SummarizePayloads(ps) }
