package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/tun"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

func status(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON (one object for NAME, else an array)")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: l2tpvpn status [NAME] [--json]\n\nShows the state of running connections (the word \"up\" when connected),\naddresses, routes, DNS, algorithms, uptime, traffic and reconnects.\nExit code 12 when NAME is not running.\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", flagError(fs, err))
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "l2tpvpn: status takes at most one connection name")
		return exitUsage
	}
	dir, err := privateStateDir(stateDir(), false)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return controlExit(err)
	}
	if fs.NArg() == 1 {
		name := fs.Arg(0)
		st, err := queryStatus(dir, name)
		if err != nil {
			if errors.Is(err, errNotRunning) {
				last, _ := readLastFailure(dir, name) // a record we cannot read is none
				switch {
				case *asJSON:
					json.NewEncoder(stdout).Encode(downStatus{vpn.Status{Name: name, State: vpn.StateDown}, last})
				case last != nil:
					fmt.Fprintln(stdout, downSinceLine(name, last))
				default:
					fmt.Fprintf(stdout, "%s: not running\n", name)
				}
				return exitNotRunning
			}
			fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
			return controlExit(err)
		}
		if *asJSON {
			json.NewEncoder(stdout).Encode(st)
		} else {
			printStatus(stdout, st)
		}
		return exitOK
	}
	names, err := runningNames(dir)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return controlExit(err)
	}
	all := []vpn.Status{}
	for _, name := range names {
		if st, err := queryStatus(dir, name); err == nil {
			all = append(all, st)
		}
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(all)
		return exitOK
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "no connections running")
	}
	for i, st := range all {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printStatus(stdout, st)
	}
	return exitOK
}

// downStatus is status --json of a connection that is not running: with
// how its last run failed, if it did (lastfailure.go).
type downStatus struct {
	vpn.Status
	LastFailure *lastFailure `json:"last_failure,omitempty"`
}

func printStatus(w io.Writer, st vpn.Status) {
	fmt.Fprintf(w, "%s: %s\n", st.Name, st.State)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-11s %s\n", k, v)
		}
	}
	row("server", st.Server)
	row("waiting for", st.WaitingFor)
	row("local", st.Local)
	if st.Interface != "" {
		row("interface", fmt.Sprintf("%s  %s peer %s  mtu %d", st.Interface, st.IP, orNone(st.Peer), st.MTU))
	}
	row("proxy", proxyStatusText(st)) // proxyopts.go
	if st.Routing != "" {
		row("routing", st.Routing)
		for _, r := range st.Routes {
			fmt.Fprintf(w, "  %-11s %s\n", "", r)
		}
	}
	row("l2tp peer", l2tpPeerText(st.PeerVendor, st.PeerHost, st.PeerFirmware))
	row("ipv6", st.IPv6)
	if len(st.DNS) > 0 {
		via := ""
		if st.DNSVia != "" {
			via = " via " + st.DNSVia
		}
		row("dns", strings.Join(st.DNS, " ")+via)
	}
	row("wins", strings.Join(st.WINS, " "))
	row("dns search", strings.Join(st.Search, " "))
	if st.DHCP != nil {
		row("dhcp", strings.TrimPrefix(dhcpLine(vpn.Event{Server: st.DHCP.Server, Routes: st.DHCP.Routes, Domain: st.DHCP.Domain,
			Search: st.DHCP.Search, DNS: st.DHCP.DNS, WINS: st.DHCP.WINS}), "dhcp "))
	}
	row("auth", st.Auth)
	if ch := st.Charon; ch != nil {
		row("ipsec", "delegated to strongSwan's charon ("+ch.Socket+")")
		if i := ch.IKE; i != nil {
			row("ike sa", fmt.Sprintf("%s #%s %s, %s, %s -> %s, spis %s", i.Name, i.UniqueID, i.State, i.Alg, i.Local, i.Remote, i.SPIs))
		}
		if c := ch.Child; c != nil {
			row("child sa", fmt.Sprintf("%s #%s %s, %s, %s mode, spi in %s out %s, %d/%d bytes in/out",
				c.Name, c.UniqueID, c.State, c.Alg, c.Mode, c.SPIIn, c.SPIOut, c.BytesIn, c.BytesOut))
		} else {
			row("child sa", "none installed")
		}
	} else if st.IPsec == "strongswan" {
		row("ipsec", "delegated to strongSwan's charon (no answer from charon)")
	} else if st.IPsec == "off" {
		row("ipsec", "off: plain L2TP, traffic is not encrypted")
	}
	if st.IKE != "" && st.Charon == nil {
		row("ike", fmt.Sprintf("%s, nat-t %s", st.IKE, orNone(st.NATT)))
		row("esp", fmt.Sprintf("%s, %s mode", st.ESP, st.ESPMode))
		if st.PeerID != "" {
			row("ids", fmt.Sprintf("ours %s, the server's %s", orNone(st.LocalID), st.PeerID))
		}
	}
	if st.State == vpn.StateUp {
		row("uptime", fmt.Sprintf("%s (since %s)", (time.Duration(st.UptimeS)*time.Second).String(), st.Since.Local().Format(time.DateTime)))
	}
	row("sent", fmt.Sprintf("%d packets, %d bytes", st.Stats.TxPackets, st.Stats.TxBytes))
	row("received", fmt.Sprintf("%d packets, %d bytes", st.Stats.RxPackets, st.Stats.RxBytes))
	rc := fmt.Sprint(st.Reconnect.Count)
	if st.Reconnect.Attempt > 0 {
		rc += fmt.Sprintf(", now attempt %d", st.Reconnect.Attempt)
	}
	if st.Reconnect.Last != "" {
		rc += " (last: " + st.Reconnect.Last + ")"
	}
	row("reconnects", rc)
	row("pid", fmt.Sprint(st.PID))
}

func disconnect(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("disconnect", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cleanup := fs.Bool("cleanup", false, "also repair the host after a client that was killed: undo its routes and DNS from /run/l2tpvpn")
	all := fs.Bool("all", false, "disconnect every running connection")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the connection to go down")
	serveClient := fs.String("client", "", "l2tpvpn serve: disconnect this client of the running server (user name or tunnel address)")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: l2tpvpn disconnect [NAME] [--all] [--cleanup]\n       l2tpvpn disconnect --client USER|ADDRESS   (a client of l2tpvpn serve)\n\nDisconnects cleanly and waits until routes, DNS and the interface are\nrestored. Without NAME: the only running connection. With --cleanup,\nconnections whose process is gone (crash, SIGKILL) have their host\nchanges undone from the journal in /run/l2tpvpn.\nExit code 12 when there is nothing to disconnect (--all: 0).\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", flagError(fs, err))
		return exitUsage
	}
	if *serveClient != "" {
		if fs.NArg() > 0 || *all || *cleanup {
			fmt.Fprintln(stderr, "l2tpvpn: --client is for the running server's clients; it takes no NAME, --all or --cleanup")
			return exitUsage
		}
		return serveDisconnectCmd([]string{"--client", *serveClient}, stdout, stderr)
	}
	dir, err := privateStateDir(stateDir(), false)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return controlExit(err)
	}
	var names []string
	switch {
	case fs.NArg() > 1:
		fmt.Fprintln(stderr, "l2tpvpn: disconnect takes at most one connection name")
		return exitUsage
	case fs.NArg() == 1:
		names = []string{fs.Arg(0)}
	default:
		if names, err = runningNames(dir); err != nil {
			fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
			return controlExit(err)
		}
		if *cleanup {
			j, _ := tun.Journals(dir)
			names = union(union(names, j), vpn.CharonRecords(dir))
		}
		if len(names) > 1 && !*all && !*cleanup {
			fmt.Fprintf(stderr, "l2tpvpn: several connections are running (%s): name one, or use --all\n", strings.Join(names, ", "))
			return exitUsage
		}
	}
	code := exitOK
	did := false
	for _, name := range names {
		err := requestDisconnect(dir, name, *timeout)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "%s: disconnected\n", name)
			did = true
			continue
		case !errors.Is(err, errNotRunning):
			fmt.Fprintf(stderr, "l2tpvpn: %s: %v\n", name, err)
			code = controlExit(err)
			continue
		}
		if !*cleanup {
			fmt.Fprintf(stderr, "l2tpvpn: connection %q is not running (after a crash, 'l2tpvpn disconnect --cleanup %s' repairs the host)\n", name, name)
			code = exitNotRunning
			continue
		}
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		done, inCharon, err := vpn.CleanupCharon(dir, name, logger)
		if err != nil {
			fmt.Fprintf(stderr, "l2tpvpn: %s: cleanup in charon: %v\n", name, err)
			code = exitIPsecDown
		} else if inCharon {
			fmt.Fprintf(stdout, "%s: undone: %s\n", name, done)
		}
		undone, err := tun.Cleanup(dir, name, logger)
		if inCharon && errors.Is(err, tun.ErrNoJournal) {
			err = nil // killed before it changed the host: only charon had something
		}
		os.Remove(socketPath(dir, name))
		if errors.Is(err, tun.ErrNoJournal) && !inCharon {
			// Nothing left behind (it ended cleanly, or never changed
			// the host): not an error, nothing to do.
			fmt.Fprintf(stdout, "%s: not running, nothing to clean up\n", name)
			continue
		}
		for _, u := range undone {
			fmt.Fprintf(stdout, "%s: undone: %s\n", name, u)
		}
		if err != nil {
			fmt.Fprintf(stderr, "l2tpvpn: %s: cleanup: %v\n", name, err)
			code = exitHost
			continue
		}
		fmt.Fprintf(stdout, "%s: cleaned up\n", name)
		did = true
	}
	if !did && code == exitOK {
		fmt.Fprintln(stdout, "nothing to disconnect")
		if *all {
			return exitOK // --all: nothing running is the state asked for
		}
		return exitNotRunning
	}
	return code
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(a, b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// controlExit is the exit code of status or disconnect for err: 15 when
// this user may not see or control the connection, else internal.
func controlExit(err error) int {
	if errors.Is(err, errPermission) {
		return exitPermission
	}
	return exitInternal
}
