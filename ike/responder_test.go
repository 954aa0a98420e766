package ike

// A fake IKEv1 responder for the Session tests: Main Mode with a pre-shared
// key and Quick Mode in both roles, built from the package's codec and
// crypto helpers. It is driven synchronously from Config.Send (which runs on
// the session's Run goroutine) and answers through Session.Input, which
// never blocks, so no extra goroutine is needed. The test goroutine may call
// its methods too (initiate a Quick Mode, send a Delete or R-U-THERE); a
// mutex serialises both.

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// respConfig configures the fake responder.
type respConfig struct {
	PSK       []byte
	AcceptIKE []IKEProposal // the first offered transform found here is chosen
	AcceptESP []ESPProposal
	// Cert: authenticate with this credential (certfake_test.go); its CAs
	// verify the session's certificate. ServerID, if set, is the ID sent
	// instead of the certificate's subject (or address with a PSK);
	// SignWith, if set, signs instead of Cert.Key (a wrong signature).
	Cert     *Credential
	ServerID ID
	SignWith crypto.Signer
	// SilentNoProposal: stay silent instead of answering NO-PROPOSAL-CHOSEN.
	SilentNoProposal bool
	// Mute: never answer anything (server down or UDP blocked).
	Mute bool
	// DraftOnly: send only draft NAT-T vendor IDs (no RFC 3947).
	DraftOnly bool
	// DPD: send the RFC 3706 vendor ID.
	DPD bool
	// ZeroID: identify as ID_IPV4_ADDR 0.0.0.0 in MM6, like SoftEther.
	ZeroID bool
	// MalformedOnBadMM5: answer an MM5 it cannot verify with an unencrypted
	// Informational PAYLOAD-MALFORMED instead of silence.
	MalformedOnBadMM5 bool
	// QMAfterMM6: start its own Quick Mode right after MM6 (SoftEther).
	QMAfterMM6 bool
	// P1Lifetime, QMLifetime: send RESPONDER-LIFETIME with this lifetime
	// in MM6 and QM2 (RFC 2407 4.6.3.1).
	P1Lifetime, QMLifetime time.Duration
	// AggressiveID: the identity the fake expects in Aggressive Mode (it
	// answers others with AUTHENTICATION-FAILED, as strongSwan does when it
	// finds no config for the ID); DropAM3: lose that many of our AM3s.
	AggressiveID ID
	DropAM3      int
	// Commit: set the commit bit in QM2 and send CONNECTED after QM3
	// (unless HoldConnected: the test calls sendConnected).
	Commit, HoldConnected bool
}

// maxDupAnswers bounds how often the fake answers retransmissions, so an
// engine that loops fails a test instead of hanging it.
const maxDupAnswers = 50

// sentMsg is one message the session sent.
type sentMsg struct {
	at   time.Time
	b    []byte
	natt bool
}

// infoMsg is a decrypted informational message the session sent.
type infoMsg struct {
	at  time.Time
	sa  *fakeIKE
	mid uint32
	ps  []Payload
}

// fakeIKE is one ISAKMP SA at the fake.
type fakeIKE struct {
	ckyI, ckyR  [8]byte
	prop        IKEProposal
	saib        []byte
	idi         []byte // Aggressive Mode: the initiator's ID body
	dh          *DH
	gxi, gxr    []byte
	ni, nr      []byte
	keys        Phase1Keys
	iv          []byte
	lastBlock   []byte
	established bool
	qms         map[uint32]*fakeQM
	fakeInit    bool // the fake started this Main Mode (fakeinit_test.go)
	istate      int  // its Main Mode message last sent: 1, 3, 5, 6 when done
	auth        authMethod
	crs         []*CertRequest // the session's CR payloads in MM3
	peerCerts   int            // CERT payloads in the session's MM5
	peerID      ID

	// observations
	offered        []Transform
	mm1Natt        bool
	mm3Natt        bool
	mm5Natt        bool
	natd           []*NATD
	initialContact bool
}

// fakeQM is one Quick Mode at the fake.
type fakeQM struct {
	mid         uint32
	fakeInit    bool // the fake started it
	iv          []byte
	ni, nr      []byte // initiator's and responder's nonces
	dh          *DH
	gxy         []byte
	spiI, spiR  uint32 // SPIs chosen by the QM initiator and responder
	prop        ESPProposal
	tr          Transform
	encap       uint16
	done        bool
	natt        bool
	offered     []Transform
	ids         []*Identification
	natoa       []*NATOA
	in, out     *esp.SA // the fake's own ESP SAs
	established time.Time
}

type fakeResponder struct {
	t             testing.TB
	local, remote netip.Addr

	mu        sync.Mutex
	cfg       respConfig
	s         *Session
	sas       map[[8]byte]*fakeIKE
	order     []*fakeIKE
	sent      []sentMsg
	infos     []infoMsg
	children  []*fakeQM
	replies   map[string][]byte // received message -> our answer, for retransmissions
	dpdAnswer bool
	badMM5    int
	dups      int  // retransmissions of the session answered again
	mmMute    bool // answer no new Main Mode (phase 1 rekeys go unanswered)
	dropQM1   int  // lose the session's next dropQM1 Quick Mode message 1s
	// junk, if set, returns messages to feed the session before each of
	// our replies (robustness tests).
	junk func(reply []byte) [][]byte
	// split, if set, returns what to deliver instead of a reply (the
	// fragmentation tests: its fragments, or a changed reply).
	split func(reply []byte) [][]byte
}

func newFakeResponder(t testing.TB, cfg respConfig, local, remote netip.Addr) *fakeResponder {
	return &fakeResponder{t: t, cfg: cfg, local: local, remote: remote, sas: map[[8]byte]*fakeIKE{},
		replies: map[string][]byte{}, dpdAnswer: true}
}

func fakeRand(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func fakeSPI() uint32 {
	for {
		if v := binary.BigEndian.Uint32(fakeRand(4)); v >= 256 {
			return v
		}
	}
}

// send is the session's Config.Send.
func (r *fakeResponder) send(msg []byte, natt bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := bytes.Clone(msg)
	r.sent = append(r.sent, sentMsg{at: time.Now(), b: b, natt: natt})
	if r.cfg.Mute {
		return nil
	}
	if prev, ok := r.replies[string(b)]; ok {
		// A retransmission: answer again, but not forever.
		r.dups++
		if r.dups <= maxDupAnswers {
			r.reply(prev, natt)
		}
		return nil
	}
	m, err := Parse(b)
	if err != nil {
		r.t.Errorf("fake: the session sent an unparsable message: %v", err)
		return nil
	}
	sa := r.sas[m.Header.InitiatorCookie]
	enc := m.Header.Flags&FlagEncryption != 0
	switch m.Header.Exchange {
	case ExchangeIDProt:
		switch {
		case sa != nil && sa.fakeInit:
			r.initiatorMainMode(sa, m, natt)
		case sa == nil && !enc:
			if !r.mmMute {
				r.mainMode1(m, b, natt)
			}
		case sa != nil && !enc && hasPayload[*KeyExchange](m.Payloads):
			r.mainMode3(sa, m, b, natt)
		case sa != nil && enc && !sa.established:
			r.mainMode5(sa, m, b, natt)
		}
	case ExchangeAggressive:
		r.aggressive(sa, m, b, natt) // aggressive_test.go
	case ExchangeQuickMode:
		if sa != nil && sa.established && sa.qms[m.Header.MessageID] == nil && r.dropQM1 > 0 {
			r.dropQM1--
			return nil
		}
		if sa != nil && sa.established {
			r.quickMode(sa, m, b, natt)
		}
	case ExchangeInformational:
		if sa != nil && sa.established {
			r.informational(sa, m, b, natt)
		}
	}
	return nil
}

// reply hands an answer to the session, after any junk.
func (r *fakeResponder) reply(b []byte, natt bool) {
	if r.junk != nil {
		for _, j := range r.junk(b) {
			r.s.Input(j, natt)
		}
	}
	if r.split != nil {
		for _, m := range r.split(b) {
			r.s.Input(m, natt)
		}
		return
	}
	r.s.Input(b, natt)
}

func (r *fakeResponder) answer(received, reply []byte, natt bool) {
	r.replies[string(received)] = reply
	r.reply(reply, natt)
}

// plainInfo is an unencrypted informational notification (what servers send
// before they have keys).
func plainInfo(ckyI, ckyR [8]byte, proto ProtocolID, t NotifyType) []byte {
	m := Message{Header: Header{InitiatorCookie: ckyI, ResponderCookie: ckyR, Exchange: ExchangeInformational},
		Payloads: []Payload{&Notify{DOI: DOIIPsec, Protocol: proto, MessageType: t}}}
	return m.Append(nil)
}

func (r *fakeResponder) mainMode1(m Message, raw []byte, natt bool) {
	sap, ok := FindPayload[*SA](m.Payloads)
	if !ok || len(sap.Proposals) != 1 {
		r.t.Errorf("fake: MM1 without one proposal")
		return
	}
	var ckyR [8]byte
	copy(ckyR[:], fakeRand(8))
	var chosen *Transform
	var prop IKEProposal
	var am authMethod
	for _, t := range sap.Proposals[0].Transforms {
		p, _, a, err := phase1FromTransform(t)
		if err == nil && r.acceptsAuth(a) && containsIKE(r.cfg.AcceptIKE, p) {
			t := t
			chosen, prop, am = &t, p, a
			break
		}
	}
	if chosen == nil {
		if !r.cfg.SilentNoProposal {
			r.answer(raw, plainInfo(m.Header.InitiatorCookie, ckyR, ProtoISAKMP, NotifyNoProposalChosen), natt)
		}
		return
	}
	sa := &fakeIKE{ckyI: m.Header.InitiatorCookie, ckyR: ckyR, prop: prop, auth: am, saib: bytes.Clone(sap.Raw),
		qms: map[uint32]*fakeQM{}, offered: sap.Proposals[0].Transforms, mm1Natt: natt}
	r.sas[sa.ckyI] = sa
	r.order = append(r.order, sa)
	payloads := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{
		Number: sap.Proposals[0].Number, Protocol: ProtoISAKMP, Transforms: []Transform{*chosen}}}}}
	if r.cfg.DraftOnly {
		payloads = append(payloads, NewVendorID(VendorNATTDraft02N), NewVendorID(VendorNATTDraft03))
	} else {
		payloads = append(payloads, NewVendorID(VendorNATTRFC3947))
	}
	if r.cfg.DPD {
		payloads = append(payloads, NewVendorID(VendorDPD))
	}
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	r.answer(raw, reply.Append(nil), natt)
}

func (r *fakeResponder) mainMode3(sa *fakeIKE, m Message, raw []byte, natt bool) {
	ke, ok1 := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok2 := FindPayload[*Nonce](m.Payloads)
	if !ok1 || !ok2 {
		r.t.Errorf("fake: MM3 without KE or nonce")
		return
	}
	sa.mm3Natt = natt
	for _, p := range m.Payloads {
		if n, ok := p.(*NATD); ok {
			sa.natd = append(sa.natd, &NATD{Draft: n.Draft, Hash: bytes.Clone(n.Hash)})
		}
	}
	sa.gxi, sa.ni = bytes.Clone(ke.Data), bytes.Clone(nonce.Data)
	dh, err := NewDH(sa.prop.Group, nil)
	if err != nil {
		r.t.Errorf("fake: %v", err)
		return
	}
	sa.dh, sa.gxr, sa.nr = dh, dh.Public(), fakeRand(24)
	gxy, err := dh.Shared(sa.gxi)
	if err != nil {
		r.t.Errorf("fake: MM3 KE: %v", err)
		return
	}
	sa.keys = r.phase1Keys(sa, gxy)
	sa.iv = sa.keys.IV
	h := sa.prop.Hash
	sa.crs = r.noteCRs(m.Payloads)
	payloads := append([]Payload{&KeyExchange{Data: sa.gxr}, &Nonce{Data: sa.nr}}, r.certRequests()...)
	payloads = append(payloads,
		&NATD{Draft: r.cfg.DraftOnly, Hash: testNATD(h, sa.ckyI, sa.ckyR, r.local, 500)},
		&NATD{Draft: r.cfg.DraftOnly, Hash: testNATD(h, sa.ckyI, sa.ckyR, r.remote, 500)})
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt}, Payloads: payloads}
	r.answer(raw, reply.Append(nil), natt)
}

// testNATD is the RFC 3947 NAT-D hash, computed independently of the engine.
func testNATD(h HashAlg, ckyI, ckyR [8]byte, a netip.Addr, port uint16) []byte {
	d := h.New()
	d.Write(ckyI[:])
	d.Write(ckyR[:])
	d.Write(a.AsSlice())
	d.Write([]byte{byte(port >> 8), byte(port)})
	return d.Sum(nil)
}

func (r *fakeResponder) mainMode5(sa *fakeIKE, m Message, raw []byte, natt bool) {
	sa.mm5Natt = natt
	ok := false
	var next []byte
	var idi *Identification
	pt, nx, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, m.Ciphertext)
	if err == nil {
		if ps, _, err := ParsePayloads(m.Header.NextPayload, pt); err == nil {
			if id, good := r.verifyMM5(sa, ps); good {
				ok, idi, next = true, id, nx
			}
			for _, p := range ps {
				if n, isN := p.(*Notify); isN && n.MessageType == NotifyInitialContact {
					sa.initialContact = true
				}
			}
		}
	}
	if !ok {
		r.badMM5++
		if r.cfg.MalformedOnBadMM5 {
			r.answer(raw, plainInfo(sa.ckyI, sa.ckyR, ProtoISAKMP, NotifyPayloadMalformed), natt)
		}
		return
	}
	if a, ok := idi.Addr(); r.cfg.Cert == nil && (!ok || a != r.local) {
		r.t.Errorf("fake: MM5 identity %v, want %v", idi, r.local)
	}
	sa.iv = next
	id := IDAddr(r.remote, 17, 500)
	if r.cfg.ZeroID {
		id = IDAddr(netip.IPv4Unspecified(), 17, 500)
	}
	mm6 := r.mm6Auth(sa, id)
	if r.cfg.P1Lifetime > 0 {
		mm6 = append(mm6, lifetimeNotify(ProtoISAKMP, append(sa.ckyI[:], sa.ckyR[:]...), AttrLifeType, AttrLifeDuration, r.cfg.P1Lifetime))
	}
	ct, last, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, AppendPayloads(nil, mm6))
	if err != nil {
		r.t.Errorf("fake: MM6: %v", err)
		return
	}
	sa.lastBlock, sa.established = last, true
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
		Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}
	r.answer(raw, reply.Append(nil), natt)
	if r.cfg.QMAfterMM6 {
		r.startQuickModeLocked(sa)
	}
}

// encrypt builds an encrypted phase 2 message: HASH first, then payloads.
// hashFn computes the hash over the bytes after the HASH payload.
func (r *fakeResponder) encrypt(sa *fakeIKE, exch ExchangeType, mid uint32, iv []byte, hashFn func(rest []byte) []byte,
	payloads []Payload) (msg, next []byte) {
	rest := AppendPayloads(nil, payloads)
	hash := hashFn(rest)
	first := PayloadNone
	if len(payloads) > 0 {
		first = payloads[0].Type()
	}
	pt := append([]byte{byte(first), 0, 0, 0}, hash...)
	binary.BigEndian.PutUint16(pt[2:], uint16(genericHeaderLen+len(hash)))
	pt = append(pt, rest...)
	return r.encryptRaw(sa, exch, mid, iv, pt)
}

func (r *fakeResponder) encryptRaw(sa *fakeIKE, exch ExchangeType, mid uint32, iv, pt []byte) (msg, next []byte) {
	ct, next, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, iv, pt)
	if err != nil {
		r.t.Errorf("fake: encrypt: %v", err)
		return nil, nil
	}
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: exch,
		Flags: FlagEncryption, MessageID: mid, NextPayload: PayloadHash}, Ciphertext: ct}
	return m.Append(nil), next
}

// decryptHashed decrypts a phase 2 message; rest is what follows HASH.
func (r *fakeResponder) decryptHashed(sa *fakeIKE, m Message, iv []byte) (ps []Payload, hash, rest, next []byte, ok bool) {
	if m.Header.Flags&FlagEncryption == 0 || m.Header.NextPayload != PayloadHash {
		return nil, nil, nil, nil, false
	}
	pt, next, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, iv, m.Ciphertext)
	if err != nil {
		return nil, nil, nil, nil, false
	}
	ps, pad, err := ParsePayloads(PayloadHash, pt)
	if err != nil {
		return nil, nil, nil, nil, false
	}
	hash = ps[0].(*Hash).Data
	return ps, hash, pt[genericHeaderLen+len(hash) : len(pt)-len(pad)], next, true
}

func (r *fakeResponder) newMID(sa *fakeIKE) uint32 {
	for {
		mid := binary.BigEndian.Uint32(fakeRand(4))
		if _, used := sa.qms[mid]; mid != 0 && !used {
			return mid
		}
	}
}

// sendInfo sends an encrypted informational message to the session.
func (r *fakeResponder) sendInfo(sa *fakeIKE, payloads ...Payload) {
	mid := r.newMID(sa)
	msg, _ := r.encrypt(sa, ExchangeInformational, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid),
		func(rest []byte) []byte { return quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest) }, payloads)
	r.reply(msg, true)
}

func (r *fakeResponder) informational(sa *fakeIKE, m Message, raw []byte, natt bool) {
	mid := m.Header.MessageID
	ps, hash, rest, _, ok := r.decryptHashed(sa, m, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid))
	if !ok || !hmac.Equal(hash, quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)) {
		r.t.Errorf("fake: undecryptable or wrongly hashed informational from the session")
		return
	}
	if !natt {
		r.t.Errorf("fake: informational sent to port 500")
	}
	r.infos = append(r.infos, infoMsg{at: time.Now(), sa: sa, mid: mid, ps: ps[1:]})
	for _, p := range ps[1:] {
		if n, ok := p.(*Notify); ok && n.MessageType == NotifyRUThere && r.dpdAnswer {
			ack := &Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThereAck,
				SPI: append(sa.ckyI[:], sa.ckyR[:]...), Data: bytes.Clone(n.Data)}
			mid := r.newMID(sa)
			msg, _ := r.encrypt(sa, ExchangeInformational, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid),
				func(rest []byte) []byte { return quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest) }, []Payload{ack})
			r.answer(raw, msg, natt)
		}
	}
}

func (r *fakeResponder) quickMode(sa *fakeIKE, m Message, raw []byte, natt bool) {
	mid := m.Header.MessageID
	q := sa.qms[mid]
	if q == nil {
		r.quickMode1(sa, m, raw, natt)
		return
	}
	if q.done {
		return
	}
	ps, hash, rest, next, ok := r.decryptHashed(sa, m, q.iv)
	if !ok {
		r.t.Errorf("fake: undecryptable quick mode message from the session")
		return
	}
	h, ka := sa.prop.Hash, sa.keys.SKEYIDa
	if !q.fakeInit {
		// QM3
		if !hmac.Equal(hash, quickHash3(h, ka, mid, q.ni, q.nr)) {
			r.t.Errorf("fake: QM3 with a wrong HASH(3)")
			return
		}
		r.finishQuickMode(sa, q, q.spiR, q.spiI)
		q.iv = next
		if r.cfg.Commit && !r.cfg.HoldConnected {
			r.sendConnectedLocked(sa, q, false)
		}
		return
	}
	// QM2 answering our QM1.
	if !hmac.Equal(hash, quickHash2(h, ka, mid, q.ni, rest)) {
		r.t.Errorf("fake: QM2 with a wrong HASH(2)")
		return
	}
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 || len(sap.Proposals) != 1 || len(sap.Proposals[0].SPI) != 4 || len(sap.Proposals[0].Transforms) != 1 {
		r.t.Errorf("fake: bad QM2 %s", summary(ps))
		return
	}
	prop, encap, _, err := espProposalFromTransform(sap.Proposals[0].Transforms[0])
	if err != nil || prop != q.prop || encap != q.encap {
		r.t.Errorf("fake: QM2 chose %v/%d, offered %v/%d (%v)", prop, encap, q.prop, q.encap, err)
		return
	}
	q.nr = bytes.Clone(nonce.Data)
	q.spiR = binary.BigEndian.Uint32(sap.Proposals[0].SPI)
	for _, p := range ps {
		switch p := p.(type) {
		case *Identification:
			q.ids = append(q.ids, p)
		case *NATOA:
			q.natoa = append(q.natoa, p)
		case *KeyExchange:
			if q.dh != nil {
				if q.gxy, err = q.dh.Shared(p.Data); err != nil {
					r.t.Errorf("fake: QM2 KE: %v", err)
					return
				}
			}
		}
	}
	if q.dh != nil && q.gxy == nil {
		r.t.Errorf("fake: QM2 without KE")
		return
	}
	msg, _ := r.encryptRaw(sa, ExchangeQuickMode, mid, next, appendHashPayload(quickHash3(h, ka, mid, q.ni, q.nr)))
	r.finishQuickMode(sa, q, q.spiI, q.spiR)
	r.answer(raw, msg, natt)
}

func appendHashPayload(hash []byte) []byte {
	b := []byte{0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(genericHeaderLen+len(hash)))
	return append(b, hash...)
}

// quickMode1 answers a Quick Mode the session started.
func (r *fakeResponder) quickMode1(sa *fakeIKE, m Message, raw []byte, natt bool) {
	mid := m.Header.MessageID
	h, ka := sa.prop.Hash, sa.keys.SKEYIDa
	ps, hash, rest, next, ok := r.decryptHashed(sa, m, phase2IV(h, sa.prop.Enc, sa.lastBlock, mid))
	if !ok || !hmac.Equal(hash, quickHash1(h, ka, mid, rest)) {
		r.t.Errorf("fake: QM1 undecryptable or with a wrong HASH(1)")
		return
	}
	sap, ok1 := FindPayload[*SA](ps)
	nonce, ok2 := FindPayload[*Nonce](ps)
	if !ok1 || !ok2 || len(sap.Proposals) != 1 || len(sap.Proposals[0].SPI) != 4 {
		r.t.Errorf("fake: bad QM1 %s", summary(ps))
		return
	}
	q := &fakeQM{mid: mid, ni: bytes.Clone(nonce.Data), nr: fakeRand(32), spiI: binary.BigEndian.Uint32(sap.Proposals[0].SPI),
		spiR: fakeSPI(), natt: natt, offered: sap.Proposals[0].Transforms}
	var ke *KeyExchange
	for _, p := range ps {
		switch p := p.(type) {
		case *Identification:
			q.ids = append(q.ids, p)
		case *NATOA:
			q.natoa = append(q.natoa, p)
		case *KeyExchange:
			ke = p
		}
	}
	chosen := false
	for _, t := range sap.Proposals[0].Transforms {
		ep, encap, _, err := espProposalFromTransform(t)
		if err == nil && containsESP(r.cfg.AcceptESP, ep) {
			q.prop, q.encap, q.tr, chosen = ep, encap, t, true
			break
		}
	}
	sa.qms[mid] = q
	if !chosen {
		q.done = true
		if !r.cfg.SilentNoProposal {
			r.sendInfo(sa, &Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen, SPI: sap.Proposals[0].SPI})
		}
		return
	}
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiR)
	out := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: sap.Proposals[0].Number,
		Protocol: ProtoESP, SPI: spi[:], Transforms: []Transform{q.tr}}}}, &Nonce{Data: q.nr}}
	if q.prop.Group != 0 {
		if ke == nil {
			r.t.Errorf("fake: QM1 with PFS but no KE")
			return
		}
		dh, err := NewDH(q.prop.Group, nil)
		if err != nil {
			r.t.Errorf("fake: %v", err)
			return
		}
		if q.gxy, err = dh.Shared(ke.Data); err != nil {
			r.t.Errorf("fake: QM1 KE: %v", err)
			return
		}
		out = append(out, &KeyExchange{Data: dh.Public()})
	}
	for _, id := range q.ids {
		out = append(out, id)
	}
	if r.cfg.QMLifetime > 0 {
		out = append(out, lifetimeNotify(ProtoESP, spi[:], AttrSALifeType, AttrSALifeDuration, r.cfg.QMLifetime))
	}
	msg, nx := r.encrypt(sa, ExchangeQuickMode, mid, next, func(rest []byte) []byte { return quickHash2(h, ka, mid, q.ni, rest) }, out)
	q.iv = nx
	if r.cfg.Commit {
		msg[19] |= byte(FlagCommit) // the header's flags
	}
	r.answer(raw, msg, natt)
}

// startQuickMode makes the fake start a Quick Mode on its newest SA, with
// its first accepted ESP proposal, like SoftEther after MM6 or charon when
// it rekeys. It returns the message ID.
func (r *fakeResponder) startQuickMode() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.startQuickModeLocked(r.order[len(r.order)-1])
}

func (r *fakeResponder) startQuickModeLocked(sa *fakeIKE) uint32 {
	mid := r.newMID(sa)
	h, ka := sa.prop.Hash, sa.keys.SKEYIDa
	ep := r.cfg.AcceptESP[0]
	encap := uint16(EncapUDPTransport)
	switch {
	case r.s.cfg.Mode == esp.Tunnel && r.cfg.DraftOnly:
		encap = EncapUDPTunnelDraft
	case r.s.cfg.Mode == esp.Tunnel:
		encap = EncapUDPTunnel
	case r.cfg.DraftOnly:
		encap = EncapUDPTransportDraft
	}
	q := &fakeQM{mid: mid, fakeInit: true, ni: fakeRand(32), spiI: fakeSPI(), prop: ep, encap: encap, natt: true}
	q.tr = ep.transform(1, encap, time.Hour)
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiI)
	out := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1,
		Protocol: ProtoESP, SPI: spi[:], Transforms: []Transform{q.tr}}}}, &Nonce{Data: q.ni}}
	if ep.Group != 0 {
		dh, err := NewDH(ep.Group, nil)
		if err != nil {
			r.t.Errorf("fake: %v", err)
			return mid
		}
		q.dh = dh
		out = append(out, &KeyExchange{Data: dh.Public()})
	}
	out = append(out, IDAddr(r.remote, 17, L2TPPort), IDAddr(r.local, 17, L2TPPort))
	if encap == EncapUDPTransport || encap == EncapUDPTransportDraft {
		out = append(out, &NATOA{Draft: r.cfg.DraftOnly, Addr: r.remote}, &NATOA{Draft: r.cfg.DraftOnly, Addr: r.local})
	}
	msg, nx := r.encrypt(sa, ExchangeQuickMode, mid, phase2IV(h, sa.prop.Enc, sa.lastBlock, mid),
		func(rest []byte) []byte { return quickHash1(h, ka, mid, rest) }, out)
	q.iv = nx
	sa.qms[mid] = q
	r.reply(msg, true)
	return mid
}

// fakeKeyLen is the KEYMAT length for p, from the RFCs' key sizes.
func fakeKeyLen(p ESPProposal) int {
	n := map[esp.EncAlg]int{esp.AESCBC: p.KeyBits / 8, esp.AESGCM16: p.KeyBits/8 + 4, esp.TripleDES: 24}[p.Enc]
	return n + map[esp.IntegAlg]int{esp.HMACMD5_96: 16, esp.HMACSHA1_96: 20, esp.HMACSHA256_128: 32,
		esp.HMACSHA384_192: 48, esp.HMACSHA512_256: 64}[p.Integ]
}

// finishQuickMode builds the fake's ESP SAs: in receives on spiIn.
func (r *fakeResponder) finishQuickMode(sa *fakeIKE, q *fakeQM, spiIn, spiOut uint32) {
	q.done = true
	n := fakeKeyLen(q.prop)
	t := esp.Transform{Enc: q.prop.Enc, Integ: q.prop.Integ}
	mode := esp.Transport
	if q.encap == EncapUDPTunnel || q.encap == EncapUDPTunnelDraft {
		mode = esp.Tunnel
	}
	var err error
	if q.in, err = esp.NewSA(spiIn, t, keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), spiIn, q.ni, q.nr, n), mode, nil); err != nil {
		r.t.Errorf("fake: esp: %v", err)
		return
	}
	if q.out, err = esp.NewSA(spiOut, t, keymat(sa.prop.Hash, sa.keys.SKEYIDd, q.gxy, uint8(ProtoESP), spiOut, q.ni, q.nr, n), mode, nil); err != nil {
		r.t.Errorf("fake: esp: %v", err)
		return
	}
	q.established = time.Now()
	r.children = append(r.children, q)
}

// Accessors for the test goroutine.

func (r *fakeResponder) lock(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// childFor returns the fake's pair for a session child (matched by SPIs).
func (r *fakeResponder) childFor(c *ChildSA) *fakeQM {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.children {
		if q.in.SPI() == c.Out.SPI() && q.out.SPI() == c.In.SPI() {
			return q
		}
	}
	return nil
}

// deleteFrom returns the deletes of protocol p the session sent.
func (r *fakeResponder) deletes(p ProtocolID) (out []*Delete, sas []*fakeIKE, at []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, im := range r.infos {
		for _, pl := range im.ps {
			if d, ok := pl.(*Delete); ok && d.Protocol == p {
				out, sas, at = append(out, d), append(sas, im.sa), append(at, im.at)
			}
		}
	}
	return out, sas, at
}

// notifies returns the notifications of type t the session sent.
func (r *fakeResponder) notifies(t NotifyType) (out []*Notify, at []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, im := range r.infos {
		for _, pl := range im.ps {
			if n, ok := pl.(*Notify); ok && n.MessageType == t {
				out, at = append(out, n), append(at, im.at)
			}
		}
	}
	return out, at
}
