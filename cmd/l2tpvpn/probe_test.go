package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// fakeProbe returns rep as the network would have produced it.
func fakeProbe(rep probeReport) probeFunc {
	return func(_ context.Context, server netip.Addr, st probeSettings) (*probeReport, error) {
		r := rep
		r.Server, r.Rate = server.String(), st.Rate
		return &r, nil
	}
}

func runProbe(t *testing.T, rep probeReport, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := probeWith(args, &out, &errOut, fakeProbe(rep))
	return code, out.String(), errOut.String()
}

var strongSwanVID = probeVendor{ID: "882fe56d6fd20dbc2251613b2ebe5beb", Name: "strongSwan", Family: ike.FamilyStrongSwan}

// A server that accepts two proposals: exit 0, the table lists them in our
// order of preference, and the suggested profile offers only those.
func TestProbeWorksIPsec(t *testing.T) {
	rep := probeReport{UDP500: true, UDP4500: true, IKEProbed: 140, IKEAccepted: []string{"3des-sha1-modp1024", "aes256-sha256-modp2048"},
		IKERefused: 138, Vendors: []probeVendor{strongSwanVID}, Family: ike.FamilyStrongSwan, FamilyFrom: "IKE vendor IDs",
		NATT: "RFC 3947", LocalAddr: "192.0.2.10", Sent: 145}
	code, out, _ := runProbe(t, rep, "192.0.2.1")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"UDP 500 (IKE)", "answers", "140 proposals: 2 accepted, 138 refused, 0 no answer",
		"phase 1 accepted       aes256-sha256-modp2048", "strongSwan (strongswan)", "NAT-T                  RFC 3947",
		"packets sent           145 (at most 5 per second)", "verdict                works",
		`ike = ["aes256-sha256-modp2048", "3des-sha1-modp1024"]`, `server = "192.0.2.1"`, `ipsec = "on"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "server-type") {
		t.Errorf("strongSwan has no preset, yet:\n%s", out)
	}

	code, out, _ = runProbe(t, rep, "192.0.2.1", "--json", "--rate", "2")
	var got probeReport
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK {
		t.Fatalf("json: exit %d, %v:\n%s", code, err, out)
	}
	if got.Verdict != verdictWorks || len(got.IKEAccepted) != 2 || got.IKEAccepted[0] != "aes256-sha256-modp2048" ||
		got.Rate != 2 || !strings.Contains(got.Profile, "ike = [") || got.Family != "strongswan" {
		t.Errorf("json %+v", got)
	}
	for _, key := range []string{`"udp_500": true`, `"udp_1701": false`, `"ike_accepted"`, `"vendor_ids"`, `"packets_sent": 145`, `"nat"`} {
		if !strings.Contains(out, key) {
			t.Errorf("json lacks %s", key)
		}
	}
}

// The suggested profile is one connect takes: --dry-run accepts it.
func TestProbeProfileConnects(t *testing.T) {
	rep := probeReport{UDP500: true, IKEProbed: 140, IKEAccepted: []string{"aes128-sha1-modp1024"},
		Vendors: []probeVendor{{ID: "x", Name: "MS NT5 ISAKMPOAKLEY", Family: ike.FamilyWindows}}, Family: ike.FamilyWindows}
	for _, plain := range []bool{false, true} {
		r := rep
		if plain {
			r = probeReport{UDP1701: true, L2TP: &probeL2TPReply{Answer: "SCCRP", HostName: "l2tpns", AVPs: []string{"Message Type"}}}
		}
		_, out, _ := runProbe(t, r, "--json", "192.0.2.7:1702")
		var got probeReport
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got.Profile, "ipsec = \"off\"") != plain {
			t.Fatalf("plain=%v, profile:\n%s", plain, got.Profile)
		}
		if !plain && !strings.Contains(got.Profile, `server-type = "windows-rras"`) {
			t.Errorf("Windows' preset missing:\n%s", got.Profile)
		}
		path := filepath.Join(t.TempDir(), "probed.toml")
		if err := os.WriteFile(path, []byte(got.Profile), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("L2V_PROBE_PW", "pw")
		t.Setenv("L2V_PROBE_PSK", "psk")
		t.Setenv("L2TPVPN_STATE_DIR", filepath.Join(t.TempDir(), "state"))
		var o, e bytes.Buffer
		code := run([]string{"connect", path, "--dry-run", "--user", "u", "--password", "env:L2V_PROBE_PW", "--psk", "env:L2V_PROBE_PSK"}, &o, &e)
		if code != exitOK {
			t.Errorf("plain=%v: connect --dry-run of the suggested profile: exit %d: %s\n%s", plain, code, e.String(), got.Profile)
		}
		if !strings.Contains(o.String(), "192.0.2.7") {
			t.Errorf("dry run:\n%s", o.String())
		}
	}
}

// Exit codes: nothing answers 18, answers without accepting 19, plain L2TP
// with an SCCRP works.
func TestProbeExitCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		rep  probeReport
		code int
		text string
	}{
		{"silent", probeReport{}, exitProbeSilent, "nothing answers"},
		{"ike refuses all", probeReport{UDP500: true, IKEProbed: 140, IKERefused: 140}, exitProbeDenied, "accepts none of our proposals"},
		{"ike silent refusals", probeReport{UDP500: true, IKEProbed: 140, IKENoAnswer: 140}, exitProbeDenied, "accepts none"},
		{"plain l2tp", probeReport{UDP1701: true, L2TP: &probeL2TPReply{Answer: "SCCRP", Vendor: "l2tpns", AVPs: []string{"Message Type", "Host Name"}}},
			exitOK, `ipsec = "off"`},
		{"l2tp refuses", probeReport{UDP1701: true, L2TP: &probeL2TPReply{Answer: "StopCCN", Result: 2, ResultMessage: "no", AVPs: []string{"Message Type"}}},
			exitProbeDenied, "L2TP result            2 no"},
		{"softether by l2tp vendor", probeReport{UDP500: true, IKEProbed: 140, IKEAccepted: []string{"aes256-sha1-modp2048"}, UDP1701: true,
			L2TP: &probeL2TPReply{Answer: "SCCRP", Vendor: "SoftEther Corporation", AVPs: []string{"Message Type"}}}, exitOK, `server-type = "softether"`},
	} {
		code, out, _ := runProbe(t, c.rep, "192.0.2.1")
		if code != c.code || !strings.Contains(out, c.text) {
			t.Errorf("%s: exit %d (want %d), output lacks %q?\n%s", c.name, code, c.code, c.text, out)
		}
		if c.code != exitOK && strings.Contains(out, "Suggested profile") {
			t.Errorf("%s: a profile without a verdict of works", c.name)
		}
	}
}

func TestProbeUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"a", "b"}, {"--rate", "0", "x"}, {"--rate", "100", "x"}, {"--bogus", "x"}, {"x:0"}} {
		if code, _, _ := runProbe(t, probeReport{}, args...); code != exitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
	}
	code, out, _ := runProbe(t, probeReport{}, "--help")
	if code != exitOK || !strings.Contains(out, "Usage: l2tpvpn probe SERVER") || !strings.Contains(out, "--rate") {
		t.Errorf("--help: %d\n%s", code, out)
	}
}

func TestNATGuess(t *testing.T) {
	if g := natGuess("192.168.1.5", "203.0.113.9"); !strings.HasPrefix(g, "yes") {
		t.Errorf("private to public: %q", g)
	}
	if g := natGuess("198.51.100.5", "203.0.113.9"); !strings.HasPrefix(g, "unknown") {
		t.Errorf("public to public: %q", g)
	}
}

// Proposals without an answer from a server that answers others are
// unknown, and the report says so (a strongSwan server stops answering new
// exchanges from one address after 5 half-open ones); a server that
// answers nothing gets no such note.
func TestProbeNoteSilentProposals(t *testing.T) {
	props := ike.ProbeIKEProposals()
	res := []ike.Phase1Result{
		{Proposal: props[0], Outcome: ike.Phase1Accepted},
		{Proposal: props[1], Outcome: ike.Phase1Refused},
		{Proposal: props[2], Outcome: ike.Phase1NoAnswer},
	}
	var rep probeReport
	rep.addPhase1(res, nil)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "1 proposals got no answer") || !strings.Contains(rep.Notes[0], "unknown, not refused") {
		t.Errorf("notes %q", rep.Notes)
	}
	var silent probeReport
	silent.addPhase1([]ike.Phase1Result{{Proposal: props[0], Outcome: ike.Phase1NoAnswer}}, nil)
	if len(silent.Notes) != 0 {
		t.Errorf("a silent server got notes %q", silent.Notes)
	}
}

// A part with the key that cannot run (anything but a refused key) leaves
// the sweep's findings and verdict and says why in a note, in the table
// and the JSON.
func TestProbePSKUntested(t *testing.T) {
	rep := probeReport{Server: "192.0.2.1", IKEAccepted: []string{"a", "b", "c"}, Verdict: verdictWorks, Rate: 5}
	rep.Phase2 = &probePhase2{}
	rep.pskUntested(errors.New("ike: no answer to Main Mode message 1"))
	if rep.PSK != "untested" || rep.Phase2 != nil || rep.exitCode() != exitOK || len(rep.Notes) != 1 ||
		!strings.Contains(rep.Notes[0], "did not run: ike: no answer") || !strings.Contains(rep.Notes[0], "accepted 3 offers") {
		t.Errorf("report %+v", rep)
	}
	var table bytes.Buffer
	rep.writeTable(&table)
	if !strings.Contains(table.String(), "note") || !strings.Contains(table.String(), "try again in a few minutes") {
		t.Errorf("table:\n%s", table.String())
	}
	js, _ := json.Marshal(rep)
	if !strings.Contains(string(js), `"notes":[`) || !strings.Contains(string(js), `"psk":"untested"`) {
		t.Errorf("json %s", js)
	}
}
