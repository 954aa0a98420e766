// Command l2tpvpn is a userspace L2TP VPN client.
//
//	l2tpvpn connect --server HOST[:PORT] --user NAME --password-env VAR --ipsec=off
//
// It owns flags, secrets input, terminal output and exit codes; everything
// else lives in package vpn.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `l2tpvpn — a userspace L2TP VPN client

Usage:
  l2tpvpn connect [flags]     connect and stay in the foreground until interrupted
  l2tpvpn version             print the version
  l2tpvpn help [command]      show help

Run 'l2tpvpn connect --help' for the connect flags.
Exit codes: 0 clean disconnect, 1 internal error, 2 usage or configuration error,
3 server unreachable, 4 tunnel or session refused by the server, 5 PPP authentication
failed, 6 link lost after it was up, 7 PPP negotiation failed, 8 host setup failed
(TUN device, addresses, routes).
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "connect":
		return connect(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "l2tpvpn %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "connect" {
			return connect([]string{"--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "l2tpvpn: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

func connect(args []string, stdout, stderr io.Writer) int {
	opts, err := parseConnect(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitUsage
	}
	out := newOutput(stdout, opts.json)
	cfg, err := opts.config(stderr, out.event)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := vpn.Connect(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			out.line("interrupted during connect: disconnected")
			return exitOK
		}
		out.failure(err)
		return exitCode(err)
	}
	select {
	case <-ctx.Done():
		err = c.Close()
	case <-c.Done():
		err = c.Wait()
	}
	if err != nil {
		out.failure(err)
		return exitCode(err)
	}
	return exitOK
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
	}
	return exitInternal
}
