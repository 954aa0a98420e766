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

Lists the proposal presets for the profile key proposals (--proposals NAME):
the IKE and ESP offers of well-known clients, which servers set up for those
clients accept. An explicit ike or esp list wins over the preset's.
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"proposals": rows}); err != nil {
			return exitInternal
		}
		return exitOK
	}
	fmt.Fprintln(stdout, "Proposal presets (proposals = NAME):")
	for _, p := range all {
		fmt.Fprintf(stdout, "\n%s: %s\n  ike: %s\n  esp: %s\n  source: %s\n", p.Name, p.About, p.IKE, p.ESP, p.Source)
	}
	fmt.Fprintln(stdout, "\nWithout a preset the offer is the union of windows and macos.")
	return exitOK
}
