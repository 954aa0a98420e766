package main

import "testing"

func TestStatTicks(t *testing.T) {
	// comm with a space and a parenthesis; utime 1234, stime 56.
	line := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 500 1000 200"
	got, err := statTicks(line)
	if err != nil || got != 1290 {
		t.Fatalf("statTicks = %d, %v; want 1290", got, err)
	}
	if _, err := statTicks("4242 (x) S 1"); err == nil {
		t.Fatal("a short line was accepted")
	}
}

func TestSummarizeRatios(t *testing.T) {
	systems := []*systemState{{ID: "wireguard-go"}, {ID: "l2tpvpn-gcm"}, {ID: "openvpn"}}
	tests := []testSpec{{ID: "tcp1"}}
	runs := []runResult{
		{System: "wireguard-go", Test: "tcp1", Gbps: 2, ClientUsPerPkt: 4},
		{System: "wireguard-go", Test: "tcp1", Gbps: 4, ClientUsPerPkt: 2},
		{System: "l2tpvpn-gcm", Test: "tcp1", Gbps: 1.5, ClientUsPerPkt: 6},
		{System: "l2tpvpn-gcm", Test: "tcp1", Gbps: 99, Err: "iperf3: failed"}, // left out
		{System: "openvpn", Test: "tcp1", Err: "did not come up"},
	}
	rows := summarize(systems, tests, runs)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (no row for a system without a good run): %+v", len(rows), rows)
	}
	wg, l2 := rows[0], rows[1]
	if wg.Runs != 2 || wg.Mean["gbit_s"] != 3 || wg.Min["gbit_s"] != 2 || wg.Max["gbit_s"] != 4 || wg.Ratio["gbit_s"] != 1 {
		t.Errorf("wireguard-go row: %+v", wg)
	}
	if l2.Runs != 1 || l2.Ratio["gbit_s"] != 0.5 || l2.Ratio["client_us_per_packet"] != 2 {
		t.Errorf("l2tpvpn-gcm row: %+v", l2)
	}
}
