package ike

// ForceEncap: a client that is not behind a NAT must still UDP-encapsulate
// ESP. Our own initiator fakes its NAT anyway; the other cases are driven
// by a hand-made initiator (handClient) whose NAT-D payloads are honest.

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Our initiator against ForceEncap: the handshake is unchanged, the pair
// is UDP-encapsulated, and Main Mode 4 has a NAT-D for the client's
// address that does not match and a true one for ours.
func TestResponderForceEncapOurClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{ForceEncap: true, DPDDelay: -1})
		var mm4 []byte
		n.setTap(func(_ *srvClient, _ bool, b []byte) bool {
			if m, err := Parse(b); err == nil && m.Header.Exchange == ExchangeIDProt && hasPayload[*KeyExchange](m.Payloads) {
				mm4 = bytes.Clone(b)
			}
			return true
		})
		c := n.client(Config{DPDDelay: -1}, 40000, 40001)
		h := c.event(Phase1Up, time.Minute).Phase1.Proposal.Hash
		_, sc := up(t, n, c)
		if sc.Encap != EncapUDPTransport || !sc.NATT {
			t.Errorf("encap %d natt %v", sc.Encap, sc.NATT)
		}
		m, err := Parse(mm4)
		if err != nil {
			t.Fatalf("no main mode 4: %v", err)
		}
		natds := natdsOf(m.Payloads)
		ckyI, ckyR := m.Header.InitiatorCookie, m.Header.ResponderCookie
		if len(natds) != 2 || bytes.Equal(natds[0], natdHash(h, ckyI, ckyR, natAddr, 40000)) ||
			!bytes.Equal(natds[1], natdHash(h, ckyI, ckyR, srvAddr, 500)) {
			t.Errorf("main mode 4 NAT-D %x", natds)
		}
	})
}

func natdsOf(ps []Payload) [][]byte {
	var out [][]byte
	for _, p := range ps {
		if n, ok := p.(*NATD); ok {
			out = append(out, n.Hash)
		}
	}
	return out
}

// A client on a public address (its NAT-D hashes match) must see a NAT in
// Main Mode 4 and is refused plain transport mode; without ForceEncap it
// sees none and gets plain transport mode.
func TestResponderForceEncapNoNAT(t *testing.T) {
	for _, tc := range []struct {
		name  string
		force bool
	}{{"ForceEncap", true}, {"default", false}} {
		force := tc.force
		t.Run(tc.name, func(t *testing.T) {
			hc := newHandClient(t, ResponderConfig{ForceEncap: force})
			mm4 := hc.mainMode(true)
			natds := natdsOf(mm4.Payloads)
			h := hc.sa.prop.Hash
			ours := natdHash(h, hc.sa.ckyI, hc.sa.ckyR, hc.addr.Addr(), hc.addr.Port())
			if len(natds) != 2 || bytes.Equal(natds[0], ours) != !force {
				t.Errorf("NAT-D of the client's address matches: %v, want %v", bytes.Equal(natds[0], ours), !force)
			}
			if len(natds) == 2 && !bytes.Equal(natds[1], natdHash(h, hc.sa.ckyI, hc.sa.ckyR, srvAddr, 500)) {
				t.Error("NAT-D of the server's address does not match: clients would see the server behind a NAT")
			}
			ps := hc.quickMode(EncapTransport)
			if force {
				if n, ok := FindPayload[*Notify](ps); !ok || n.MessageType != NotifyNoProposalChosen {
					t.Errorf("plain transport answered with %s, want NO_PROPOSAL_CHOSEN", summary(ps))
				}
				if hc.r.Stats().NoProposal != 1 {
					t.Errorf("stats %+v", hc.r.Stats())
				}
			} else if !hasPayload[*SA](ps) {
				t.Errorf("plain transport answered with %s, want quick mode 2", summary(ps))
			}
			if ps := hc.quickMode(EncapUDPTransport); !hasPayload[*SA](ps) {
				t.Errorf("UDP transport answered with %s, want quick mode 2", summary(ps))
			}
		})
	}
}

// A client without NAT traversal cannot be served with ForceEncap: it is
// said once for the peer, and each of its Quick Modes is refused.
func TestResponderForceEncapNoNATT(t *testing.T) {
	hc := newHandClient(t, ResponderConfig{ForceEncap: true})
	hc.natt = false
	if natds := natdsOf(hc.mainMode(true).Payloads); len(natds) != 0 {
		t.Fatalf("NAT-D without NAT-T: %x", natds)
	}
	for range 2 {
		ps := hc.quickMode(EncapTransport)
		if n, ok := FindPayload[*Notify](ps); !ok || n.MessageType != NotifyNoProposalChosen {
			t.Errorf("answered with %s, want NO_PROPOSAL_CHOSEN", summary(ps))
		}
	}
	if got := hc.log.count(slog.LevelWarn, "does not support NAT traversal"); got != 1 {
		t.Errorf("%d warnings about NAT traversal, want 1", got)
	}
	if got := hc.log.count(slog.LevelWarn, "quick mode refused"); got != 0 {
		t.Errorf("%d more warnings for its quick modes", got)
	}
}

// handClient is a hand-made IKEv1 initiator at a public address, talking to
// a Responder directly (no timers run).
type handClient struct {
	t    *testing.T
	r    *Responder
	log  *logRecorder
	addr netip.AddrPort // its IKE address; port 4500 after the float
	natt bool           // offer RFC 3947
	sa   ikeSA
	sent []handSent
}

type handSent struct {
	to   netip.AddrPort
	natt bool
	b    []byte
}

func newHandClient(t *testing.T, cfg ResponderConfig) *handClient {
	hc := &handClient{t: t, log: &logRecorder{}, addr: netip.MustParseAddrPort("192.0.2.10:500"), natt: true}
	cfg.PSK = secret.New(testPSK)
	cfg.Logger = slog.New(hc.log)
	cfg.Send = func(to netip.AddrPort, natt bool, b []byte) error {
		hc.sent = append(hc.sent, handSent{to, natt, bytes.Clone(b)})
		return nil
	}
	r, err := NewResponder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc.r = r
	return hc
}

// exchange sends b and returns the one answer.
func (hc *handClient) exchange(b []byte) Message {
	hc.t.Helper()
	local := srv500
	if hc.addr.Port() != 500 {
		local = srv4500
	}
	hc.sent = nil
	hc.r.Input(hc.addr, local, hc.addr.Port() != 500, b)
	if len(hc.sent) != 1 || hc.sent[0].to != hc.addr {
		hc.t.Fatalf("%d answers (%+v)", len(hc.sent), hc.sent)
	}
	m, err := Parse(hc.sent[0].b)
	if err != nil {
		hc.t.Fatal(err)
	}
	return m
}

// mainMode runs Main Mode with NAT-D payloads that say whether the client
// sees no NAT (honest: true) and returns message 4.
func (hc *handClient) mainMode(honest bool) Message {
	t, sa := hc.t, &hc.sa
	t.Helper()
	sa.prop, sa.auth = IKEProposal{EncAESCBC, 128, HashSHA1, MODP2048}, authPSK
	copy(sa.ckyI[:], fakeRand(8))
	sap := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoISAKMP,
		Transforms: []Transform{sa.prop.transform(1, time.Hour)}}}}
	sa.saib = sap.AppendBody(nil)
	ps := []Payload{sap, NewVendorID(VendorDPD)}
	if hc.natt {
		ps = append(ps, NewVendorID(VendorNATTRFC3947))
	}
	mm2 := hc.exchange((&Message{Header: Header{InitiatorCookie: sa.ckyI, Exchange: ExchangeIDProt}, Payloads: ps}).Append(nil))
	sa.ckyR = mm2.Header.ResponderCookie

	dh, err := NewDH(sa.prop.Group, nil)
	if err != nil {
		t.Fatal(err)
	}
	sa.gxi, sa.ni = dh.Public(), fakeRand(32)
	ps = []Payload{&KeyExchange{Data: sa.gxi}, &Nonce{Data: sa.ni}}
	if hc.natt {
		ps = append(ps, &NATD{Hash: natdHash(sa.prop.Hash, sa.ckyI, sa.ckyR, srvAddr, 500)},
			&NATD{Hash: natdHash(sa.prop.Hash, sa.ckyI, sa.ckyR, hc.addr.Addr(), hc.addr.Port())})
		if !honest {
			ps[len(ps)-1] = &NATD{Hash: fakeRand(20)}
		}
	}
	mm4 := hc.exchange((&Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt},
		Payloads: ps}).Append(nil))
	ke, _ := FindPayload[*KeyExchange](mm4.Payloads)
	nr, ok := FindPayload[*Nonce](mm4.Payloads)
	if ke == nil || !ok {
		t.Fatalf("main mode 4: %s", summary(mm4.Payloads))
	}
	gxy, err := dh.Shared(ke.Data)
	if err != nil {
		t.Fatal(err)
	}
	sa.gxr, sa.nr = bytes.Clone(ke.Data), bytes.Clone(nr.Data)
	sa.keys = derivePhase1(sa.prop.Hash, sa.prop.Enc, 16, testPSK, sa.ni, sa.nr, gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
	if natds := natdsOf(mm4.Payloads); len(natds) == 2 {
		ours := natdHash(sa.prop.Hash, sa.ckyI, sa.ckyR, hc.addr.Addr(), hc.addr.Port())
		if !bytes.Equal(natds[0], ours) {
			// We are behind a NAT, as far as we know: float (RFC 3947 4).
			hc.addr = netip.AddrPortFrom(hc.addr.Addr(), 4500)
		}
	}

	id := AddrID(hc.addr.Addr()).payload()
	ct, next, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, sa.keys.IV,
		AppendPayloads(nil, []Payload{id, &Hash{Data: authHash(sa, true, id.AppendBody(nil))}}))
	if err != nil {
		t.Fatal(err)
	}
	mm6 := hc.exchange((&Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
		Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}).Append(nil))
	pt, last, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, next, mm6.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if ps, _, err := ParsePayloads(mm6.Header.NextPayload, pt); err != nil || !hasPayload[*Hash](ps) {
		t.Fatalf("main mode 6: %s %v", summary(ps), err)
	}
	sa.lastBlock = last
	return mm4
}

// quickMode sends a Quick Mode 1 for L2TP in transport mode with encap
// and returns the payloads of the answer (Quick Mode 2 or an
// informational message), whose hash it checks.
func (hc *handClient) quickMode(encap uint16) []Payload {
	t, sa := hc.t, &hc.sa
	t.Helper()
	mid := binary.BigEndian.Uint32(fakeRand(4)) | 1
	prop := ESPProposal{Enc: esp.AESCBC, KeyBits: 128, Integ: esp.HMACSHA1_96}
	ni := fakeRand(32)
	ps := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoESP,
		SPI: fakeRand(4), Transforms: []Transform{prop.transform(1, encap, time.Hour)}}}},
		&Nonce{Data: ni}, IDAddr(hc.addr.Addr(), 17, L2TPPort), IDAddr(srvAddr, 17, L2TPPort)}
	if modeEncapUDP(encap) {
		ps = append(ps, &NATOA{Addr: hc.addr.Addr()}, &NATOA{Addr: srvAddr})
	}
	hash := quickHash1(sa.prop.Hash, sa.keys.SKEYIDa, mid, AppendPayloads(nil, ps))
	msg, iv, err := encryptMessage(sa, ExchangeQuickMode, mid, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid),
		append([]Payload{&Hash{Data: hash}}, ps...))
	if err != nil {
		t.Fatal(err)
	}
	m := hc.exchange(msg)
	if m.Header.Exchange == ExchangeQuickMode {
		if m.Header.MessageID != mid {
			t.Fatalf("quick mode 2 with message ID %#x, want %#x", m.Header.MessageID, mid)
		}
		out, h, rest, _, err := decryptHashed(sa, m, iv)
		if err != nil || !hmac.Equal(h, quickHash2(sa.prop.Hash, sa.keys.SKEYIDa, mid, ni, rest)) {
			t.Fatalf("quick mode 2 does not verify (%v)", err)
		}
		return out
	}
	mid = m.Header.MessageID
	out, h, rest, _, err := decryptHashed(sa, m, phase2IV(sa.prop.Hash, sa.prop.Enc, sa.lastBlock, mid))
	if err != nil || !hmac.Equal(h, infoHash(sa.prop.Hash, sa.keys.SKEYIDa, mid, rest)) {
		t.Fatalf("informational message does not verify (%v)", err)
	}
	return out
}
