package ike

// Perfect forward secrecy in Quick Mode (RFC 2409 5.5): a Quick Mode with a
// KE payload mixes a fresh Diffie-Hellman secret into the child SA's keys.
// One Quick Mode carries one KE, so every proposal of an offer has the same
// group (or none). With Config.PFSAuto the first child SA is offered without
// PFS (what Windows and Meraki do); if the server refuses that offer, the
// groups of our IKE proposals are tried in turn. The group that worked is
// kept for the session's rekeys.

import (
	"fmt"
	"slices"
)

// pfsCandidates is what PFSAuto tries after no PFS: the groups of the IKE
// proposals, in order, once each.
func pfsCandidates(ike []IKEProposal) []Group {
	var gs []Group
	for _, p := range ike {
		if p.Group.Supported() && !slices.Contains(gs, p.Group) {
			gs = append(gs, p.Group)
		}
	}
	return gs
}

// pfsGroup is the PFS group of the current offer (0: none).
func (s *Session) pfsGroup() Group { return s.pfs }

// espOffer is the ESP proposals as offered now: the configured ones with the
// current PFS group.
func (s *Session) espOffer() []ESPProposal {
	if !s.cfg.PFSAuto {
		return s.cfg.ESP
	}
	out := slices.Clone(s.cfg.ESP)
	for i := range out {
		out[i].Group = s.pfs
	}
	return out
}

// nextPFS moves PFSAuto's first child SA to the next group after the offer
// was refused (why), reporting whether there is one left to try.
func (s *Session) nextPFS(why string) bool {
	if !s.cfg.PFSAuto || len(s.children) > 0 || s.everChild || len(s.pfsNext) == 0 {
		return false
	}
	prev := "no PFS"
	if s.pfs != 0 {
		prev = "PFS " + s.pfs.String()
	}
	s.pfs, s.pfsNext = s.pfsNext[0], s.pfsNext[1:]
	s.log.Info(fmt.Sprintf("ike: the server refused Quick Mode with %s (%s); trying PFS %s", prev, why, s.pfs))
	return true
}

// pfsHint is added to the failure of a first Quick Mode the server refused:
// a server that requires PFS answers an offer without it this way.
func (s *Session) pfsHint() string {
	switch {
	case s.cfg.PFSAuto:
		return " (tried without PFS and with every group of the IKE proposals)"
	case s.pfs == 0:
		return "; if the server requires PFS, try pfs = auto or pfs = GROUP (e.g. modp2048)"
	}
	return "; if the server does not use PFS, try pfs = none"
}

// abandonQuickModes stops our Quick Modes in progress on sa: the server
// refused them, and a new offer follows.
func (s *Session) abandonQuickModes(sa *ikeSA) {
	for _, q := range sa.qms {
		if q.initiator && !q.done {
			q.out, q.done = nil, true
		}
	}
}
