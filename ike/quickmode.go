package ike

// Quick Mode (RFC 2409 5.5), both roles: we start one for the first child SA
// and for our rekeys; the server may start its own (SoftEther does right
// after Main Mode, charon for its rekeys).
//
//	QM1  HDR*, HASH(1), SA, Ni [, KE ] [, IDci, IDcr ] [, NAT-OAi, NAT-OAr ]  ->
//	QM2                                  <- HDR*, HASH(2), SA, Nr [, KE ] [, IDci, IDcr ] [, NAT-OA ...]
//	QM3  HDR*, HASH(3)                   ->

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// quickMode is one Quick Mode exchange, keyed by its message ID.
type quickMode struct {
	mid       uint32
	initiator bool
	iv        []byte // CBC chaining within the exchange
	ni, nr    []byte
	dh        *DH
	gxy       []byte
	spiIn     uint32
	spiOut    uint32
	prop      ESPProposal
	encap     uint16
	life      time.Duration
	rekeyOf   *ChildSA
	out       *pending
	done      bool
	// commit: the server set the commit bit in QM2; child is the pair
	// that waits for its CONNECTED notification (commit.go).
	commit bool
	child  *ChildSA
	lastIn []byte // the last message received, to spot retransmissions
	reply  []byte // our answer to lastIn
}

// encapMode is the encapsulation mode attribute for the configured mode.
func (s *Session) encapMode(sa *ikeSA) uint16 {
	switch {
	case s.cfg.Mode == esp.Tunnel && sa.draft:
		return EncapUDPTunnelDraft
	case s.cfg.Mode == esp.Tunnel:
		return EncapUDPTunnel
	case sa.draft:
		return EncapUDPTransportDraft
	}
	return EncapUDPTransport
}

func modeOf(encap uint16) esp.Mode {
	switch encap {
	case EncapTunnel, EncapUDPTunnel, EncapUDPTunnelDraft:
		return esp.Tunnel
	}
	return esp.Transport
}

// trafficSelectors are the IDs of a child SA: L2TP between the two hosts.
func (s *Session) trafficSelectors() (idci, idcr *Identification) {
	return IDAddr(s.cfg.Local, 17, L2TPPort), IDAddr(s.cfg.Remote, 17, L2TPPort)
}

func (s *Session) newMID(sa *ikeSA) uint32 {
	for {
		mid := binary.BigEndian.Uint32(s.randBytes(4))
		if _, used := sa.qms[mid]; mid != 0 && !used {
			return mid
		}
	}
}

// startQuickMode negotiates a child SA, replacing rekeyOf if not nil.
func (s *Session) startQuickMode(rekeyOf *ChildSA, now time.Time) {
	sa := s.ike
	q := &quickMode{mid: s.newMID(sa), initiator: true, spiIn: s.randUint32(), ni: s.randBytes(32), rekeyOf: rekeyOf}
	encap := s.encapMode(sa)
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiIn)
	p := Proposal{Number: 1, Protocol: ProtoESP, SPI: spi[:]}
	offer := s.espOffer()
	for i, ep := range offer {
		p.Transforms = append(p.Transforms, ep.transform(uint8(i+1), encap, s.cfg.ESPLifetime))
	}
	rest := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{p}}, &Nonce{Data: q.ni}}
	if g := s.pfsGroup(); g != 0 {
		dh, err := NewDH(g, s.rand)
		if err != nil {
			s.log.Warn("ike: quick mode: " + err.Error())
			return
		}
		q.dh = dh
		rest = append(rest, &KeyExchange{Data: dh.Public()})
	}
	idci, idcr := s.trafficSelectors()
	rest = append(rest, idci, idcr)
	if modeOf(encap) == esp.Transport {
		// RFC 3947 5.1: our original addresses, so the server can fix the
		// checksums of transport-mode packets.
		rest = append(rest, &NATOA{Draft: sa.draft, Addr: s.cfg.Local}, &NATOA{Draft: sa.draft, Addr: s.cfg.Remote})
	}
	restBytes := AppendPayloads(nil, rest)
	hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, restBytes)
	msg, next, err := s.encrypt(sa, ExchangeQuickMode, q.mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, q.mid),
		append([]Payload{&Hash{Data: hash}}, rest...))
	if err != nil {
		s.log.Warn("ike: quick mode: " + err.Error())
		return
	}
	q.iv = next
	sa.qms[q.mid] = q
	what := fmt.Sprintf("QUICK_MODE request %#08x %s", q.mid, summary(append([]Payload{&Hash{}}, rest...)))
	first := len(s.children) == 0 && rekeyOf == nil
	q.out = s.sendPending(msg, what, now, func() error {
		if first && s.nextPFS("no answer") {
			q.out, q.done = nil, true
			s.startQuickMode(nil, time.Now())
			return nil
		}
		if first {
			return failf(ErrNoResponse, "no answer to Quick Mode message 1 after %d tries: the server may silently refuse "+
				"the proposals (%s, %s mode) or the traffic selectors (UDP port %d)%s",
				s.cfg.Retransmits+1, FormatESPProposals(offer), s.cfg.Mode, L2TPPort, s.pfsHint())
		}
		s.log.Warn("ike: rekey quick mode got no answer; will try again")
		return nil
	})
	if rekeyOf != nil {
		s.log.Info("ike: rekeying child SA", "spi_in", spiHex(rekeyOf.In.SPI()))
	} else {
		s.log.Info("ike: phase 2 (quick mode) started", "offer", FormatESPProposals(offer), "mode", s.cfg.Mode.String())
	}
}

// encrypt builds an encrypted message with payloads, CBC-chained from iv;
// it returns the message and the next IV.
func (s *Session) encrypt(sa *ikeSA, exch ExchangeType, mid uint32, iv []byte, payloads []Payload) ([]byte, []byte, error) {
	return encryptMessage(sa, exch, mid, iv, payloads)
}

// encryptMessage is Session.encrypt for either role.
func encryptMessage(sa *ikeSA, exch ExchangeType, mid uint32, iv []byte, payloads []Payload) ([]byte, []byte, error) {
	ct, next, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, iv, AppendPayloads(nil, payloads))
	if err != nil {
		return nil, nil, err
	}
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: exch,
		Flags: FlagEncryption, MessageID: mid, NextPayload: FirstPayload(payloads)}, Ciphertext: ct}
	return m.Append(nil), next, nil
}

// decryptHashed decrypts an encrypted message whose first payload is HASH
// and returns the payloads, the hash value, the bytes after the HASH payload
// (padding excluded) and the next IV.
func decryptHashed(sa *ikeSA, m Message, iv []byte) (ps []Payload, hash, rest, next []byte, err error) {
	if m.Header.Flags&FlagEncryption == 0 {
		return nil, nil, nil, nil, fmt.Errorf("not encrypted")
	}
	if m.Header.NextPayload != PayloadHash {
		return nil, nil, nil, nil, fmt.Errorf("first payload is %s, not HASH", m.Header.NextPayload)
	}
	pt, next, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, iv, m.Ciphertext)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ps, pad, err := ParsePayloads(PayloadHash, pt)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	hp := ps[0].(*Hash)
	hl := genericHeaderLen + len(hp.Data)
	return ps, hp.Data, pt[hl : len(pt)-len(pad)], next, nil
}

func (s *Session) handleQuickMode(sa *ikeSA, m Message, raw []byte, now time.Time) error {
	mid := m.Header.MessageID
	q := sa.qms[mid]
	if q == nil {
		s.quickModeRespond(sa, m, raw, now)
		return nil
	}
	if q.lastIn != nil && bytes.Equal(q.lastIn, raw[:m.Header.Length]) {
		if q.reply != nil {
			s.log.Debug("ike: quick mode message repeated, answering again", "mid", fmt.Sprintf("%#08x", mid))
			s.send(q.reply, "QUICK_MODE (again)")
		}
		return nil
	}
	if q.done {
		return nil
	}
	if q.commit {
		return s.connectedQuickMode(sa, q, m, now)
	}
	ps, hash, rest, next, err := decryptHashed(sa, m, q.iv)
	if err != nil {
		s.log.Debug("ike: dropping undecryptable quick mode message", "err", err)
		return nil
	}
	q.lastIn = bytes.Clone(raw[:m.Header.Length])
	if q.initiator {
		return s.quickMode2(sa, q, ps, hash, rest, next, m.Header.Flags&FlagCommit != 0, now)
	}
	// Responder: QM3.
	want := quickHash3(sa.prop.Hash, sa.keys.SKEYIDa, mid, q.ni, q.nr)
	if !hmac.Equal(hash, want) {
		s.log.Debug("ike: dropping quick mode message 3 with a wrong HASH(3)")
		q.lastIn = nil
		return nil
	}
	s.log.Debug(fmt.Sprintf("ike: received QUICK_MODE request %#08x [ HASH ]", mid))
	s.lastRx.Store(now.UnixNano())
	q.out = nil
	q.done = true
	q.reply = nil // nothing answers a QM3; a repeated one is ignored
	return s.finishQuickMode(sa, q, now)
}

func (s *Session) quickMode2(sa *ikeSA, q *quickMode, ps []Payload, hash, rest, next []byte, commit bool, now time.Time) error {
	if !hmac.Equal(hash, quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, rest)) {
		s.log.Debug("ike: dropping quick mode message 2 with a wrong HASH(2)")
		q.lastIn = nil
		return nil
	}
	s.log.Debug(fmt.Sprintf("ike: received QUICK_MODE response %#08x %s", q.mid, summary(ps)))
	s.lastRx.Store(now.UnixNano())
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 || len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 || len(sap.Proposals[0].SPI) != 4 {
		return s.quickModeFailed(q, failf(ErrRejected, "Quick Mode message 2 is not a valid answer: %s", summary(ps)))
	}
	prop, encap, life, err := espProposalFromTransform(sap.Proposals[0].Transforms[0])
	if err != nil || !containsESP(s.espOffer(), prop) || encap != s.encapMode(sa) {
		return s.quickModeFailed(q, failf(ErrNoProposalChosen, "Quick Mode message 2: the server chose %s (encapsulation %d), "+
			"which we did not offer (%s)", prop, encap, FormatESPProposals(s.espOffer())))
	}
	if life <= 0 {
		life = s.cfg.ESPLifetime
	}
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.MessageType == NotifyResponderLifetime {
			if l := responderLifetime(n.Data); l > 0 && l < life {
				life = l
			}
		}
	}
	if q.dh != nil {
		ke, ok := FindPayload[*KeyExchange](ps)
		if !ok {
			return s.quickModeFailed(q, failf(ErrRejected, "Quick Mode message 2 has no KE payload although we asked for PFS"))
		}
		if q.gxy, err = q.dh.Shared(ke.Data); err != nil {
			return s.quickModeFailed(q, failf(ErrRejected, "Quick Mode message 2: invalid key exchange: %v", err))
		}
	}
	q.nr = bytes.Clone(nonce.Data)
	q.spiOut = binary.BigEndian.Uint32(sap.Proposals[0].SPI)
	q.prop, q.encap, q.life = prop, encap, life
	hash3 := quickHash3(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, q.nr)
	msg, next, err := s.encrypt(sa, ExchangeQuickMode, q.mid, next, []Payload{&Hash{Data: hash3}})
	if err != nil {
		return s.quickModeFailed(q, failf(ErrRejected, "Quick Mode message 3: %v", err))
	}
	q.reply = msg
	q.out = nil
	s.log.Debug(fmt.Sprintf("ike: sending QUICK_MODE request %#08x [ HASH ]", q.mid))
	s.send(msg, "QUICK_MODE 3")
	if commit {
		return s.awaitConnected(sa, q, msg, next, now)
	}
	q.done = true
	return s.finishQuickMode(sa, q, now)
}

// quickModeFailed ends the session if this was the first child SA; a failed
// rekey is only logged (the old SA keeps working until it expires, and tick
// tries again).
func (s *Session) quickModeFailed(q *quickMode, err *Error) error {
	q.out = nil
	q.done = true
	if len(s.children) == 0 {
		return err
	}
	s.log.Warn(err.Msg)
	return nil
}

func responderLifetime(data []byte) time.Duration {
	attrs, err := parseAttributes(data)
	if err != nil {
		return 0
	}
	seconds := false
	for _, a := range attrs {
		v, ok := a.Uint()
		switch {
		case !ok:
		case a.Type == AttrSALifeType:
			seconds = v == 1
		case a.Type == AttrSALifeDuration && seconds && v < 1<<31:
			return time.Duration(v) * time.Second
		}
	}
	return 0
}

// finishQuickMode derives the keys and installs the pair.
func (s *Session) finishQuickMode(sa *ikeSA, q *quickMode, now time.Time) error {
	c, err := s.newChild(sa, q)
	if err != nil {
		return s.quickModeFailed(q, err)
	}
	s.installChild(c, q.rekeyOf != nil, now)
	return nil
}

// newChild derives the keys of a finished Quick Mode and builds the pair.
func (s *Session) newChild(sa *ikeSA, q *quickMode) (*ChildSA, *Error) {
	n := espKeyLen(q.prop)
	t := esp.Transform{Enc: q.prop.Enc, Integ: q.prop.Integ}
	if s.cfg.SHA2Truncbug && t.Integ == esp.HMACSHA256_128 {
		t.Integ = esp.HMACSHA256_96 // negotiated as SHA2-256, used with 96-bit ICVs
	}
	kin := keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), q.spiIn, q.ni, q.nr, n)
	kout := keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), q.spiOut, q.ni, q.nr, n)
	defer clear(kin)
	defer clear(kout)
	mode := modeOf(q.encap)
	in, err := esp.NewSA(q.spiIn, t, kin, mode, s.rand)
	if err != nil {
		return nil, failf(ErrNoProposalChosen, "child SA %s: %v", q.prop, err)
	}
	out, err := esp.NewSA(q.spiOut, t, kout, mode, s.rand)
	if err != nil {
		return nil, failf(ErrNoProposalChosen, "child SA %s: %v", q.prop, err)
	}
	if s.cfg.KeyLog != nil {
		s.cfg.KeyLog.esp(s.cfg.Remote, s.cfg.Local, q.spiIn, t, kin)
		s.cfg.KeyLog.esp(s.cfg.Local, s.cfg.Remote, q.spiOut, t, kout)
	}
	q.dh, q.gxy = nil, nil
	return &ChildSA{In: in, Out: out, Proposal: q.prop, Mode: mode, Encap: q.encap, Lifetime: q.life,
		Initiator: q.initiator}, nil
}

// espKeyLen is the KEYMAT length of an ESP proposal: cipher key (+ salt for
// GCM) then the HMAC key.
func espKeyLen(p ESPProposal) int {
	n := p.KeyBits / 8
	switch p.Enc {
	case esp.TripleDES:
		n = 24
	case esp.AESGCM16:
		n += 4
	}
	switch p.Integ {
	case esp.HMACMD5_96:
		n += 16
	case esp.HMACSHA1_96:
		n += 20
	case esp.HMACSHA256_128:
		n += 32
	case esp.HMACSHA384_192:
		n += 48
	case esp.HMACSHA512_256:
		n += 64
	}
	return n
}

func containsESP(list []ESPProposal, p ESPProposal) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

// acceptableESP: a proposal of the server's matches one of ours in cipher,
// key size and integrity; its PFS group may differ if we support it.
func acceptableESP(list []ESPProposal, p ESPProposal) bool {
	if p.Group != 0 && !p.Group.Supported() {
		return false
	}
	for _, q := range list {
		if q.Enc == p.Enc && q.KeyBits == p.KeyBits && q.Integ == p.Integ {
			return true
		}
	}
	return false
}

func spiHex(spi uint32) string { return fmt.Sprintf("%08x", spi) }
