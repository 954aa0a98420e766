package l2tp

// The L2TP half of `l2tpvpn probe`: does anything answer a Start-Control-
// Connection-Request (RFC 2661 6.1) on UDP 1701, and what does its reply
// say about it (Host Name, Vendor Name, Firmware Revision, the AVPs it
// sent). The probe sends one SCCRQ (Ns 0), reads the SCCRP or StopCCN, and
// answers an SCCRP with a StopCCN (6.4, Result Code 1: general request to
// clear the control connection) so the server frees the tunnel at once.

import "strconv"

// ProbeSCCRQ is the SCCRQ of a probe from our tunnel localID: the AVPs a
// LAC must send (6.1), no tunnel authentication.
func ProbeSCCRQ(localID uint16, hostName string) []byte {
	m := NewMessage(SCCRQ, 0, 0)
	m.Add(
		Uint16AVP(AVPProtocolVersion, true, protocolVersion),
		BytesAVP(AVPHostName, true, []byte(hostName)),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync|FramingAsync),
		Uint16AVP(AVPAssignedTunnelID, true, localID),
		Uint16AVP(AVPReceiveWindowSize, true, 4),
	)
	return m.Append(nil)
}

// ProbeReply is what a server answered to ProbeSCCRQ.
type ProbeReply struct {
	Type     MessageType // SCCRP or StopCCN
	PeerID   uint16      // the server's Assigned Tunnel ID, 0 if none
	Ns       uint16      // the reply's sequence number
	HostName string
	Vendor   string
	Firmware uint16
	// Challenge says the server asks us to authenticate the tunnel (5.1.1):
	// it is configured with a tunnel secret.
	Challenge bool
	Result    *Result // a StopCCN's Result Code
	// AVPs names every AVP of the reply in order ("Host Name",
	// "AVP(vendor 311, 3)" for a vendor-specific one).
	AVPs []string
}

// ParseProbeReply reads b as the answer to ProbeSCCRQ from localID: an
// SCCRP or StopCCN addressed to that tunnel. ok is false for anything else
// (a ZLB, another tunnel's message, junk).
func ParseProbeReply(b []byte, localID uint16) (r ProbeReply, ok bool) {
	m, err := ParseMessage(b, nil)
	if err != nil || m.Header.TunnelID != localID || (m.Type != SCCRP && m.Type != StopCCN) {
		return r, false
	}
	r.Type, r.Ns = m.Type, m.Header.Ns
	for _, a := range m.AVPs {
		name := a.Type.String()
		if a.Vendor != 0 {
			name = "AVP(vendor " + strconv.Itoa(int(a.Vendor)) + ", " + strconv.Itoa(int(a.Type)) + ")"
		}
		if a.Hidden {
			name += " (hidden)"
		}
		r.AVPs = append(r.AVPs, name)
		if a.Vendor != 0 || a.Hidden {
			continue
		}
		switch a.Type {
		case AVPAssignedTunnelID:
			r.PeerID, _ = a.Uint16()
		case AVPHostName:
			r.HostName = string(a.Value)
		case AVPVendorName:
			r.Vendor = string(a.Value)
		case AVPFirmwareRevision:
			r.Firmware, _ = a.Uint16()
		case AVPChallenge:
			r.Challenge = true
		case AVPResultCode:
			if res, err := ParseResult(a.Value); err == nil {
				r.Result = &res
			}
		}
	}
	return r, true
}

// ProbeStopCCN closes the tunnel an SCCRP opened: addressed to the
// server's tunnel peerID, Ns 1 (our SCCRQ was 0), Nr one past the SCCRP.
func ProbeStopCCN(localID uint16, reply ProbeReply) []byte {
	m := NewMessage(StopCCN, reply.PeerID, 0)
	m.Header.Ns, m.Header.Nr = 1, reply.Ns+1
	m.Add(Uint16AVP(AVPAssignedTunnelID, true, localID), Result{Code: 1}.AVP())
	return m.Append(nil)
}
