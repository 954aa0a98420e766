package main

// l2tpvpn presets: the proposal presets (profile key proposals), what each
// offers and where it comes from.

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

const presetsHelp = `Usage: l2tpvpn presets [--json]

Lists the server-type presets (--server-type NAME): what each family of
server needs from a client, with the documentation it comes from; then the
proposal presets (--proposals NAME): the IKE and ESP offers of well-known
clients, which servers set up for those clients accept. A preset fills in
only what the profile and the command line leave unset.
`

func presets(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("presets", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			fmt.Fprint(stdout, presetsHelp)
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn presets: %v (run 'l2tpvpn help presets')\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "l2tpvpn presets: takes no arguments, got %q\n", fs.Args())
		return exitUsage
	}
	var all []ike.ProposalPreset
	for _, n := range ike.ProposalPresetNames() {
		p, _ := ike.LookupProposalPreset(n)
		all = append(all, p)
	}
	if *asJSON {
		type row struct {
			Name   string `json:"name"`
			IKE    string `json:"ike"`
			ESP    string `json:"esp"`
			About  string `json:"about"`
			Source string `json:"source"`
		}
		var rows []row
		for _, p := range all {
			rows = append(rows, row{p.Name, p.IKE, p.ESP, p.About, p.Source})
		}
		type stRow struct {
			Name   string            `json:"name"`
			About  string            `json:"about"`
			Sets   map[string]string `json:"sets"`
			Source string            `json:"source"`
		}
		var sts []stRow
		for _, n := range serverTypeNames() {
			st := serverTypes[n]
			sets := map[string]string{}
			for _, kv := range st.Sets {
				sets[kv.Key] = kv.Value
			}
			sts = append(sts, stRow{st.Name, st.About, sets, st.Source})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"server_types": sts, "proposals": rows}); err != nil {
			return exitInternal
		}
		return exitOK
	}
	fmt.Fprintln(stdout, "Server-type presets (server-type = NAME):")
	for _, n := range serverTypeNames() {
		st := serverTypes[n]
		fmt.Fprintf(stdout, "\n%s: %s\n", st.Name, st.About)
		for _, kv := range st.Sets {
			fmt.Fprintf(stdout, "  %s = %s\n", kv.Key, kv.Value)
		}
		if len(st.Sets) == 0 {
			fmt.Fprintln(stdout, "  (sets nothing)")
		}
		fmt.Fprintf(stdout, "  source: %s\n", st.Source)
	}
	fmt.Fprintln(stdout, "\nProposal presets (proposals = NAME):")
	for _, p := range all {
		fmt.Fprintf(stdout, "\n%s: %s\n  ike: %s\n  esp: %s\n  source: %s\n", p.Name, p.About, p.IKE, p.ESP, p.Source)
	}
	fmt.Fprintln(stdout, "\nWithout a preset the offer is the union of windows and macos.")
	return exitOK
}
