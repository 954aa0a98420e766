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
	exitIKEServerID = 16 // IKE: the server's certificate or identity did not verify
	exitReadyCheck  = 17 // a ready-check failed through the new tunnel
	exitProbeSilent = 18 // probe: nothing answers on UDP 500, 4500 or 1701
	exitProbeDenied = 19 // probe: the server answers but accepts none of our proposals
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	stop := startCPUProfile(os.Stderr)
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "connect", "up":
		return connect(args[1:], stdout, stderr)
	case "status":
		return status(args[1:], stdout, stderr)
	case "disconnect", "down":
		return disconnect(args[1:], stdout, stderr)
	case "list":
		return list(args[1:], stdout, stderr)
	case "presets":
		return presets(args[1:], stdout, stderr)
	case "probe":
		return probe(args[1:], stdout, stderr)
	case "exec":
		return execCommand(args[1:], stdout, stderr)
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "completion":
		return completion(args[1:], stdout, stderr)
	case completeCommand:
		return completeNames(args[1:], stdout)
	case manCommand:
		return manPage(args[1:], stdout, stderr)
	case netnsCommand:
		return netnsHolder(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "l2tpvpn %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		switch len(args) {
		case 1:
			return helpFor("", stdout, stderr)
		case 2:
			return helpFor(args[1], stdout, stderr)
		}
		fmt.Fprintln(stderr, "l2tpvpn: help takes one command at most (run 'l2tpvpn help')")
		return exitUsage
	default:
		fmt.Fprintf(stderr, "l2tpvpn: %s\n", unknownCommand(args[0]))
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
	case vpn.ReasonInterrupted:
		return exitInterrupted
	case vpn.ReasonIKEServerIdentity:
		return exitIKEServerID
	case vpn.ReasonReadyCheck:
		return exitReadyCheck
	}
	return exitInternal
}
