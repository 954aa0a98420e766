package ike

// A probe asks a host whether it speaks IKEv1, without starting a session:
// the first Main Mode message offering the default proposals (RFC 2409
// section 5). Any ISAKMP answer that carries its initiator cookie (Main
// Mode message 2, or an informational such as NO-PROPOSAL-CHOSEN) says yes.
// It holds no secret and commits to nothing: the responder forgets an
// exchange that goes no further.

// ProbeRequest is the probe with the initiator cookie ckyI.
func ProbeRequest(ckyI [8]byte) []byte {
	p := &Proposal{Number: 1, Protocol: ProtoISAKMP}
	for i, ip := range DefaultIKEProposals() {
		p.Transforms = append(p.Transforms, ip.transform(uint8(i+1), DefaultIKELifetime))
	}
	sa := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{*p}}
	// The vendor IDs of a real first message: some servers (SoftEther)
	// answer only a Main Mode that offers NAT-T.
	payloads := []Payload{sa}
	for _, v := range natVendors {
		payloads = append(payloads, NewVendorID(v))
	}
	payloads = append(payloads, NewVendorID(VendorDPD))
	m := Message{Header: Header{InitiatorCookie: ckyI, Exchange: ExchangeIDProt}, Payloads: payloads}
	return m.Append(nil)
}

// IsProbeAnswer says whether b, a datagram from the probed host's port 500,
// is an ISAKMP message answering the probe with cookie ckyI.
func IsProbeAnswer(b []byte, ckyI [8]byte) bool {
	h, err := ParseHeader(b)
	return err == nil && h.InitiatorCookie == ckyI
}
