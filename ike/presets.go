package ike

// Proposal presets: the IKE and ESP offers of well-known clients, for the
// profile key proposals. A server set up for those clients accepts their
// offer, so copying it is the safest narrow choice. The default offer (no
// preset) is the union of "windows" and "macos".

import (
	"fmt"
	"sort"
	"strings"
)

// ProposalPreset is a named pair of offers and where it comes from.
type ProposalPreset struct {
	Name   string
	IKE    string // strongSwan-style lists, as ParseIKEProposals reads them
	ESP    string
	About  string
	Source string
}

var proposalPresets = map[string]ProposalPreset{
	"windows": {
		Name: "windows",
		IKE:  "aes256-sha1-modp2048,aes128-sha1-modp2048,3des-sha1-modp2048,aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024",
		ESP:  "aes256-sha1,aes128-sha1,3des-sha1",
		About: "what the built-in Windows 10/11 L2TP/IPsec client offers: AES or 3DES with SHA-1, DH group 14 or 2, " +
			"ESP without PFS, transport mode",
		Source: "Microsoft KB 325158 (3DES, SHA-1, DH group 2, transport, ESP, no PFS) and the AES/group 14 transforms Windows 10 adds, " +
			"as server guides for Windows clients list them (hwdsl2/setup-ipsec-vpn, strongSwan wiki 'Windows clients')",
	},
	"macos": {
		Name: "macos",
		IKE: "aes256-sha256-modp2048,aes128-sha256-modp2048,aes256-sha1-modp2048,aes128-sha1-modp2048," +
			"aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024",
		ESP:    "aes256-sha256,aes128-sha256,aes256-sha1,aes128-sha1,3des-sha1",
		About:  "what the macOS and iOS L2TP client offers: AES with SHA-2 or SHA-1, DH group 14 or 2, ESP without PFS",
		Source: "Apple's VPN server compatibility notes for L2TP over IPsec (Apple Platform Deployment) and the macOS offer recorded by the same server guides",
	},
	"legacy": {
		Name:   "legacy",
		IKE:    "3des-sha1-modp1024,3des-md5-modp1024,aes128-sha1-modp1024,aes128-md5-modp1024",
		ESP:    "3des-sha1,3des-md5,aes128-sha1,aes128-md5",
		About:  "old appliances and Windows XP-era servers: 3DES or AES-128 with SHA-1 or MD5, DH group 2 only",
		Source: "RFC 2409 and KB 325158's baseline (3DES, SHA-1, group 2); MD5 variants as older Cisco and Netgear defaults ship them",
	},
	"modern": {
		Name:   "modern",
		IKE:    "aes256-sha256-ecp384,aes128-sha256-ecp256,aes256-sha256-modp3072,aes256-sha256-modp2048",
		ESP:    "aes256gcm16,aes128gcm16,aes256-sha256,aes128-sha256",
		About:  "strong choices only: AES with SHA-256, elliptic-curve or 2048+ bit MODP groups, AES-GCM in ESP",
		Source: "RFC 8247 (algorithm requirements for IKE) and RFC 8221 (for ESP), applied to IKEv1's transforms",
	},
}

// LookupProposalPreset returns the preset of that name.
func LookupProposalPreset(name string) (ProposalPreset, error) {
	p, ok := proposalPresets[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return ProposalPreset{}, fmt.Errorf("%w: unknown proposals preset %q (known: %s)", ErrProposalSyntax, name, strings.Join(ProposalPresetNames(), ", "))
	}
	return p, nil
}

// ProposalPresetNames lists the presets, sorted.
func ProposalPresetNames() []string {
	var names []string
	for n := range proposalPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Proposals parses the preset's offers.
func (p ProposalPreset) Proposals() ([]IKEProposal, []ESPProposal, error) {
	ike, err := ParseIKEProposals(p.IKE)
	if err != nil {
		return nil, nil, err
	}
	esp, err := ParseESPProposals(p.ESP)
	if err != nil {
		return nil, nil, err
	}
	return ike, esp, nil
}
