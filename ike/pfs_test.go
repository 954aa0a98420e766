package ike

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A server that requires PFS (modp2048) refuses the no-PFS offer; PFSAuto
// then offers the IKE proposals' groups in turn and gets a child SA with
// the group that works, which later rekeys keep.
func TestPFSAutoFallsBackToGroups(t *testing.T) {
	for _, silent := range []bool{false, true} {
		name := "no-proposal-chosen"
		if silent {
			name = "silent"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp1024,aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), PFSAuto: true},
					respConfig{AcceptESP: mustESP(t, "aes128-sha1-modp2048"), SilentNoProposal: silent})
				ev := h.event(ChildUp, 3*time.Minute)
				if g := ev.Child.Proposal.Group; g != MODP2048 {
					t.Fatalf("child SA with group %v, want modp2048", g)
				}
				if h.s.pfsGroup() != MODP2048 {
					t.Fatalf("the session keeps PFS %v for rekeys, want modp2048", h.s.pfsGroup())
				}
			})
		})
	}
}

// Without PFSAuto, a server that requires PFS fails the first Quick Mode
// with a hint to try pfs.
func TestPFSNoneHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1")},
			respConfig{AcceptESP: mustESP(t, "aes128-sha1-modp2048")})
		err := h.done(time.Minute)
		if !errors.Is(err, ErrNoProposalChosen) || !strings.Contains(err.Error(), "pfs = auto") {
			t.Fatalf("err = %v, want ErrNoProposalChosen with a pfs hint", err)
		}
	})
}

// PFSAuto against a server without PFS: the first offer (none) is taken.
func TestPFSAutoNoneFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), PFSAuto: true},
			respConfig{AcceptESP: mustESP(t, "aes128-sha1")})
		ev := h.event(ChildUp, time.Minute)
		if g := ev.Child.Proposal.Group; g != 0 {
			t.Fatalf("child SA with group %v, want none", g)
		}
	})
}

// Every group tried and refused: the failure says so.
func TestPFSAutoExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), PFSAuto: true},
			respConfig{AcceptESP: mustESP(t, "aes256-sha1-modp2048")})
		err := h.done(time.Minute)
		if !errors.Is(err, ErrNoProposalChosen) || !strings.Contains(err.Error(), "tried without PFS") {
			t.Fatalf("err = %v, want ErrNoProposalChosen saying every PFS choice was tried", err)
		}
	})
}
