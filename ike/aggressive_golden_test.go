package ike

import (
	"path/filepath"
	"testing"
)

// sw-aggressive-keyid.pcap: our Aggressive Mode against strongSwan 5.9.8
// (aggressive = yes, the client's ID keyid:GroupA, PSK psk-of-group-a, the
// server's ID fqdn:vpn.lab.example), then Quick Mode on port 4500. Frame 2
// is charon's AM2 (the reference); 1 and 3 are ours, which charon accepted.
func TestGoldenAggressiveMode(t *testing.T) {
	payloads, ports := udpPayloads(t, filepath.Join(capturesDir, "sw-aggressive-keyid.pcap"))
	if len(payloads) < 3 {
		t.Fatalf("%d UDP datagrams, want the three Aggressive Mode messages", len(payloads))
	}
	parse := func(i int) Message {
		t.Helper()
		b := payloads[i]
		if len(b) > 4 && b[0]|b[1]|b[2]|b[3] == 0 {
			b = stripMarker(t, b) // sent to port 4500: the non-ESP marker
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if m.Header.Exchange != ExchangeAggressive {
			t.Fatalf("message %d: exchange %s", i+1, m.Header.Exchange)
		}
		return m
	}
	am1, am2, am3 := parse(0), parse(1), parse(2)
	id1, ok := FindPayload[*Identification](am1.Payloads)
	if !ok || IDOf(id1).String() != "key-id:GroupA" {
		t.Errorf("AM1 ID %v, want key-id:GroupA", id1)
	}
	id2, ok := FindPayload[*Identification](am2.Payloads)
	if !ok || id2.IDType != IDFQDN || IDOf(id2).String() != "fqdn:vpn.lab.example" {
		t.Errorf("charon's AM2 ID %+v, want fqdn:vpn.lab.example", id2)
	}
	for _, want := range []PayloadType{PayloadSA, PayloadKE, PayloadNonce, PayloadID, PayloadHash, PayloadNATD} {
		found := false
		for _, p := range am2.Payloads {
			found = found || p.Type() == want
		}
		if !found {
			t.Errorf("charon's AM2 lacks %s: %s", want, summary(am2.Payloads))
		}
	}
	if h, _ := FindPayload[*Hash](am2.Payloads); h == nil || len(h.Data) != 20 {
		t.Errorf("AM2 HASH_R: %v, want 20 bytes (SHA-1 PRF)", h)
	}
	if p := payloads[2]; p[0]|p[1]|p[2]|p[3] != 0 || am3.Header.Flags&FlagEncryption != 0 {
		t.Errorf("AM3 flags %#x: want it on port 4500 (non-ESP marker), in clear", am3.Header.Flags)
	}
	if ports[1] != 500 {
		t.Errorf("AM2 from port %d, want 500", ports[1])
	}
	// The decoder round-trips charon's message exactly.
	if got := am2.Append(nil); string(got) != string(payloads[1]) {
		t.Errorf("AM2 does not re-encode to the same bytes")
	}
}
