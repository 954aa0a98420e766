package ike

import (
	"errors"
	"testing"
)

// Every preset parses, and the default offer is the union of windows and
// macos (as DefaultIKEProposals promises).
func TestProposalPresets(t *testing.T) {
	for _, n := range ProposalPresetNames() {
		p, err := LookupProposalPreset(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.Proposals(); err != nil {
			t.Errorf("preset %s: %v", n, err)
		}
		if p.Source == "" || p.About == "" {
			t.Errorf("preset %s has no source or description", n)
		}
	}
	def := DefaultIKEProposals()
	for _, n := range []string{"windows", "macos"} {
		p, _ := LookupProposalPreset(n)
		ike, _, _ := p.Proposals()
		for _, q := range ike {
			if !containsIKE(def, q) {
				t.Errorf("preset %s offers %s, which the default offer lacks", n, q)
			}
		}
	}
	if _, err := LookupProposalPreset("vista"); !errors.Is(err, ErrProposalSyntax) {
		t.Errorf("unknown preset: err %v", err)
	}
}
