package main

// l2tpvpn completion bash|zsh|fish: shell completion scripts, made from
// the same flag definitions as --help. Profile and connection names are
// completed at run time through the hidden command "__complete", so a new
// profile needs no new script.

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// completeCommand is the hidden helper the scripts call.
const completeCommand = "__complete"

// commandFlags are the flags of each command for completion. connect, up
// and exec take connect's flag set (connectFlags); the others are listed
// here, and TestCompletionFlags checks them against each command's --help.
var commandFlags = map[string][]string{
	"status":     {"--json"},
	"disconnect": {"--all", "--cleanup", "--timeout", "--client"},
	"down":       {"--all", "--cleanup", "--timeout", "--client"},
	"list":       {"--json"},
	"presets":    {"--json"},
	"probe":      {"--json", "--timeout", "--rate", "--psk", "--psk-env", "--psk-file", "--esp-mode"},
	"serve":      {"--background", "--json", "--verbose", "-v", "--client"},
	"completion": nil,
	"version":    nil,
	"help":       nil,
}

// completionCommands are the visible commands, in help's order.
func completionCommands() []string { return slices.Clone(commands) }

// flagsOf lists the command's flags for completion.
func flagsOf(cmd string) []string {
	switch cmd {
	case "connect", "up", "exec":
		fs := connectFlags(&connectOpts{}, io.Discard)
		var out []string
		fs.VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				out = append(out, "--"+f.Name)
				if f.Shorthand != "" {
					out = append(out, "-"+f.Shorthand)
				}
			}
		})
		if cmd == "exec" {
			out = append(out, "--netns")
		}
		sort.Strings(out)
		return out
	}
	return commandFlags[cmd]
}

// takesName: commands whose first argument is a profile or connection.
var takesName = map[string]string{"connect": "profiles", "up": "profiles", "exec": "profiles",
	"status": "running", "disconnect": "running", "down": "running", "help": "commands", "completion": "shells",
	"serve": "serve"}

func completion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: l2tpvpn completion bash|zsh|fish")
		return exitUsage
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(stdout, bashCompletion())
	case "zsh":
		fmt.Fprint(stdout, zshCompletion())
	case "fish":
		fmt.Fprint(stdout, fishCompletion())
	case "-h", "--help":
		fmt.Fprintln(stdout, "Usage: l2tpvpn completion bash|zsh|fish\n\nPrints the shell's completion script: commands, flags, profile names\n(from the profile directories) and running connections. For example:\n  l2tpvpn completion bash > /etc/bash_completion.d/l2tpvpn")
	default:
		fmt.Fprintf(stderr, "l2tpvpn completion: %q: want bash, zsh or fish\n", args[0])
		return exitUsage
	}
	return exitOK
}

// completeNames prints the names the scripts offer: profiles (the .toml
// files of the profile directories), running connections, commands or
// shells.
func completeNames(args []string, stdout io.Writer) int {
	if len(args) != 1 {
		return exitUsage
	}
	var names []string
	switch args[0] {
	case "profiles":
		for _, d := range profileDirs() {
			m, _ := filepath.Glob(filepath.Join(d, "*.toml"))
			for _, p := range m {
				names = append(names, strings.TrimSuffix(filepath.Base(p), ".toml"))
			}
		}
	case "running":
		if dir, err := privateStateDir(stateDir(), false); err == nil {
			names, _ = runningNames(dir)
		}
	case "commands":
		names = completionCommands()
	case "shells":
		names = []string{"bash", "zsh", "fish"}
	case "serve": // its subcommands; a configuration file otherwise
		names = []string{"status", "disconnect", "stop", "hash-password"}
	default:
		if c, ok := strings.CutPrefix(args[0], "flags:"); ok {
			names = flagsOf(c)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return exitOK
}

// The scripts ask `l2tpvpn __complete WHAT` for everything, so they stay
// small and cannot drift from the binary.

func bashCompletion() string {
	return `# bash completion for l2tpvpn (l2tpvpn completion bash)
_l2tpvpn() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} what
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$(l2tpvpn ` + completeCommand + ` commands 2>/dev/null)" -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(l2tpvpn ` + completeCommand + ` flags:"$cmd" 2>/dev/null)" -- "$cur")
		return
	fi
	case $cmd in
	` + caseArms("\t", ")", " what=", " ;;") + `
	*) return ;;
	esac
	((COMP_CWORD == 2)) || return
	mapfile -t COMPREPLY < <(compgen -W "$(l2tpvpn ` + completeCommand + ` "$what" 2>/dev/null)" -- "$cur")
}
complete -o default -F _l2tpvpn l2tpvpn
`
}

// caseArms writes one shell case arm per command that takes a name.
func caseArms(indent, sep, assign, end string) string {
	var b strings.Builder
	cmds := make([]string, 0, len(takesName))
	for c := range takesName {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	for i, c := range cmds {
		if i > 0 {
			b.WriteString("\n" + indent)
		}
		b.WriteString(c + sep + assign + takesName[c] + end)
	}
	return b.String()
}

func zshCompletion() string {
	return `#compdef l2tpvpn
# zsh completion for l2tpvpn (l2tpvpn completion zsh)
_l2tpvpn() {
	local what
	if (( CURRENT == 2 )); then
		compadd -- ${(f)"$(l2tpvpn ` + completeCommand + ` commands 2>/dev/null)"}
		return
	fi
	if [[ $PREFIX == -* ]]; then
		compadd -- ${(f)"$(l2tpvpn ` + completeCommand + ` flags:$words[2] 2>/dev/null)"}
		return
	fi
	case $words[2] in
	` + caseArms("\t", ")", " what=", " ;;") + `
	*) _files; return ;;
	esac
	(( CURRENT == 3 )) || { _files; return }
	compadd -- ${(f)"$(l2tpvpn ` + completeCommand + ` $what 2>/dev/null)"}
}
compdef _l2tpvpn l2tpvpn
`
}

func fishCompletion() string {
	var b strings.Builder
	b.WriteString("# fish completion for l2tpvpn (l2tpvpn completion fish)\n")
	b.WriteString("complete -c l2tpvpn -f\n")
	b.WriteString("complete -c l2tpvpn -n __fish_use_subcommand -a '(l2tpvpn " + completeCommand + " commands)'\n")
	cmds := make([]string, 0, len(takesName))
	for c := range takesName {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c l2tpvpn -n '__fish_seen_subcommand_from %s; and test (count (commandline -opc)) -eq 2' -a '(l2tpvpn %s %s)'\n",
			c, completeCommand, takesName[c])
	}
	for _, c := range completionCommands() {
		for _, f := range flagsOf(c) {
			if long, ok := strings.CutPrefix(f, "--"); ok {
				fmt.Fprintf(&b, "complete -c l2tpvpn -n '__fish_seen_subcommand_from %s' -l %s\n", c, long)
			} else if short, ok := strings.CutPrefix(f, "-"); ok {
				fmt.Fprintf(&b, "complete -c l2tpvpn -n '__fish_seen_subcommand_from %s' -s %s\n", c, short)
			}
		}
	}
	return b.String()
}
