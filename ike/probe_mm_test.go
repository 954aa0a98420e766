package ike

import (
	"context"
	"encoding/hex"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// probeLab wires a Phase1Probe to our own Responder through the wire bytes.
type probeLab struct {
	r     *Responder
	p     *Phase1Probe
	mu    sync.Mutex
	times []time.Time // when each message left the probe
	msgs  [][]byte
}

var probeClient = netip.MustParseAddrPort("192.0.2.10:40500")

func newProbeLab(t *testing.T, accept []IKEProposal, silent bool) *probeLab {
	t.Helper()
	l := &probeLab{p: &Phase1Probe{}}
	r, err := NewResponder(ResponderConfig{PSK: secret.New(testPSK), IKE: accept,
		Send: func(to netip.AddrPort, natt bool, b []byte) error {
			if to != probeClient || natt {
				t.Errorf("responder sent to %v natt=%v", to, natt)
			}
			if !silent {
				l.p.Input(b)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	l.r = r
	l.p.Send = func(b []byte) error {
		l.mu.Lock()
		l.times = append(l.times, time.Now())
		l.msgs = append(l.msgs, append([]byte(nil), b...))
		l.mu.Unlock()
		r.Input(probeClient, srv500, false, b)
		return nil
	}
	return l
}

func accepted(res []Phase1Result) []IKEProposal {
	var out []IKEProposal
	for _, r := range res {
		if r.Outcome == Phase1Accepted {
			out = append(out, r.Proposal)
		}
	}
	return out
}

// checkRate fails if any window of one second holds more than rate
// messages.
func (l *probeLab) checkRate(t *testing.T, rate int) {
	t.Helper()
	if n := maxPerSecond(l.times); n > rate {
		t.Fatalf("%d messages within one second (limit %d)", n, rate)
	}
}

// The sweep finds exactly the responder's list, every other proposal is
// refused by NO-PROPOSAL-CHOSEN, the rate limit holds, and no message
// goes beyond Main Mode 1.
func TestPhase1ProbeMatchesResponder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		accept, err := ParseIKEProposals("aes128-sha256-ecp256,aes256-sha256-modp2048,3des-md5-modp1024,aes192-sha512-modp4096")
		if err != nil {
			t.Fatal(err)
		}
		l := newProbeLab(t, accept, false)
		start := time.Now()
		res, err := l.p.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all := ProbeIKEProposals()
		if len(res) != len(all) || len(all) != 4*5*7 {
			t.Fatalf("%d results for %d proposals, want 140", len(res), len(all))
		}
		got := accepted(res)
		want := slices.Clone(accept)
		sortIKE(got)
		sortIKE(want)
		if !slices.Equal(got, want) {
			t.Errorf("accepted %s, want %s", FormatIKEProposals(got), FormatIKEProposals(want))
		}
		for _, r := range res {
			switch r.Outcome {
			case Phase1Accepted:
				if r.Chosen != r.Proposal {
					t.Errorf("%s: chosen %s", r.Proposal, r.Chosen)
				}
				if NATTSupport(r.Vendors) != "RFC 3947" {
					t.Errorf("%s: NAT-T %q from %x", r.Proposal, NATTSupport(r.Vendors), r.Vendors)
				}
			case Phase1Refused:
				if r.Notify != NotifyNoProposalChosen {
					t.Errorf("%s: refused by %s", r.Proposal, r.Notify)
				}
			default:
				t.Errorf("%s: no answer from our responder", r.Proposal)
			}
		}
		if l.p.Sent() != len(all) || len(l.msgs) != len(all) {
			t.Errorf("sent %d/%d messages for %d proposals", l.p.Sent(), len(l.msgs), len(all))
		}
		l.checkRate(t, DefaultProbeRate)
		if d := time.Since(start); d < time.Duration(len(all)-1)*time.Second/DefaultProbeRate {
			t.Errorf("the sweep took %v, faster than the rate allows", d)
		}
		for i, b := range l.msgs {
			m, err := Parse(b)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			sap, _ := FindPayload[*SA](m.Payloads)
			if m.Header.Exchange != ExchangeIDProt || m.Header.ResponderCookie != ([8]byte{}) ||
				sap == nil || len(sap.Proposals) != 1 || len(sap.Proposals[0].Transforms) != 1 {
				t.Fatalf("message %d is not a one-transform Main Mode 1: %s", i, m.String())
			}
			if _, ok := FindPayload[*KeyExchange](m.Payloads); ok {
				t.Fatalf("message %d carries a key exchange (Main Mode 3)", i)
			}
		}
		if st := l.r.Stats(); st.NoProposal != uint64(len(all)-len(accept)) {
			t.Errorf("responder refused %d, want %d", st.NoProposal, len(all)-len(accept))
		}
	})
}

func sortIKE(ps []IKEProposal) {
	slices.SortFunc(ps, func(a, b IKEProposal) int {
		if a.String() < b.String() {
			return -1
		}
		if a.String() > b.String() {
			return 1
		}
		return 0
	})
}

// A server that never answers: every proposal times out, the concurrency
// limit bounds the duration from below, and Hello says nothing answers.
func TestPhase1ProbeSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newProbeLab(t, nil, true)
		l.p.Proposals = DefaultIKEProposals()
		l.p.Timeout = time.Second
		if _, ok, err := l.p.Hello(context.Background(), 2); ok || err != nil {
			t.Fatalf("hello: answered=%v err=%v", ok, err)
		}
		if l.p.Sent() != 2 {
			t.Errorf("hello sent %d messages, want 2", l.p.Sent())
		}
		start := time.Now()
		res, err := l.p.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != Phase1NoAnswer {
				t.Errorf("%s: %s", r.Proposal, r.Outcome)
			}
		}
		// 10 proposals, 2 at a time, 1 s each: at least 5 s.
		if d := time.Since(start); d < 5*time.Second {
			t.Errorf("took %v: more than 2 outstanding at once?", d)
		}
		l.checkRate(t, DefaultProbeRate)
	})
}

// Hello against an answering server returns its Main Mode 2.
func TestPhase1ProbeHello(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newProbeLab(t, nil, false)
		b, ok, err := l.p.Hello(context.Background(), 2)
		if !ok || err != nil {
			t.Fatalf("hello: answered=%v err=%v", ok, err)
		}
		var r Phase1Result
		readPhase1Answer(b, &r)
		if r.Outcome != Phase1Accepted || r.Chosen != DefaultIKEProposals()[0] {
			t.Errorf("hello answer: %s %s", r.Outcome, r.Chosen)
		}
		if l.p.Sent() != 1 {
			t.Errorf("hello sent %d messages after an answer", l.p.Sent())
		}
	})
}

// A cancelled context ends the sweep with what it has.
func TestPhase1ProbeCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newProbeLab(t, nil, true)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		res, err := l.p.Run(ctx)
		if err == nil {
			t.Fatal("no error from a cancelled sweep")
		}
		if len(res) != len(ProbeIKEProposals()) {
			t.Errorf("%d results", len(res))
		}
		if l.p.Sent() > 3*DefaultProbeRate {
			t.Errorf("%d messages in 3 s", l.p.Sent())
		}
	})
}

func TestDescribeVendorID(t *testing.T) {
	for _, c := range []struct{ hex, name, family string }{
		{"882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan", FamilyStrongSwan},
		{"12f5f28c457168a9702d9fe274cc0100", "Cisco Unity", FamilyCisco},
		{"1e2b516905991c7d7c96fcbfb587e46100000009", "MS NT5 ISAKMPOAKLEY", FamilyWindows},
		{hex.EncodeToString([]byte("OE-Libreswan-5.0")), "OE-Libreswan-5.0", FamilyLibreswan},
		{"1d6e178f6c2c0be284985465450fe9d4", "FortiGate", FamilyFortiGate},
		{"404bf439522ca3f6", "SonicWall", FamilySonicWall},
		{"4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T", ""},
		{"0102030405", "0102030405", ""},
	} {
		b, _ := hex.DecodeString(c.hex)
		name, fam := DescribeVendorID(b)
		if name != c.name || fam != c.family {
			t.Errorf("%s: %q %q, want %q %q", c.hex, name, fam, c.name, c.family)
		}
	}
	var se [][]byte
	for _, v := range softEtherVendors {
		se = append(se, v.ID())
	}
	if f, hint := VendorFamily(se); f != FamilySoftEther || !hint {
		t.Errorf("SoftEther's set: %q hint=%v", f, hint)
	}
	if f, _ := VendorFamily(se[:3]); f != "" {
		t.Errorf("part of SoftEther's set: %q", f)
	}
	if f, hint := VendorFamily([][]byte{VendorDPD.ID(), Vendor(0).ID(), []byte("\x88\x2f\xe5\x6d\x6f\xd2\x0d\xbc\x22\x51\x61\x3b\x2e\xbe\x5b\xeb")}); f != FamilyStrongSwan || hint {
		t.Errorf("strongSwan: %q hint=%v", f, hint)
	}
	if s := NATTSupport([][]byte{VendorNATTDraft02.ID(), VendorNATTDraft03.ID()}); s != VendorNATTDraft03.String() {
		t.Errorf("NAT-T %q", s)
	}
}
