package ike

// FuzzResponderInput: whatever a client sends, the Responder neither
// panics nor loses track of its state. Four ways in: raw datagrams; raw
// datagrams with the cookies of a Main Mode in progress (so they reach its
// later steps); payload chains sent as a correctly encrypted and hashed
// Quick Mode or informational message under an established ISAKMP SA (so
// they reach the handlers behind the HASH check, which a fuzzer cannot
// forge); and payload chains sent as the answer (QM2, with a valid HASH(2))
// to the Quick Mode the Responder started to rekey the peer's child SA.

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

var fuzzFrom = netip.AddrPortFrom(natAddr, 40001)

// fuzzResponder is a Responder with one established peer (its SA is
// returned) that has a child SA the Responder is rekeying, and one Main
// Mode in progress (its cookies are returned).
func fuzzResponder(t testing.TB) (*Responder, *rSA, [16]byte) {
	r, err := NewResponder(ResponderConfig{PSK: secret.New(testPSK), Send: func(netip.AddrPort, bool, []byte) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	prop := IKEProposal{EncAESCBC, 128, HashSHA1, MODP2048}
	sa := &rSA{from: fuzzFrom, local: srv4500, natt: true, natT: true, qm: map[uint32]*rqm{}}
	sa.ikeSA = ikeSA{ckyI: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, ckyR: [8]byte{8, 7, 6, 5, 4, 3, 2, 1}, state: mmDone, responder: true,
		prop: prop, auth: authPSK, life: time.Hour, established: true, upAt: now, expireAt: now.Add(time.Hour),
		lastBlock: bytes.Repeat([]byte{9}, 16), peerDPD: true}
	sa.keys = derivePhase1(HashSHA1, EncAESCBC, 16, testPSK, []byte("ni"), []byte("nr"), []byte("gxy"), sa.ckyI[:], sa.ckyR[:],
		[]byte("gxi"), []byte("gxr"))
	p := &rpeer{addr: fuzzFrom, local: srv4500, natt: true, id: AddrID(netip.MustParseAddr("192.168.1.10")), sas: []*rSA{sa},
		upAt: now, lastRx: now, dpd: true}
	sa.peer = p
	r.peers[fuzzFrom] = p
	r.sas[cookieKey(sa.ckyI, sa.ckyR)] = sa
	private := netip.MustParseAddr("192.168.1.10")
	c := &rchild{c: ResponderChild{Proposal: ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96, Group: MODP2048},
		Encap: EncapUDPTransport, Mode: esp.Transport, Lifetime: time.Hour, SPIIn: 0x1000, SPIOut: 0x2000,
		PeerTS:  Selector{Prefix: netip.PrefixFrom(private, 32), Protocol: 17, Port: L2TPPort},
		LocalTS: Selector{Prefix: netip.PrefixFrom(srvAddr, 32), Protocol: 17, Port: L2TPPort}, PeerOA: private, LocalOA: srvAddr},
		idPeer: IDAddr(private, 17, L2TPPort), idLocal: IDAddr(srvAddr, 17, L2TPPort), upAt: now, expireAt: now.Add(time.Hour)}
	p.children = []*rchild{c}
	r.spis[c.c.SPIIn] = true
	r.do(func(now time.Time) { r.rekeyChild(p, sa, c, now) })
	if c.rekeying == nil {
		t.Fatal("no rekey started")
	}
	mm1, ckyI := testMM1(prop, VendorNATTRFC3947, VendorDPD)
	r.Input(netip.AddrPortFrom(natAddr, 40000), srv500, false, mm1)
	for k, s := range r.sas {
		if s.ckyI == ckyI {
			return r, sa, k
		}
	}
	t.Fatal("no half-open SA")
	return nil, nil, [16]byte{}
}

// fuzzHashed is payloads (first is the type of the first) sent under sa
// as exchange exch, encrypted, with a valid HASH(1).
func fuzzHashed(sa *rSA, exch ExchangeType, first PayloadType, payloads []byte) []byte {
	const mid = 0x01020304
	hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, payloads)
	pt := append([]byte{byte(first), 0, 0, byte(4 + len(hash))}, hash...)
	pt = append(pt, payloads...)
	ct, _, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid), pt)
	if err != nil {
		return nil
	}
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: exch, Flags: FlagEncryption,
		MessageID: mid, NextPayload: PayloadHash}, Ciphertext: ct}
	return m.Append(nil)
}

// fuzzAnswer is payloads (first is the type of the first) sent under sa
// as the answer to our Quick Mode q: encrypted, with a valid HASH(2).
func fuzzAnswer(sa *rSA, q *rqm, first PayloadType, payloads []byte) []byte {
	hash := quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, q.mid, q.ni, payloads)
	pt := append([]byte{byte(first), 0, 0, byte(4 + len(hash))}, hash...)
	pt = append(pt, payloads...)
	ct, _, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, q.iv, pt)
	if err != nil {
		return nil
	}
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeQuickMode,
		Flags: FlagEncryption, MessageID: q.mid, NextPayload: PayloadHash}, Ciphertext: ct}
	return m.Append(nil)
}

// ourQM is the Quick Mode the Responder started under sa.
func ourQM(sa *rSA) *rqm {
	for _, q := range sa.qm {
		if q.initiator {
			return q
		}
	}
	return nil
}

func FuzzResponderInput(f *testing.F) {
	for _, b := range goldenMessages(f) {
		f.Add(byte(0), b)
		f.Add(byte(1), b)
	}
	mm1, _ := testMM1(IKEProposal{EncAESCBC, 128, HashSHA1, MODP2048}, VendorNATTRFC3947)
	f.Add(byte(0), mm1)
	dh, _ := NewDH(MODP2048, nil)
	mm3 := Message{Header: Header{Exchange: ExchangeIDProt}, Payloads: []Payload{&KeyExchange{Data: dh.Public()},
		&Nonce{Data: make([]byte, 16)}, &NATD{Hash: make([]byte, 20)}, &NATD{Hash: make([]byte, 20)}}}
	f.Add(byte(1), mm3.Append(nil))
	private := netip.MustParseAddr("192.168.1.10")
	for _, ps := range [][]Payload{
		{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP, SPI: []byte{1, 2, 3, 4},
			Transforms: []Transform{ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96}.transform(1, EncapUDPTransport, time.Hour)}}}},
			&Nonce{Data: make([]byte, 16)}, IDAddr(private, 17, 1701), IDAddr(srvAddr, 17, 1701),
			&NATOA{Addr: private}, &NATOA{Addr: srvAddr}},
		{&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere, SPI: make([]byte, 16), Data: []byte{0, 0, 0, 1}}},
		{&Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}}}},
		{&Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{{1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1}}}},
		{&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyInitialContact}},
		{&Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen}},
	} {
		exch := byte(ExchangeInformational)
		if _, ok := ps[0].(*SA); ok {
			exch = byte(ExchangeQuickMode)
		}
		f.Add(byte(2), append([]byte{exch, byte(FirstPayload(ps))}, AppendPayloads(nil, ps)...))
	}
	// The client's answer to our rekey.
	dh, _ = NewDH(MODP2048, nil)
	prop := ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96, Group: MODP2048}
	for _, ps := range [][]Payload{
		{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP, SPI: []byte{5, 6, 7, 8},
			Transforms: []Transform{prop.transform(1, EncapUDPTransport, time.Hour)}}}},
			&Nonce{Data: make([]byte, 16)}, &KeyExchange{Data: dh.Public()}, IDAddr(srvAddr, 17, 1701), IDAddr(private, 17, 1701),
			&NATOA{Addr: srvAddr}, &NATOA{Addr: private}},
		{&Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyNoProposalChosen}},
	} {
		f.Add(byte(3), append([]byte{byte(FirstPayload(ps))}, AppendPayloads(nil, ps)...))
	}
	f.Fuzz(func(t *testing.T, mode byte, b []byte) {
		r, sa, half := fuzzResponder(t)
		switch mode % 4 {
		case 0:
			r.Input(fuzzFrom, srv4500, true, b)
		case 1:
			if len(b) >= HeaderLen {
				b = append(half[:], b[16:]...)
			}
			r.Input(netip.AddrPortFrom(natAddr, 40000), srv500, false, b)
		case 2:
			if len(b) < 2 {
				return
			}
			exch := ExchangeInformational
			if b[0]&1 == 1 {
				exch = ExchangeQuickMode
			}
			r.Input(fuzzFrom, srv4500, true, fuzzHashed(sa, exch, PayloadType(b[1]), b[2:]))
		case 3:
			if len(b) < 1 {
				return
			}
			r.Input(fuzzFrom, srv4500, true, fuzzAnswer(sa, ourQM(sa), PayloadType(b[0]), b[1:]))
		}
		// Then everything the timers do, and an orderly end.
		for _, d := range []time.Duration{time.Second, time.Minute, 2 * time.Hour} {
			r.Tick(time.Now().Add(d))
		}
		r.mu.Lock()
		open := 0
		for _, s := range r.sas {
			if !s.established {
				open++
			}
		}
		if open != r.halfOpen || r.halfOpen < 0 {
			t.Errorf("half-open count %d, %d SAs in progress", r.halfOpen, open)
		}
		r.mu.Unlock()
		r.Close()
	})
}

// The fuzz target's third way really reaches the handlers: its Quick Mode
// seed is answered, its R-U-THERE acknowledged.
func TestResponderFuzzHarness(t *testing.T) {
	var sent int
	r, sa, _ := fuzzResponder(t)
	r.cfg.Send = func(netip.AddrPort, bool, []byte) error { sent++; return nil }
	ps := []Payload{&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere, SPI: sa.cookies(), Data: []byte{0, 0, 0, 1}}}
	r.Input(fuzzFrom, srv4500, true, fuzzHashed(sa, ExchangeInformational, PayloadNotify, AppendPayloads(nil, ps)))
	private := netip.MustParseAddr("192.168.1.10")
	ps = []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP,
		SPI: []byte{1, 2, 3, 4}, Transforms: []Transform{ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96}.transform(1, EncapUDPTransport, time.Hour)}}}},
		&Nonce{Data: make([]byte, 16)}, IDAddr(private, 17, 1701), IDAddr(srvAddr, 17, 1701)}
	r.Input(fuzzFrom, srv4500, true, fuzzHashed(sa, ExchangeQuickMode, PayloadSA, AppendPayloads(nil, ps)))
	if sent != 2 || len(sa.qm) != 2 {
		t.Fatalf("sent %d, %d quick modes", sent, len(sa.qm))
	}
	// The answer to our rekey is taken: QM3 sent, the new pair installed.
	q := ourQM(sa)
	dh, _ := NewDH(MODP2048, nil)
	prop := ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96, Group: MODP2048}
	ps = []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP,
		SPI: []byte{5, 6, 7, 8}, Transforms: []Transform{prop.transform(1, EncapUDPTransport, time.Hour)}}}},
		&Nonce{Data: make([]byte, 16)}, &KeyExchange{Data: dh.Public()}}
	r.Input(fuzzFrom, srv4500, true, fuzzAnswer(sa, q, PayloadSA, AppendPayloads(nil, ps)))
	if p := sa.peer; sent != 3 || !q.done || len(p.children) != 2 || p.children[1].c.SPIOut != 0x05060708 {
		t.Fatalf("sent %d, done %v, %d children", sent, q.done, len(p.children))
	}
}
