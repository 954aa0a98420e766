package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Issue 17 point 13: every --help and `help COMMAND` goes to stdout with
// exit 0 and nothing on stderr.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"connect", "--help"}, {"connect", "-h"}, {"help", "connect"},
		{"status", "--help"}, {"help", "status"},
		{"disconnect", "--help"}, {"help", "disconnect"},
		{"help", "version"}, {"help", "help"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != exitOK || out.Len() == 0 || errOut.Len() != 0 {
			t.Errorf("%q: exit %d, %d bytes on stdout, stderr %q; want exit 0, help on stdout only", args, code, out.Len(), errOut.String())
		}
	}
}

// Mistakes get one line and a pointer, not the whole help.
func TestHelpMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"help", "foo"}, `unknown command "foo" (run 'l2tpvpn help')`},
		{[]string{"conect"}, `unknown command "conect"; did you mean "connect"? (run 'l2tpvpn help')`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (run 'l2tpvpn help')`},
		{[]string{"connect", "--serverr", "x"}, "unknown flag: --serverr; did you mean --server? (run 'l2tpvpn connect --help')"},
		{[]string{"connect", "--pasword", "env:X"}, "did you mean --password?"},
		{[]string{"connect", "--backgroud"}, "did you mean --background?"},
		{[]string{"status", "--jsn"}, "did you mean --json?"},
		{[]string{"disconnect", "--clenup"}, "did you mean --cleanup?"},
		{[]string{"connect", "--zzzzzzzz"}, "unknown flag: --zzzzzzzz (run 'l2tpvpn connect --help')"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		msg := errOut.String()
		if code != exitUsage || !strings.Contains(msg, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, msg, tc.want)
		}
		if strings.Count(msg, "\n") != 1 || out.Len() != 0 {
			t.Errorf("%q: want one line on stderr and nothing on stdout, got %q / %q", tc.args, msg, out.String())
		}
	}
}

// connect --help is grouped and fits 100 columns; the long proposal lists
// are shortened (the README has them whole).
func TestConnectHelpLayout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"connect", "--help"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	help := out.String()
	for i, l := range strings.Split(help, "\n") {
		if n := len([]rune(l)); n > helpWidth {
			t.Errorf("line %d has %d columns: %q", i+1, n, l)
		}
	}
	last := -1
	for _, g := range helpGroups {
		i := strings.Index(help, "\n"+g+":\n")
		if i < 0 || i < last {
			t.Errorf("group %q missing or out of order", g)
		}
		last = i
	}
	// Every visible flag is in a group.
	fs := connectFlags(&connectOpts{}, &errOut)
	fs.VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden && !strings.Contains(help, "--"+fl.Name+" ") && !strings.Contains(help, "--"+fl.Name+"[") {
			t.Errorf("--%s is not in the help", fl.Name)
		}
	})
	if !strings.Contains(help, "Exit codes:") {
		t.Error("no exit codes")
	}
}

// The exit-code table is the same in the help and in README.md, and lists
// every exit code.
func TestExitCodeTableInReadme(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```text\n"+exitCodeTable+"```\n") {
		t.Error("README.md does not hold the help's exit-code table byte for byte (in a ```text block)")
	}
	var out, errOut bytes.Buffer
	run([]string{"help"}, &out, &errOut)
	if !strings.Contains(out.String(), exitCodeTable) {
		t.Error("the help does not hold the exit-code table")
	}
	for _, code := range []int{exitOK, exitInternal, exitUsage, exitUnreachable, exitRefused, exitAuth, exitLinkLost,
		exitNegotiation, exitHost, exitIKENoAnswer, exitIKEProposal, exitIKEAuth, exitNotRunning, exitIPsecDown,
		exitInterrupted, exitPermission, exitIKEServerID, exitReadyCheck} {
		if !regexp.MustCompile(`(?m)^ *` + strconv.Itoa(code) + `  \S`).MatchString(exitCodeTable) {
			t.Errorf("exit code %d is not in the table", code)
		}
	}
}
