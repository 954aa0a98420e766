package ike

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// aggressive answers the session's Aggressive Mode messages (the fake's
// responder side of RFC 2409 5.4 with a pre-shared key).
func (r *fakeResponder) aggressive(sa *fakeIKE, m Message, raw []byte, natt bool) {
	switch {
	case sa == nil:
		r.aggressive1(m, raw, natt)
	case !sa.established:
		r.aggressive3(sa, m, natt)
	}
}

func (r *fakeResponder) aggressive1(m Message, raw []byte, natt bool) {
	sap, ok1 := FindPayload[*SA](m.Payloads)
	ke, ok2 := FindPayload[*KeyExchange](m.Payloads)
	nonce, ok3 := FindPayload[*Nonce](m.Payloads)
	id, ok4 := FindPayload[*Identification](m.Payloads)
	if !ok1 || !ok2 || !ok3 || !ok4 || len(sap.Proposals) != 1 {
		r.t.Errorf("fake: AM1 lacks SA, KE, nonce or ID: %s", summary(m.Payloads))
		return
	}
	var ckyR [8]byte
	copy(ckyR[:], fakeRand(8))
	if !r.cfg.AggressiveID.IsZero() && !r.cfg.AggressiveID.Equal(IDOf(id)) {
		r.answer(raw, plainInfo(m.Header.InitiatorCookie, ckyR, ProtoISAKMP, NotifyAuthenticationFailed), natt)
		return
	}
	var chosen *Transform
	var prop IKEProposal
	for _, t := range sap.Proposals[0].Transforms {
		p, _, err := ikeProposalFromTransform(t)
		if err == nil && containsIKE(r.cfg.AcceptIKE, p) {
			t := t
			chosen, prop = &t, p
			break
		}
	}
	if chosen == nil {
		r.answer(raw, plainInfo(m.Header.InitiatorCookie, ckyR, ProtoISAKMP, NotifyNoProposalChosen), natt)
		return
	}
	sa := &fakeIKE{ckyI: m.Header.InitiatorCookie, ckyR: ckyR, prop: prop, saib: bytes.Clone(sap.Raw),
		qms: map[uint32]*fakeQM{}, offered: sap.Proposals[0].Transforms, mm1Natt: natt,
		gxi: bytes.Clone(ke.Data), ni: bytes.Clone(nonce.Data)}
	r.sas[sa.ckyI] = sa
	r.order = append(r.order, sa)
	dh, err := NewDH(prop.Group, nil)
	if err != nil {
		r.t.Errorf("fake: %v", err)
		return
	}
	sa.gxr, sa.nr = dh.Public(), fakeRand(24)
	gxy, err := dh.Shared(sa.gxi)
	if err != nil {
		r.t.Errorf("fake: AM1 KE: %v", err)
		return
	}
	keyLen, _ := prop.Enc.KeyLen(prop.KeyBits)
	sa.keys = derivePhase1(prop.Hash, prop.Enc, keyLen, r.cfg.PSK, sa.ni, sa.nr, gxy, sa.ckyI[:], sa.ckyR[:], sa.gxi, sa.gxr)
	sa.iv = sa.keys.IV
	sa.idi = id.AppendBody(nil)
	idr := IDAddr(r.remote, 17, 500)
	hr := hashR(prop.Hash, sa.keys.SKEYID, sa.gxr, sa.gxi, sa.ckyR[:], sa.ckyI[:], sa.saib, idr.AppendBody(nil))
	payloads := []Payload{&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{
		Number: sap.Proposals[0].Number, Protocol: ProtoISAKMP, Transforms: []Transform{*chosen}}}},
		&KeyExchange{Data: sa.gxr}, &Nonce{Data: sa.nr}, idr, &Hash{Data: hr},
		&NATD{Hash: testNATD(prop.Hash, sa.ckyI, sa.ckyR, r.local, 500)},
		&NATD{Hash: testNATD(prop.Hash, sa.ckyI, sa.ckyR, r.remote, 500)},
		NewVendorID(VendorNATTRFC3947)}
	reply := Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: ckyR, Exchange: ExchangeAggressive}, Payloads: payloads}
	r.answer(raw, reply.Append(nil), natt)
}

func (r *fakeResponder) aggressive3(sa *fakeIKE, m Message, natt bool) {
	if r.cfg.DropAM3 > 0 {
		r.cfg.DropAM3--
		// Lost: the responder repeats its AM2, as a real one does.
		for k, v := range r.replies {
			if mm, err := Parse([]byte(k)); err == nil && mm.Header.InitiatorCookie == sa.ckyI {
				r.reply(v, false)
			}
		}
		return
	}
	sa.mm5Natt = natt
	hp, ok := FindPayload[*Hash](m.Payloads)
	if !ok || m.Header.Flags&FlagEncryption != 0 {
		r.t.Errorf("fake: AM3 without HASH_I or encrypted: %s", summary(m.Payloads))
		return
	}
	want := hashI(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ckyI[:], sa.ckyR[:], sa.saib, sa.idi)
	if !hmac.Equal(want, hp.Data) {
		r.badMM5++
		return
	}
	for _, p := range m.Payloads {
		if n, isN := p.(*NATD); isN {
			sa.natd = append(sa.natd, &NATD{Draft: n.Draft, Hash: bytes.Clone(n.Hash)})
		}
	}
	sa.lastBlock, sa.established = sa.keys.IV, true
}

// Aggressive Mode with a group-name ID: the session authenticates, moves to
// port 4500 for AM3, and gets a child SA over the phase 1 IV.
func TestAggressiveMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		group, _ := ParseID("key-id:GroupVPN")
		h := newHarness(t, Config{IKE: mustIKE(t, "aes256-sha256-modp2048,aes128-sha1-modp2048,3des-sha1-modp1024"),
			ESP: mustESP(t, "aes128-sha1"), Aggressive: true, LocalID: group},
			respConfig{AcceptIKE: mustIKE(t, "aes128-sha1-modp2048"), AcceptESP: mustESP(t, "aes128-sha1"), AggressiveID: group, DropAM3: 1})
		ev := h.event(ChildUp, time.Minute)
		if ev.Child == nil {
			t.Fatal("no child SA")
		}
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		sa := h.r.order[0]
		if !sa.mm5Natt {
			t.Error("AM3 was not sent to port 4500")
		}
		if len(sa.natd) != 2 {
			t.Errorf("AM3 carried %d NAT-D payloads, want 2", len(sa.natd))
		}
		for _, tr := range sa.offered {
			p, _, _ := ikeProposalFromTransform(tr)
			if p.Group != MODP2048 {
				t.Errorf("AM1 offered %s: every proposal must have the first one's group", p)
			}
		}
	})
}

// The wrong group name: the server refuses, and the error names the ID.
func TestAggressiveModeWrongID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		want, _ := ParseID("key-id:GroupVPN")
		wrong, _ := ParseID("key-id:Other")
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), Aggressive: true, LocalID: wrong},
			respConfig{AcceptIKE: mustIKE(t, "aes128-sha1-modp2048"), AcceptESP: mustESP(t, "aes128-sha1"), AggressiveID: want})
		err := h.done(time.Minute)
		if err == nil || !strings.Contains(err.Error(), "key-id:Other") {
			t.Fatalf("err = %v, want a failure naming key-id:Other", err)
		}
	})
}

// A wrong PSK: HASH_R does not verify, AM2 is dropped, and the give-up
// blames the key.
func TestAggressiveModeWrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), Aggressive: true},
			respConfig{PSK: []byte("another key"), AcceptIKE: mustIKE(t, "aes128-sha1-modp2048"), AcceptESP: mustESP(t, "aes128-sha1")})
		err := h.done(time.Minute)
		if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "pre-shared key") {
			t.Fatalf("err = %v, want ErrAuthentication about the pre-shared key", err)
		}
	})
}

// Main Mode with a PSK and a name as local-id that the server does not
// answer: the give-up explains that Main Mode cannot pick the PSK by that
// ID (seen with strongSwan: two conns by ID, only the first one's PSK).
func TestMainModeIDHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		group, _ := ParseID("fqdn:groupb.example")
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), LocalID: group},
			respConfig{PSK: []byte("psk of the first group"), AcceptIKE: mustIKE(t, "aes128-sha1-modp2048"), AcceptESP: mustESP(t, "aes128-sha1")})
		err := h.done(2 * time.Minute)
		if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "use ike-mode = aggressive") {
			t.Fatalf("err = %v, want the aggressive-mode hint", err)
		}
	})
}
