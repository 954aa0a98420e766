package l2tp

import "testing"

// The probe's SCCRQ is a valid SCCRQ; an SCCRP to it is read, one to
// another tunnel is not; the StopCCN answers the SCCRP's tunnel and Ns.
func TestProbeSCCRQ(t *testing.T) {
	rq, err := ParseMessage(ProbeSCCRQ(0x1234, "probe"), nil)
	if err != nil || rq.Type != SCCRQ || rq.Header.TunnelID != 0 || rq.Header.Ns != 0 {
		t.Fatalf("SCCRQ %+v %v", rq.Header, err)
	}
	if id, err := findUint16(&rq, AVPAssignedTunnelID); err != nil || id != 0x1234 {
		t.Fatalf("assigned tunnel id %d %v", id, err)
	}
	rp := NewMessage(SCCRP, 0x1234, 0)
	rp.Header.Ns, rp.Header.Nr = 0, 1
	rp.Add(Uint16AVP(AVPProtocolVersion, true, protocolVersion), BytesAVP(AVPHostName, true, []byte("lns")),
		BytesAVP(AVPVendorName, false, []byte("SoftEther Corporation")), Uint16AVP(AVPFirmwareRevision, false, 0x0500),
		Uint16AVP(AVPAssignedTunnelID, true, 77), AVP{Vendor: 311, Type: 3, Value: []byte{1}})
	b := rp.Append(nil)
	r, ok := ParseProbeReply(b, 0x1234)
	if !ok || r.Type != SCCRP || r.PeerID != 77 || r.HostName != "lns" || r.Vendor != "SoftEther Corporation" || r.Firmware != 0x0500 {
		t.Fatalf("reply %+v ok=%v", r, ok)
	}
	if len(r.AVPs) != 7 || r.AVPs[6] != "AVP(vendor 311, 3)" || r.AVPs[0] != "Message Type" {
		t.Errorf("AVPs %q", r.AVPs)
	}
	if _, ok := ParseProbeReply(b, 0x1235); ok {
		t.Error("an SCCRP to another tunnel was taken")
	}
	for n := range len(b) {
		ParseProbeReply(b[:n], 0x1234) // must not panic
	}
	stop, err := ParseMessage(ProbeStopCCN(0x1234, r), nil)
	if err != nil || stop.Type != StopCCN || stop.Header.TunnelID != 77 || stop.Header.Ns != 1 || stop.Header.Nr != 1 {
		t.Fatalf("StopCCN %+v %v", stop.Header, err)
	}
	if a, ok := stop.Find(AVPResultCode); !ok || a.Value[1] != 1 {
		t.Errorf("StopCCN result %v", a)
	}
}
