package main

// l2tpvpn probe SERVER: what a server accepts and which profile would work,
// without a password or pre-shared key. Whether UDP 500, 4500 and 1701
// answer; the phase-1 proposals it accepts (ike.Phase1Probe: one Main Mode 1
// per proposal, never message 3); its vendor IDs and the server family they
// name; NAT-T; the L2TP SCCRP (host name, vendor, firmware, AVPs). Then a
// table (or --json) and a suggested profile with the narrowest proposal
// list. With the PSK (probepsk.go, probeipsec.go): phase 2, L2TP through
// IPsec and PPP's authentication methods.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
)

const probeUsage = `Usage: l2tpvpn probe SERVER [--json] [--timeout D] [--rate N]
                     [--psk-env VAR | --psk-file PATH | --psk SPEC] [--esp-mode M]

Asks SERVER (a host name or address; HOST:PORT sets the L2TP port) what it
accepts: whether UDP 500, 4500 and 1701 answer; each IKE phase-1 proposal
we implement (140, one Main Mode message 1 each, never message 3, so the
server keeps nothing but a half-open exchange that it expires); its vendor
IDs and the server family they name; NAT traversal; the L2TP server's SCCRP
(host name, vendor, firmware, AVPs; the tunnel is closed at once with a
StopCCN). Prints a table (or JSON) and a suggested profile with only the
accepted proposals.

With the pre-shared key (--psk-env VAR, --psk-file PATH, or --psk env:VAR,
file:PATH or prompt; a file must be private, as for connect) it goes on:
one Main Mode with the first accepted phase-1 proposal, then one Quick Mode
per ESP transform we implement (23, in --esp-mode, default transport), each
accepted pair deleted at once; PFS (phase 1's group) with and without on an
accepted transform: required, optional or refused; then, through one
accepted pair, the L2TP SCCRP of the server behind IPsec and PPP's LCP: the
authentication methods it offers, found by Configure-Nak'ing its choice
with each other method (no password and no CHAP response is ever sent);
then LCP Terminate, CDN, StopCCN and the IKE Deletes. The suggested profile
then also has the accepted ESP transforms, pfs and auth. The key is never
printed. A server that answered the sweep but not the Main Mode with the
key may still hold the sweep's half-open exchanges (strongSwan ignores an
address with 5, for 30 s each): the probe says so on stderr, waits 32 s
and tries once more.

Traffic: at most --rate messages per second, evenly spaced (every IKE, L2TP
and PPP message counts), and at most 2 IKE exchanges outstanding; a sweep
takes about 30 s against a server that answers every offer, up to
140×timeout/2 against one that drops refusals; the phase-2 part about
25 Quick Modes of 2 messages more.

Exit codes: 0 a profile would work (an IKE proposal accepted, and with the
key an ESP transform too, or plain L2TP answers with an SCCRP), 18 nothing
answers, 19 the server answers but accepts none of our proposals (phase 1
or, with the key, phase 2; or refuses plain L2TP), 11 the pre-shared key
was not accepted (as for connect), 2 usage.

Flags:
`

// probeFunc probes a server; tests replace it.
type probeFunc func(ctx context.Context, server netip.Addr, st probeSettings) (*probeReport, error)

// probeReport is everything the probe found, as --json prints it.
type probeReport struct {
	Server      string          `json:"server"`
	LocalAddr   string          `json:"local_address,omitempty"`
	UDP500      bool            `json:"udp_500"`
	UDP4500     bool            `json:"udp_4500"`
	UDP1701     bool            `json:"udp_1701"`
	IKEProbed   int             `json:"ike_probed"`
	IKEAccepted []string        `json:"ike_accepted"`
	IKERefused  int             `json:"ike_refused"`
	IKENoAnswer int             `json:"ike_no_answer"`
	Vendors     []probeVendor   `json:"vendor_ids,omitempty"`
	Family      string          `json:"family,omitempty"`
	FamilyHint  bool            `json:"family_guessed,omitempty"`
	FamilyFrom  string          `json:"family_from,omitempty"`
	NATT        string          `json:"nat_t,omitempty"`
	NAT         string          `json:"nat"`
	L2TP        *probeL2TPReply `json:"l2tp,omitempty"`
	// With the PSK (probepsk.go): whether it was accepted, then phase 2,
	// L2TP through IPsec and PPP's authentication methods.
	PSK        string          `json:"psk,omitempty"` // "accepted", "refused" or "untested"
	Phase2     *probePhase2    `json:"phase2,omitempty"`
	L2TPIPsec  *probeL2TPReply `json:"l2tp_ipsec,omitempty"`
	PPPAuth    *probePPPAuth   `json:"ppp_auth,omitempty"`
	Sent       int             `json:"packets_sent"`
	Rate       float64         `json:"rate_limit"`
	Verdict    string          `json:"verdict"`
	ServerType string          `json:"server_type,omitempty"`
	Profile    string          `json:"profile,omitempty"`
	// Notes say what limits the findings (a server that went silent, a
	// part that could not run).
	Notes []string `json:"notes,omitempty"`
}

type probeVendor struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Family string `json:"family,omitempty"`
}

type probeL2TPReply struct {
	Answer        string   `json:"answer"` // SCCRP or StopCCN
	HostName      string   `json:"host_name,omitempty"`
	Vendor        string   `json:"vendor,omitempty"`
	Firmware      uint16   `json:"firmware,omitempty"`
	TunnelAuth    bool     `json:"tunnel_auth,omitempty"`
	Result        uint16   `json:"result,omitempty"`
	ResultMessage string   `json:"result_message,omitempty"`
	AVPs          []string `json:"avps"`
	Error         string   `json:"error,omitempty"` // through IPsec: why L2TP did not come up
}

// Verdicts and their exit codes.
const (
	verdictWorks      = "works"
	verdictNoProposal = "no-proposal"
	verdictNoAnswer   = "no-answer"
	verdictPSKRefused = "psk-refused"
)

func probe(args []string, stdout, stderr io.Writer) int {
	return probeWith(args, stdout, stderr, netProbe)
}

func probeWith(args []string, stdout, stderr io.Writer, do probeFunc) int {
	fs := pflag.NewFlagSet("probe", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", ike.DefaultProbeTimeout, "how long each message waits for an answer")
	rate := fs.Float64("rate", ike.DefaultProbeRate, "at most this many messages per second (1 to 50)")
	pskSpec := newSecretFlag(fs, "psk", "IPsec pre-shared key, to probe phase 2, L2TP through IPsec and PPP: env:VAR, file:PATH or prompt")
	pskEnv := fs.String("psk-env", "", "same as --psk env:VAR")
	pskFile := fs.String("psk-file", "", "same as --psk file:PATH (the file must be private)")
	espMode := fs.String("esp-mode", "transport", "ESP mode of the phase-2 probe: transport or tunnel")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, probeUsage+fs.FlagUsagesWrapped(helpWidth))
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", flagError(fs, err))
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "l2tpvpn: probe takes one SERVER (run 'l2tpvpn probe --help')")
		return exitUsage
	}
	if *rate < 1 || *rate > 50 || *timeout <= 0 {
		fmt.Fprintln(stderr, "l2tpvpn: probe: --rate must be 1 to 50 and --timeout positive (run 'l2tpvpn probe --help')")
		return exitUsage
	}
	st := probeSettings{Timeout: *timeout, Rate: *rate, L2TP: 1701, ESPMode: esp.Transport, Progress: stderr}
	switch strings.ToLower(*espMode) {
	case "transport":
	case "tunnel":
		st.ESPMode = esp.Tunnel
	default:
		fmt.Fprintf(stderr, "l2tpvpn: probe: --esp-mode %q: want transport or tunnel\n", *espMode)
		return exitUsage
	}
	spec, n := pskSpec.Spec(), 0
	for _, v := range []string{spec, *pskEnv, *pskFile} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		fmt.Fprintln(stderr, "l2tpvpn: probe: --psk, --psk-env and --psk-file are exclusive")
		return exitUsage
	}
	if *pskEnv != "" {
		spec = "env:" + *pskEnv
	} else if *pskFile != "" {
		spec = "file:" + *pskFile
	}
	host := fs.Arg(0)
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			fmt.Fprintf(stderr, "l2tpvpn: probe: bad port in %q\n", host)
			return exitUsage
		}
		host, st.L2TP = h, uint16(n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	addr, err := netip.ParseAddr(host)
	if err != nil {
		addrs, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr != nil || len(addrs) == 0 {
			fmt.Fprintf(stderr, "l2tpvpn: probe: cannot resolve %q: %v\n", host, lerr)
			return exitProbeSilent
		}
		addr = addrs[0]
	}
	if spec != "" {
		psk, err := ResolveSecret(SecretRequest{What: "psk", Spec: spec, Prompt: "psk for " + host + ": "}, nil, os.Stdin, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "l2tpvpn: probe: %v\n", err)
			return exitUsage
		}
		st.PSK = psk
	}
	rep, err := do(ctx, addr.Unmap(), st)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: probe: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitInternal
	}
	rep.finish(host, st)
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(rep)
	} else {
		rep.writeTable(stdout)
	}
	return rep.exitCode()
}

// finish works out the verdict, the NAT guess and the suggested profile.
func (rep *probeReport) finish(host string, st probeSettings) {
	if rep.IKEAccepted == nil {
		rep.IKEAccepted = []string{}
	}
	rep.orderAccepted()
	if rep.Family == "" && rep.L2TP != nil {
		if f := familyFromL2TP(rep.L2TP.Vendor, rep.L2TP.HostName); f != "" {
			rep.Family, rep.FamilyHint, rep.FamilyFrom = f, false, "L2TP vendor name"
		}
	}
	rep.NAT = natGuess(rep.LocalAddr, rep.Server)
	plain := !rep.UDP500 && !rep.UDP4500 && rep.L2TP != nil && rep.L2TP.Answer == "SCCRP"
	switch {
	case rep.PSK == "refused":
		rep.Verdict = verdictPSKRefused
	case rep.Phase2 != nil && len(rep.Phase2.Accepted) == 0:
		rep.Verdict = verdictNoProposal
	case len(rep.IKEAccepted) > 0 || plain:
		rep.Verdict = verdictWorks
	case rep.UDP500 || rep.UDP4500 || rep.UDP1701:
		rep.Verdict = verdictNoProposal
	default:
		rep.Verdict = verdictNoAnswer
	}
	rep.ServerType = serverTypeFor(rep.Family)
	if rep.Verdict == verdictWorks {
		rep.Profile = rep.profile(host, st, plain)
	}
}

// orderAccepted puts the accepted proposals in our order of preference
// (the order of ProbeIKEProposals: our default offer first).
func (rep *probeReport) orderAccepted() {
	rank := map[string]int{}
	for i, p := range ike.ProbeIKEProposals() {
		rank[p.String()] = i
	}
	slices.SortStableFunc(rep.IKEAccepted, func(a, b string) int { return rank[a] - rank[b] })
}

func (rep *probeReport) exitCode() int {
	switch rep.Verdict {
	case verdictWorks:
		return exitOK
	case verdictNoProposal:
		return exitProbeDenied
	case verdictPSKRefused:
		return exitIKEAuth
	}
	return exitProbeSilent
}

// familyFromL2TP reads the family from the SCCRP's Vendor Name (or Host
// Name), as the servers fill it in.
func familyFromL2TP(vendor, host string) string {
	v := strings.ToLower(vendor + " " + host)
	switch {
	case strings.Contains(v, "softether"):
		return ike.FamilySoftEther
	case strings.Contains(v, "microsoft"):
		return ike.FamilyWindows
	case strings.Contains(v, "mikrotik"):
		return "mikrotik"
	}
	return ""
}

// serverTypeFor is the server-type preset of a family, "" when none fits.
func serverTypeFor(family string) string {
	switch family {
	case ike.FamilyWindows:
		return "windows-rras"
	case ike.FamilySoftEther, ike.FamilyLibreswan, ike.FamilyFortiGate, ike.FamilySonicWall, "mikrotik":
		return family
	case ike.FamilyCisco:
		return "cisco-ios"
	}
	return ""
}

// natGuess says whether a NAT is between us and the server, as far as the
// addresses tell without Main Mode 3 (whose NAT-D payloads would say): a
// private or shared source address talking to a public server is
// translated on the way.
func natGuess(local, server string) string {
	l, err1 := netip.ParseAddr(local)
	s, err2 := netip.ParseAddr(server)
	if err1 != nil || err2 != nil {
		return "unknown"
	}
	private := func(a netip.Addr) bool {
		return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
	}
	if private(l) && !private(s) {
		return "yes (our address " + local + " is private, the server's is public)"
	}
	return "unknown (NAT-D needs Main Mode 3, which the probe does not send)"
}

// profile is the suggested profile: the accepted proposals only, in our
// order, and the preset of the family.
func (rep *probeReport) profile(host string, st probeSettings, plain bool) string {
	var b strings.Builder
	b.WriteString("# suggested by l2tpvpn probe; add user, password and (with IPsec) psk\n")
	server := host
	if st.L2TP != 1701 {
		server = net.JoinHostPort(host, strconv.Itoa(int(st.L2TP)))
	}
	fmt.Fprintf(&b, "server = %q\n", server)
	if rep.ServerType != "" {
		fmt.Fprintf(&b, "server-type = %q\n", rep.ServerType)
	}
	if plain {
		b.WriteString("ipsec = \"off\"\n")
		return b.String()
	}
	b.WriteString("ipsec = \"on\"\n")
	quoted := make([]string, len(rep.IKEAccepted))
	for i, p := range rep.IKEAccepted {
		quoted[i] = strconv.Quote(p)
	}
	fmt.Fprintf(&b, "ike = [%s]\n", strings.Join(quoted, ", "))
	if p2 := rep.Phase2; p2 != nil && len(p2.Accepted) > 0 {
		fmt.Fprintf(&b, "esp = [%s]\n", quoteAll(p2.Accepted))
		if p2.PFS != "required" {
			b.WriteString("pfs = \"none\"\n")
		}
		if p2.Mode == "tunnel" {
			b.WriteString("esp-mode = \"tunnel\"\n")
		}
	}
	if a := rep.PPPAuth; a != nil {
		if auth := profileAuth(a.Methods); len(auth) > 0 {
			fmt.Fprintf(&b, "auth = [%s]\n", quoteAll(auth))
		}
	}
	b.WriteString("psk = \"prompt\"\n")
	return b.String()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// profileAuth is the auth key for the methods the server offers: those we
// implement, in our order of preference.
func profileAuth(offered []string) []string {
	var out []string
	for _, m := range []struct{ name, key string }{{"MS-CHAPv2", "mschapv2"}, {"CHAP-MD5", "chap"}, {"PAP", "pap"}} {
		if slices.Contains(offered, m.name) {
			out = append(out, m.key)
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "answers"
	}
	return "silent"
}

// writeTable prints the report for a person.
func (rep *probeReport) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "server\t%s\n", rep.Server)
	fmt.Fprintf(tw, "UDP 500 (IKE)\t%s\n", yesNo(rep.UDP500))
	fmt.Fprintf(tw, "UDP 4500 (IKE, NAT-T)\t%s\n", yesNo(rep.UDP4500))
	fmt.Fprintf(tw, "UDP 1701 (L2TP)\t%s\n", yesNo(rep.UDP1701))
	if rep.IKEProbed > 0 {
		fmt.Fprintf(tw, "phase 1 probed\t%d proposals: %d accepted, %d refused, %d no answer\n",
			rep.IKEProbed, len(rep.IKEAccepted), rep.IKERefused, rep.IKENoAnswer)
		for i, p := range rep.IKEAccepted {
			label := ""
			if i == 0 {
				label = "phase 1 accepted"
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, p)
		}
	}
	for i, v := range rep.Vendors {
		label := ""
		if i == 0 {
			label = "vendor IDs"
		}
		name := v.Name
		if v.Family != "" {
			name += " (" + v.Family + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, name)
	}
	if rep.UDP500 || rep.UDP4500 {
		natt := rep.NATT
		if natt == "" {
			natt = "not announced"
		}
		fmt.Fprintf(tw, "NAT-T\t%s\n", natt)
	}
	fmt.Fprintf(tw, "NAT between us\t%s\n", rep.NAT)
	if l := rep.L2TP; l != nil {
		fmt.Fprintf(tw, "L2TP answer\t%s\n", l.Answer)
		if l.HostName != "" {
			fmt.Fprintf(tw, "L2TP host name\t%s\n", l.HostName)
		}
		if l.Vendor != "" {
			fmt.Fprintf(tw, "L2TP vendor\t%s\n", l.Vendor)
		}
		if l.Firmware != 0 {
			fmt.Fprintf(tw, "L2TP firmware\t0x%04x\n", l.Firmware)
		}
		if l.TunnelAuth {
			fmt.Fprintf(tw, "L2TP tunnel auth\tasked (set l2tp-secret)\n")
		}
		if l.Answer == "StopCCN" {
			fmt.Fprintf(tw, "L2TP result\t%d %s\n", l.Result, l.ResultMessage)
		}
		fmt.Fprintf(tw, "L2TP AVPs\t%s\n", strings.Join(l.AVPs, ", "))
	}
	rep.writePSK(tw)
	if rep.Family != "" {
		guess := ""
		if rep.FamilyHint {
			guess = ", a guess"
		}
		fmt.Fprintf(tw, "family\t%s (from the %s%s)\n", rep.Family, rep.FamilyFrom, guess)
	}
	fmt.Fprintf(tw, "packets sent\t%d (at most %g per second)\n", rep.Sent, rep.Rate)
	for _, n := range rep.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	fmt.Fprintf(tw, "verdict\t%s\n", map[string]string{
		verdictWorks:      "works",
		verdictNoProposal: "answers, but accepts none of our proposals",
		verdictNoAnswer:   "nothing answers",
		verdictPSKRefused: "the pre-shared key was not accepted",
	}[rep.Verdict])
	tw.Flush()
	if rep.Profile != "" {
		fmt.Fprintf(w, "\nSuggested profile:\n\n%s", rep.Profile)
	}
}
