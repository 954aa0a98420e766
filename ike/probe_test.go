package ike

import "testing"

func TestProbe(t *testing.T) {
	cky := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	req := ProbeRequest(cky)
	m, err := Parse(req)
	if err != nil {
		t.Fatalf("the probe does not parse: %v", err)
	}
	if m.Header.Exchange != ExchangeIDProt || m.Header.InitiatorCookie != cky || len(m.Payloads) < 2 {
		t.Fatalf("probe %+v", m.Header)
	}
	if !IsProbeAnswer(req, cky) {
		t.Errorf("a message with our cookie is not an answer")
	}
	if IsProbeAnswer(req, [8]byte{9}) {
		t.Errorf("another cookie is an answer")
	}
	for n := 0; n < len(req); n++ {
		if n < 28 && IsProbeAnswer(req[:n], cky) {
			t.Errorf("%d bytes taken as an answer", n)
		}
	}
}
