package main

import (
	"os"
	"strings"
	"testing"
)

// Issue 17 point 16: the events table is one table (no paragraph inside
// it), and the strongSwan section comes after flags, exit codes and events.
func TestReadmeLayout(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "| event | when | fields |")
	if i < 0 {
		t.Fatal("no events table")
	}
	var rows []string
	for _, l := range strings.Split(readme[i:], "\n") {
		if !strings.HasPrefix(l, "|") {
			break
		}
		rows = append(rows, l)
	}
	for _, ev := range []string{"connecting", "ike.phase1.up", "ike.phase2.up", "l2tp.tunnel.up", "up", "reconnecting", "down"} {
		found := false
		for _, r := range rows {
			found = found || strings.HasPrefix(r, "| `"+ev+"` |")
		}
		if !found {
			t.Errorf("event %s is not a row of the events table", ev)
		}
	}
	order := []string{"## Install", "## Quick start", "## `l2tpvpn connect` flags", "## Exit codes", "## JSON events", "## Delegating IPsec to strongSwan"}
	last := -1
	for _, h := range order {
		j := strings.Index(readme, h)
		if j < last {
			t.Errorf("section %q missing or out of order", h)
		}
		last = j
	}
	for _, want := range []string{"make install", "umask 077", "chmod 600 /etc/l2tpvpn/work.psk", "$SUDO_USER", "Where output goes"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not say %q", want)
		}
	}
}
