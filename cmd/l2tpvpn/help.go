package main

// Help texts. Every --help and `help COMMAND` goes to stdout with exit 0;
// mistakes (an unknown command or flag) get one line on stderr, a
// suggestion when one is close, and a pointer to 'l2tpvpn help', exit 2.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// helpWidth is the width every help text fits in.
const helpWidth = 100

const usage = `l2tpvpn — a userspace L2TP/IPsec VPN client

Usage:
  l2tpvpn connect [NAME] [flags]   connect (profile NAME and/or flags); foreground,
                                   or --background to detach once traffic flows;
                                   --dry-run only checks and prints the settings
  l2tpvpn exec [NAME] [flags] -- CMD [ARGS]
                                   connect, run CMD, disconnect; exit with CMD's status
  l2tpvpn status [NAME] [--json]   state of running connections
  l2tpvpn disconnect [NAME]        disconnect a running connection cleanly
  l2tpvpn disconnect --cleanup [NAME]
                                   undo routes, DNS and state left by a client
                                   that was killed
  l2tpvpn list [--json]            profiles found, and which connections are up
  l2tpvpn presets [--json]         server-type and proposal presets and their sources
  l2tpvpn probe SERVER [--json]    what a server accepts (no password needed), and a
                                   profile that would work
  l2tpvpn serve CONFIG [flags]     run an L2TP/IPsec server; see 'l2tpvpn help serve'
  l2tpvpn completion bash|zsh|fish shell completion script (commands, flags, profiles)
  l2tpvpn up ..., l2tpvpn down ... the same as connect and disconnect
  l2tpvpn version                  print the version
  l2tpvpn help [command]           show help (of one command)

Profiles: $XDG_CONFIG_HOME/l2tpvpn/NAME.toml (default ~/.config; under sudo, the
invoking user's), then /etc/l2tpvpn/NAME.toml; every key is the connect flag of
the same name. State, control sockets and background logs: /run/l2tpvpn (root only).

` + exitCodeTable

// exitCodeTable is also in README.md, byte for byte (a test compares them).
const exitCodeTable = `Exit codes:
   0  success: connected, then disconnected cleanly (Ctrl-C, SIGTERM, disconnect);
      --background: up and detached; --dry-run: the settings are valid;
      status, disconnect, list: done (disconnect --all: also when nothing runs)
   1  internal error (also: the background process died before it was up; see its log)
   2  usage or configuration error: bad command, flag, profile or secret; a connection
      of that name is already running
   3  L2TP server unreachable (no answer within the retransmissions: 23 s by default,
      25.5 s for plain L2TP with local-port auto: 2.5 s from an ephemeral port first)
   4  tunnel or session refused by the server (also: a wrong L2TP tunnel secret)
   5  PPP authentication failed (user name, password, or the methods allowed by --auth)
   6  link lost after it was up, and reconnecting was off or gave up
   7  PPP negotiation failed (LCP or IPCP could not agree)
   8  host set-up failed (TUN device, address, routes, DNS)
   9  IKE: no answer from the server (UDP 500/4500 blocked, no IPsec there, wrong address)
  10  IKE: no proposal chosen (the message says what was offered; change --ike or --esp)
  11  IKE: authentication failed (the pre-shared key does not match, or the server did not
      accept our certificate)
  12  status NAME, disconnect NAME: no such running connection
  13  --ipsec strongswan: charon unreachable over VICI, built without IKEv1, or unable to
      install the SA (no ESP in the kernel; kernel-libipsec has no transport mode)
  14  interrupted (Ctrl-C, SIGTERM, disconnect) before the connection was up
  15  permission denied: TUN mode without root or CAP_NET_ADMIN, a state directory or
      control socket we may not use
  16  IKE: the server did not prove its identity (its certificate is from a CA not in ca,
      expired, or names another host; or its ID is not remote-id)
  17  a ready-check did not pass through the new tunnel before it was
      announced up
  18  probe: nothing answers (UDP 500, 4500 and 1701 silent, or the name does not resolve)
  19  probe: the server answers but accepts none of our IKE proposals (or refuses plain
      L2TP)
`

// commands are the command names and aliases run accepts.
var commands = []string{"connect", "up", "exec", "status", "disconnect", "down", "list", "presets", "probe", "serve", "completion", "version", "help"}

// helpFor writes the help of command (or the overview for "") to w and
// returns the exit code: 0, or 2 for a command that does not exist.
func helpFor(command string, stdout, stderr io.Writer) int {
	switch command {
	case "":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "connect", "up", "exec", "status", "disconnect", "down", "list", "presets", "probe", "serve", "completion":
		return run([]string{command, "--help"}, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "Usage: l2tpvpn version\n\nPrints the version.")
		return exitOK
	case "help":
		fmt.Fprintln(stdout, "Usage: l2tpvpn help [command]\n\nShows the overview, or the help of one command.")
		return exitOK
	}
	fmt.Fprintf(stderr, "l2tpvpn: help: %s\n", unknownCommand(command))
	return exitUsage
}

// unknownCommand is the one-line complaint about a command name, with a
// suggestion when one is close and a pointer to the help.
func unknownCommand(name string) string {
	s := fmt.Sprintf("unknown command %q", name)
	if c := closest(name, commands); c != "" {
		s += fmt.Sprintf("; did you mean %q?", c)
	}
	return s + " (run 'l2tpvpn help')"
}

// closest is the candidate within edit distance 2 of s (the nearest), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := profileEditDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// flagError rewrites a flag parsing error of fs for the user: an unknown
// flag gets the nearest flag's name ("did you mean --server?") and every
// error a pointer to the command's help.
func flagError(fs *pflag.FlagSet, err error) error {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() == "" {
		var names []string
		fs.VisitAll(func(fl *pflag.Flag) {
			if !fl.Hidden {
				names = append(names, fl.Name)
			}
		})
		if c := closest(ne.GetSpecifiedName(), names); c != "" {
			return fmt.Errorf("%w; did you mean --%s? (run 'l2tpvpn %s --help')", err, c, fs.Name())
		}
	}
	return fmt.Errorf("%w (run 'l2tpvpn %s --help')", err, fs.Name())
}

// helpGroups orders connect's flags for --help: each flag carries its
// group in the "group" annotation (set by connectFlags).
var helpGroups = []string{
	"Server and credentials",
	"IPsec",
	"PPP and the interface",
	"Routes and DNS",
	"Proxy mode (no root)",
	"Timers and reconnect",
	"Hooks",
	"Monitoring",
	"Output and running (command line only)",
}

// shortDefaults replaces defaults too long for a help line; the README
// lists them whole.
var shortDefaults = map[string]string{
	"ike": "[aes256-sha256-modp2048,aes128-sha256-modp2048,... 10 in all; see README or --dry-run]",
	"esp": "[aes256gcm16,aes128gcm16,aes256-sha256,... 10 in all; see README or --dry-run]",
}

const connectUsage = `Usage: l2tpvpn connect [NAME] [flags]     (alias: l2tpvpn up)

Connects and stays in the foreground until interrupted (Ctrl-C disconnects cleanly),
or with --background detaches once traffic can flow. NAME is a profile:
$XDG_CONFIG_HOME/l2tpvpn/NAME.toml (default ~/.config; under sudo, the invoking user's),
then /etc/l2tpvpn/NAME.toml, or a path (./work.toml; work.toml falls back to the
profile work if there is no such file). Every profile key is the flag of the same
name, and flags given here win over the profile. Secrets (--password, --psk,
--l2tp-secret) take env:VAR, file:PATH or prompt; one that is missing is asked for
when stdin is a terminal.

Output: events on stdout (one line each, or JSON with --json), warnings and the
debug log (-v) on stderr; with --background the detached process logs to
/run/l2tpvpn/NAME.log.

Examples:
  l2tpvpn connect work
  l2tpvpn connect work --dry-run
  l2tpvpn connect work --background --json
  l2tpvpn connect --server 192.0.2.1 --user alice --password prompt --psk env:VPN_PSK
`

// connectHelp is connect's --help: its flags by group, within helpWidth.
func connectHelp(fs *pflag.FlagSet) string {
	var b strings.Builder
	b.WriteString(connectUsage)
	for _, g := range helpGroups {
		sub := pflag.NewFlagSet(g, pflag.ContinueOnError)
		sub.SortFlags = false
		fs.VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden || len(fl.Annotations["group"]) == 0 || fl.Annotations["group"][0] != g {
				return
			}
			c := *fl
			if d, ok := shortDefaults[fl.Name]; ok {
				c.DefValue = d
			}
			sub.AddFlag(&c)
		})
		if !sub.HasFlags() {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n%s", g, sub.FlagUsagesWrapped(helpWidth))
	}
	b.WriteString("\n" + exitCodeTable)
	return b.String()
}
