package ike

// More of the fake server of responder_test.go: Main Mode as the initiator
// (a server that rekeys phase 1 itself, as charon reauthenticates IKEv1
// SAs), the CONNECTED notification of the commit bit, RESPONDER-LIFETIME
// notifications, and a log recorder for the lifecycle tests.

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// lifetimeNotify is a RESPONDER-LIFETIME notification (RFC 2407 4.6.3.1)
// for the SA named by proto and spi.
func lifetimeNotify(proto ProtocolID, spi []byte, typ, dur AttributeType, life time.Duration) *Notify {
	return &Notify{DOI: DOIIPsec, Protocol: proto, MessageType: NotifyResponderLifetime, SPI: bytes.Clone(spi),
		Data: appendAttributes(nil, lifeAttributes(nil, typ, dur, life))}
}

// sendConnected sends CONNECTED for the newest Quick Mode the session
// started: as a fourth Quick Mode message (HASH(4), N), or in an
// informational message.
func (r *fakeResponder) sendConnected(informational bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sa := r.order[len(r.order)-1]
	var last *fakeQM
	for _, q := range r.children {
		if !q.fakeInit && sa.qms[q.mid] == q {
			last = q
		}
	}
	if last == nil {
		r.t.Errorf("fake: no quick mode of the session's to confirm")
		return
	}
	r.sendConnectedLocked(sa, last, informational)
}

func (r *fakeResponder) sendConnectedLocked(sa *fakeIKE, q *fakeQM, informational bool) {
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], q.spiR)
	n := &Notify{DOI: DOIIPsec, Protocol: ProtoESP, MessageType: NotifyConnected, SPI: spi[:]}
	if informational {
		r.sendInfo(sa, n)
		return
	}
	h, ka := sa.prop.Hash, sa.keys.SKEYIDa
	msg, _ := r.encrypt(sa, ExchangeQuickMode, q.mid, q.iv, func(rest []byte) []byte { return quickHash1(h, ka, q.mid, rest) },
		[]Payload{n})
	r.reply(msg, true)
}

// startMainMode makes the fake start a Main Mode as the initiator, on port
// 4500, with its first accepted IKE proposal. The SA is established once
// the session has answered its three messages.
func (r *fakeResponder) startMainMode() *fakeIKE {
	r.mu.Lock()
	defer r.mu.Unlock()
	sa := &fakeIKE{fakeInit: true, istate: 1, prop: r.cfg.AcceptIKE[0], auth: r.fakeAuth(), qms: map[uint32]*fakeQM{}}
	copy(sa.ckyI[:], fakeRand(8))
	sap := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoISAKMP,
		Transforms: []Transform{sa.prop.transformAuth(1, 8*time.Hour, sa.auth)}}}}
	sa.saib = sap.AppendBody(nil)
	payloads := []Payload{sap, NewVendorID(VendorNATTRFC3947)}
	if r.cfg.DPD {
		payloads = append(payloads, NewVendorID(VendorDPD))
	}
	r.sas[sa.ckyI] = sa
	r.order = append(r.order, sa)
	m := Message{Header: Header{InitiatorCookie: sa.ckyI, Exchange: ExchangeIDProt}, Payloads: payloads}
	r.reply(m.Append(nil), true)
	return sa
}

// initiatorMainMode takes the session's answers to the fake's Main Mode.
func (r *fakeResponder) initiatorMainMode(sa *fakeIKE, m Message, natt bool) {
	enc := m.Header.Flags&FlagEncryption != 0
	h := sa.prop.Hash
	switch {
	case sa.istate == 1 && !enc && hasPayload[*SA](m.Payloads): // MM2
		sap, _ := FindPayload[*SA](m.Payloads)
		if len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
			r.t.Errorf("fake: MM2 chose %d proposals", len(sap.Proposals))
			return
		}
		if p, _, am, err := phase1FromTransform(sap.Proposals[0].Transforms[0]); err != nil || p != sa.prop || am != sa.auth {
			r.t.Errorf("fake: MM2 chose %v (%v), offered %v", p, err, sa.prop)
			return
		}
		sa.ckyR = m.Header.ResponderCookie
		dh, err := NewDH(sa.prop.Group, nil)
		if err != nil {
			r.t.Errorf("fake: %v", err)
			return
		}
		sa.dh, sa.gxi, sa.ni = dh, dh.Public(), fakeRand(32)
		payloads := append([]Payload{&KeyExchange{Data: sa.gxi}, &Nonce{Data: sa.ni}}, r.certRequests()...)
		payloads = append(payloads, &NATD{Hash: testNATD(h, sa.ckyI, sa.ckyR, r.local, 4500)}, &NATD{Hash: testNATD(h, sa.ckyI, sa.ckyR, r.remote, 4500)})
		sa.istate = 3
		r.reply((&Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt},
			Payloads: payloads}).Append(nil), true)
	case sa.istate == 3 && !enc && hasPayload[*KeyExchange](m.Payloads): // MM4
		ke, _ := FindPayload[*KeyExchange](m.Payloads)
		nonce, ok := FindPayload[*Nonce](m.Payloads)
		if !ok {
			r.t.Errorf("fake: MM4 without a nonce")
			return
		}
		for _, p := range m.Payloads {
			if n, ok := p.(*NATD); ok {
				sa.natd = append(sa.natd, &NATD{Draft: n.Draft, Hash: bytes.Clone(n.Hash)})
			}
		}
		gxy, err := sa.dh.Shared(ke.Data)
		if err != nil {
			r.t.Errorf("fake: MM4 KE: %v", err)
			return
		}
		sa.gxr, sa.nr = bytes.Clone(ke.Data), bytes.Clone(nonce.Data)
		sa.crs = r.noteCRs(m.Payloads)
		sa.keys = r.phase1Keys(sa, gxy)
		ct, next, err := encryptCBC(sa.prop.Enc, sa.keys.Ka, sa.keys.IV, AppendPayloads(nil, r.ownAuth(sa, r.ownID(), true)))
		if err != nil {
			r.t.Errorf("fake: MM5: %v", err)
			return
		}
		sa.iv, sa.istate = next, 5
		r.reply((&Message{Header: Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: ExchangeIDProt,
			Flags: FlagEncryption, NextPayload: PayloadID}, Ciphertext: ct}).Append(nil), true)
	case sa.istate == 5 && enc: // MM6
		pt, last, err := decryptCBC(sa.prop.Enc, sa.keys.Ka, sa.iv, m.Ciphertext)
		if err != nil {
			r.t.Errorf("fake: MM6: %v", err)
			return
		}
		ps, _, err := ParsePayloads(m.Header.NextPayload, pt)
		if err != nil {
			r.t.Errorf("fake: MM6 %s: %v", summary(ps), err)
			return
		}
		id, ok := r.verifyAuth(sa, ps, false)
		if !ok {
			r.t.Errorf("fake: MM6 %s does not verify", summary(ps))
			return
		}
		if a, ok := id.Addr(); r.cfg.Cert == nil && (!ok || a != r.local) {
			r.t.Errorf("fake: MM6 identity %v, want %v", id, r.local)
		}
		sa.lastBlock, sa.established, sa.istate = last, true, 6
	default:
		if !natt || sa.istate != 6 {
			r.t.Errorf("fake: unexpected answer to its main mode (state %d): %s", sa.istate, summary(m.Payloads))
		}
	}
}

// logRecorder is a slog.Handler that keeps the records, for tests that
// check what a session logs.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// count returns how many records of level lv contain msg.
func (l *logRecorder) count(lv slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == lv && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}
