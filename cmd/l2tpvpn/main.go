// Command l2tpvpn is a userspace L2TP/IPsec VPN client.
//
//	l2tpvpn connect work              # profile ~/.config/l2tpvpn/work.toml
//	l2tpvpn connect work --background # returns once traffic flows
//	l2tpvpn status work --json
//	l2tpvpn disconnect work
//
// It owns flags, profiles, secrets input, the control socket, terminal
// output and exit codes; everything else lives in package vpn.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// Exit codes (documented in README.md).
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitRefused     = 4
	exitAuth        = 5
	exitLinkLost    = 6
	exitNegotiation = 7
	exitHost        = 8
	exitIKENoAnswer = 9
	exitIKEProposal = 10
	exitIKEAuth     = 11
	exitNotRunning  = 12
	exitIPsecDown   = 13 // --ipsec strongswan: charon unreachable, or cannot do IKEv1 or ESP here
	exitInterrupted = 14 // interrupted (Ctrl-C, SIGTERM, disconnect) before the connection was up
	exitPermission  = 15 // not allowed: TUN without root/CAP_NET_ADMIN, a state directory we may not read
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `l2tpvpn — a userspace L2TP/IPsec VPN client

Usage:
  l2tpvpn connect [NAME] [flags]   connect (profile NAME and/or flags); foreground,
                                   or --background to detach once traffic flows
  l2tpvpn status [NAME] [--json]   state of running connections
  l2tpvpn disconnect [NAME]        disconnect a running connection cleanly
  l2tpvpn disconnect --cleanup [NAME]
                                   undo routes, DNS and state left by a client
                                   that was killed
  l2tpvpn version                  print the version
  l2tpvpn help [command]           show help

Profiles: $XDG_CONFIG_HOME/l2tpvpn/NAME.toml (default ~/.config), then
/etc/l2tpvpn/NAME.toml; every key is the connect flag of the same name.
State, control sockets and background logs: /run/l2tpvpn (root only).

Exit codes:
  0  connected and then disconnected cleanly (status/disconnect: success)
  1  internal error
  2  usage or configuration error (bad flag, profile or secret)
  3  L2TP server unreachable          4  tunnel or session refused
  5  PPP authentication failed        6  link lost (and reconnecting gave up)
  7  PPP negotiation failed           8  host setup failed (TUN, routes, DNS)
  9  IKE: no answer from the server   10 IKE: no proposal chosen
  11 IKE: authentication failed (pre-shared key)
  12 no such running connection (status, disconnect)
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "connect":
		return connect(args[1:], stdout, stderr)
	case "status":
		return status(args[1:], stdout, stderr)
	case "disconnect":
		return disconnect(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "l2tpvpn %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		if len(args) > 1 {
			switch args[1] {
			case "connect", "status", "disconnect":
				return run([]string{args[1], "--help"}, stdout, stderr)
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "l2tpvpn: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

func exitCode(err error) int {
	switch vpn.ReasonOf(err) {
	case vpn.ReasonNone:
		return exitOK
	case vpn.ReasonConfig:
		return exitUsage
	case vpn.ReasonUnreachable:
		return exitUnreachable
	case vpn.ReasonRefused:
		return exitRefused
	case vpn.ReasonAuth:
		return exitAuth
	case vpn.ReasonNegotiation:
		return exitNegotiation
	case vpn.ReasonHost:
		return exitHost
	case vpn.ReasonLinkLost:
		return exitLinkLost
	case vpn.ReasonIKENoResponse:
		return exitIKENoAnswer
	case vpn.ReasonIKENoProposal:
		return exitIKEProposal
	case vpn.ReasonIKEAuth:
		return exitIKEAuth
	case vpn.ReasonIPsecUnavailable:
		return exitIPsecDown
	}
	return exitInternal
}
