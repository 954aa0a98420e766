package main

// The IKE settings beyond proposals and lifetimes (issue 11): proposal
// presets, PFS, the SHA2 truncation mode, Aggressive Mode, identities, IKE
// fragmentation and certificates.

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// ikeOpts are connectOpts' IKE extras.
type ikeOpts struct {
	proposals         string
	pfs               string
	sha2Truncbug      bool
	ikeMode           string
	localID, remoteID string
	fragmentation     string
	fragmentSize      int
}

// ikeOptNames are the keys ikeFlags defines, in the order help shows them.
var ikeOptNames = []string{"proposals", "pfs", "sha2-truncbug", "ike-mode", "local-id", "remote-id", "ike-fragmentation", "ike-fragment-size"}

func ikeFlags(fs *pflag.FlagSet, o *ikeOpts) {
	fs.StringVar(&o.proposals, "proposals", "", "proposal preset: windows, macos, legacy or modern (l2tpvpn presets); ike and esp, if given, win over it (default: the union of windows and macos)")
	fs.StringVar(&o.pfs, "pfs", "", "PFS in Quick Mode: none (as Windows), auto (none, then the IKE groups if the server refuses) or a group such as modp2048 (default: the esp proposals' own group, none unless given)")
	fs.BoolVar(&o.sha2Truncbug, "sha2-truncbug", false, "use HMAC-SHA2-256 in ESP with 96-bit instead of 128-bit ICVs, for servers in that old mode")
	fs.StringVar(&o.ikeMode, "ike-mode", "main", "phase 1 exchange: main, or aggressive (PSK only; some gateways need it with a group name as local-id; it exposes a hash of the PSK to offline guessing)")
	fs.StringVar(&o.localID, "local-id", "", "our IKE identity: ip:ADDR, fqdn:NAME, user-fqdn:USER@DOMAIN, key-id:TEXT or dn:DN (default: our address; the certificate's DN with cert)")
	fs.StringVar(&o.remoteID, "remote-id", "", "the identity the server must prove, same forms as local-id (default: any, logged)")
	fs.StringVar(&o.fragmentation, "ike-fragmentation", "auto", "IKE fragmentation of our messages: auto (when the server announces it), force or off; received fragments are always reassembled")
	fs.IntVar(&o.fragmentSize, "ike-fragment-size", ike.DefaultFragmentSize, "largest IP datagram of one IKE fragment, in bytes (576 as Windows; strongSwan's fragment_size)")
}

// ikeExtraConfig fills cfg's IKE extras; cfg.IKEProposals and
// cfg.ESPProposals are already set from ike and esp.
func (o *connectOpts) ikeExtraConfig(cfg *vpn.Config) error {
	x := &o.ikeX
	if x.proposals != "" {
		p, err := ike.LookupProposalPreset(x.proposals)
		if err != nil {
			return o.keyErr("proposals", err)
		}
		ikeP, espP, err := p.Proposals()
		if err != nil {
			return o.keyErr("proposals", err)
		}
		if !o.set("ike") {
			cfg.IKEProposals = ikeP
		}
		if !o.set("esp") {
			cfg.ESPProposals = espP
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(x.pfs)); p {
	case "":
	case "none", "no", "off":
		cfg.ESPProposals = withGroup(cfg.ESPProposals, 0)
	case "auto":
		cfg.ESPProposals = withGroup(cfg.ESPProposals, 0)
		cfg.PFSAuto = true
	default:
		g, err := ike.ParseGroup(p)
		if err != nil {
			return o.keyErrf("pfs", "%q is not none, auto or a Diffie-Hellman group such as modp2048 or ecp256", x.pfs)
		}
		cfg.ESPProposals = withGroup(cfg.ESPProposals, g)
	}
	cfg.SHA2Truncbug = x.sha2Truncbug
	switch x.ikeMode {
	case "main":
	case "aggressive":
		cfg.Aggressive = true
	default:
		return o.keyErrf("ike-mode", "%q is not main or aggressive", x.ikeMode)
	}
	for _, id := range []struct {
		key string
		val string
		dst *ike.ID
	}{{"local-id", x.localID, &cfg.LocalID}, {"remote-id", x.remoteID, &cfg.RemoteID}} {
		if id.val == "" {
			continue
		}
		v, err := ike.ParseID(id.val)
		if err != nil {
			return o.keyErr(id.key, err)
		}
		*id.dst = v
	}
	switch x.fragmentation {
	case "auto":
		cfg.IKEFragmentation = ike.FragmentAuto
	case "force":
		cfg.IKEFragmentation = ike.FragmentForce
	case "off":
		cfg.IKEFragmentation = ike.FragmentOff
	default:
		return o.keyErrf("ike-fragmentation", "%q is not auto, force or off", x.fragmentation)
	}
	if x.fragmentSize < 68 || x.fragmentSize > 65000 {
		return o.keyErrf("ike-fragment-size", "%d is outside 68..65000", x.fragmentSize)
	}
	cfg.IKEFragmentSize = x.fragmentSize
	if cfg.Strongswan {
		for _, k := range ikeOptNames {
			if o.set(k) && k != "proposals" {
				return o.keyErrf(k, "needs the built-in IPsec (ipsec = on): charon is configured by its own swanctl settings")
			}
		}
	}
	return nil
}

// set reports whether the key was given, on the command line or in the
// profile.
func (o *connectOpts) set(key string) bool {
	return o.fs.Changed(key) || o.profile.Has(key)
}

func withGroup(ps []ike.ESPProposal, g ike.Group) []ike.ESPProposal {
	out := make([]ike.ESPProposal, len(ps))
	for i, p := range ps {
		p.Group = g
		out[i] = p
	}
	return out
}

// ikeExtraSettings are the dry run's lines for the extras.
func ikeExtraSettings(cfg vpn.Config, add func(string, any)) {
	pfs := "none"
	switch {
	case cfg.PFSAuto:
		pfs = "auto (none first, then the IKE groups)"
	case len(cfg.ESPProposals) > 0 && cfg.ESPProposals[0].Group != 0:
		pfs = cfg.ESPProposals[0].Group.String()
	}
	add("pfs", pfs)
	add("sha2-truncbug", cfg.SHA2Truncbug)
	mode := "main"
	if cfg.Aggressive {
		mode = "aggressive (exposes a hash of the PSK to offline guessing)"
	}
	add("ike-mode", mode)
	def := "our address"
	if cfg.Cert != nil {
		def = "the certificate's subject DN"
	}
	add("local-id", orDefault(cfg.LocalID.String(), def))
	add("remote-id", orDefault(cfg.RemoteID.String(), "any (logged)"))
	add("ike-fragmentation", fmt.Sprintf("%s, %d bytes", [...]string{"auto", "force", "off"}[cfg.IKEFragmentation], cfg.IKEFragmentSize))
}
