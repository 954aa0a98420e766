package main

// l2tpvpn list: the profiles found, and which connections are up (asked
// over their control sockets, as status does).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// listEntry is one line of the list: a profile, a running connection, or
// both.
type listEntry struct {
	Name    string `json:"name"`
	Profile string `json:"profile,omitempty"` // its path; empty for a connection made from flags
	State   string `json:"state"`             // connecting, up, reconnecting, or down (not running)
	Server  string `json:"server,omitempty"`  // of a running connection
	PID     int    `json:"pid,omitempty"`
}

func list(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("list", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: l2tpvpn list [--json]\n\nLists the profiles found (%s) and the running\nconnections, with their state.\n\nFlags:\n%s",
			strings.Join(profileDirs(), ", "), fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", flagError(fs, err))
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "l2tpvpn: list takes no arguments (run 'l2tpvpn list --help')")
		return exitUsage
	}
	entries := map[string]*listEntry{}
	for _, p := range findProfiles(profileDirs()) {
		name := strings.TrimSuffix(filepath.Base(p), ".toml")
		entries[name] = &listEntry{Name: name, Profile: p, State: string(vpn.StateDown)}
	}
	code := exitOK
	dir, err := privateStateDir(stateDir(), false)
	var names []string
	if err == nil {
		names, err = runningNames(dir)
	}
	if err != nil {
		// The profiles are still worth showing; say why the states are not.
		fmt.Fprintf(stderr, "l2tpvpn: running connections unknown: %v\n", err)
		code = controlExit(err)
	}
	for _, n := range names {
		st, err := queryStatus(dir, n)
		if err != nil {
			continue // a stale socket
		}
		e := entries[n]
		if e == nil {
			e = &listEntry{Name: n}
			entries[n] = e
		}
		e.State, e.Server, e.PID = string(st.State), st.Server, st.PID
	}
	all := make([]listEntry, 0, len(entries))
	for _, e := range entries {
		all = append(all, *e)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	if *asJSON {
		json.NewEncoder(stdout).Encode(all)
		return code
	}
	if len(all) == 0 {
		fmt.Fprintf(stdout, "no profiles (looked in %s) and no connections running\n", strings.Join(profileDirs(), ", "))
		return code
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPROFILE")
	for _, e := range all {
		state := e.State
		if e.PID != 0 {
			state += fmt.Sprintf(" (pid %d)", e.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, state, orDefault(e.Profile, "(flags only)"))
	}
	tw.Flush()
	return code
}

// findProfiles lists the profile files in dirs; a name found in an earlier
// directory hides the same name in a later one, as FindProfile does.
func findProfiles(dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, "*.toml"))
		sort.Strings(matches)
		for _, m := range matches {
			name := strings.TrimSuffix(filepath.Base(m), ".toml")
			if seen[name] || !profileNameRE.MatchString(name) {
				continue
			}
			if fi, err := os.Stat(m); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			seen[name] = true
			out = append(out, m)
		}
	}
	return out
}
