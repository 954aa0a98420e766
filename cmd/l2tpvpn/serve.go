package main

// l2tpvpn serve: the userspace L2TP/IPsec server (package server).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/server"
)

const serveHelp = `Usage: l2tpvpn serve CONFIG [--json] [-v]
       l2tpvpn serve status [--json]
       l2tpvpn serve disconnect --client USER|ADDRESS
       l2tpvpn serve stop
       l2tpvpn serve hash-password        (reads a password on stdin)

Runs an L2TP/IPsec server in userspace: IKEv1 Main Mode + Quick Mode with a
pre-shared key (NAT-T), ESP, L2TP (LNS) and PPP (MS-CHAPv2, CHAP-MD5, PAP;
IPCP with an address from the pool and DNS servers) on one TUN device, with
a /32 route to each client. It needs /dev/net/tun and CAP_NET_ADMIN (and
CAP_NET_BIND_SERVICE for ports 500, 4500, 1701).

CONFIG is a TOML file (see examples/serve.toml); its users file (TOML,
mode 0600) holds each user's nt-hash (enough for MS-CHAPv2, and what to
store) or password (needed for CHAP-MD5 and PAP) and optional fixed address.
SIGHUP reloads the users file without dropping anyone; SIGINT or SIGTERM
disconnect every client and stop.

With --json the events (serve.up, client.up, client.down with a reason,
users.reloaded or users.reload-failed, serve.down) are NDJSON on stdout.

Flags:
`

func serve(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return serveStatusCmd(args[1:], stdout, stderr)
		case "disconnect":
			return serveDisconnectCmd(args[1:], stdout, stderr)
		case "stop":
			return serveStopCmd(stdout, stderr)
		case "hash-password":
			return hashPasswordCmd(stdout, stderr)
		}
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	jsonOut := fs.Bool("json", false, "events as NDJSON on stdout")
	verbose := fs.BoolP("verbose", "v", false, "debug log on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, serveHelp+fs.FlagUsages())
			return exitOK
		}
		fmt.Fprintf(stderr, "l2tpvpn serve: %v (run 'l2tpvpn serve --help')\n", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "l2tpvpn serve: one configuration file, please (run 'l2tpvpn serve --help')")
		return exitUsage
	}
	cfg, err := server.LoadConfig(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitUsage
	}
	pool, err := cfg.NewPool()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %s: pool: %v\n", cfg.Path, err)
		return exitUsage
	}
	users, err := server.OpenUsers(cfg.Users, pool)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitUsage
	}
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		fmt.Fprintln(stderr, "l2tpvpn serve: needs root or CAP_NET_ADMIN (a TUN device and routes)")
		return exitPermission
	}
	dir := cfg.StateDir
	if dir == "" {
		dir = stateDir()
	}
	if dir, err = privateStateDir(dir, true); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitHost
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	enc := json.NewEncoder(stdout)
	var emit func(server.Event)
	dpd := cfg.DPDDelay
	if dpd == 0 {
		dpd = -1 // no probes of ours
	}
	opt := server.Options{
		Listen: cfg.Listen, PSK: cfg.PSK, IKE: cfg.IKEProposals, ESP: cfg.ESPProposals, Modes: cfg.ESPModes,
		AllowPlain: cfg.AllowPlainL2TP, AllowPAPPlain: cfg.AllowPAPPlain,
		ServerIP: cfg.ServerIP, Pool: pool, DNS: cfg.DNS, WINS: cfg.WINS, MTU: cfg.MTU, MRU: uint16(cfg.MRU),
		Interface: cfg.Interface, Auth: cfg.Auth, Lookup: users.Lookup, UserKey: func(u string) string {
			if name, ok := users.Users().Name(u); ok {
				return name
			}
			return u
		},
		L2TPSecret: cfg.L2TPSecret, HostName: cfg.HostName, MaxClients: cfg.MaxClients, DPDDelay: dpd,
		Logger: log,
	}
	var outMu sync.Mutex
	emit = func(ev server.Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		outMu.Lock()
		defer outMu.Unlock()
		if *jsonOut {
			enc.Encode(ev)
			return
		}
		fmt.Fprintln(stdout, serveEventLine(ev))
	}
	opt.OnEvent = emit
	srv, err := server.New(opt)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		if errors.Is(err, os.ErrPermission) {
			return exitPermission
		}
		return exitHost
	}
	var nat *natRule
	if cfg.NAT {
		if nat, err = addNAT(cfg.Pool, cfg.NATOut); err != nil {
			fmt.Fprintf(stderr, "l2tpvpn serve: nat: %v\n", err)
			srv.Close()
			srv.Run(context.Background())
			return exitHost
		}
		defer nat.remove(log)
	}
	ctl, err := listenServeControl(dir, srv, cfg.Path)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		srv.Close()
		srv.Run(context.Background())
		return exitHost
	}
	defer ctl.close()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				if err := users.Reload(); err != nil {
					log.Warn("users file not reloaded; the previous users stay", "err", err)
					emit(server.Event{Event: "users.reload-failed", Error: err.Error()})
				} else {
					log.Info("users file reloaded", "users", users.Users().Len())
					emit(server.Event{Event: "users.reloaded"})
				}
				continue
			}
			srv.Close()
		}
	}()
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitInternal
	}
	return exitOK
}

// serveEventLine is an event for a terminal.
func serveEventLine(ev server.Event) string {
	switch ev.Event {
	case "serve.up":
		return "serving"
	case "client.up":
		alg := "plain L2TP"
		if ev.IPsec != "" {
			alg = "ipsec " + ev.IPsec
		}
		return fmt.Sprintf("client up: %s from %s, address %s, %s, %s", ev.User, ev.Outer, ev.Inner, ev.Auth, alg)
	case "client.down":
		s := fmt.Sprintf("client down: %s from %s (%s)", ev.User, ev.Outer, ev.Reason)
		if ev.Error != "" {
			s += ": " + ev.Error
		}
		return s
	case "serve.down":
		return "stopped"
	case "users.reloaded":
		return "users file reloaded"
	case "users.reload-failed":
		return "users file NOT reloaded (the previous users stay): " + ev.Error
	}
	return ev.Event
}

func serveStatusCmd(args []string, stdout, stderr io.Writer) int {
	jsonOut := len(args) == 1 && args[0] == "--json"
	if len(args) > 0 && !jsonOut {
		fmt.Fprintln(stderr, "usage: l2tpvpn serve status [--json]")
		return exitUsage
	}
	dir, _ := privateStateDir(stateDir(), false)
	st, err := queryServe(dir)
	if err != nil {
		return serveCtlError(err, stderr)
	}
	if jsonOut {
		json.NewEncoder(stdout).Encode(st)
		return exitOK
	}
	fmt.Fprintf(stdout, "serving since %s (pid %d, %s), %d client(s)\n", st.Since.Format(time.RFC3339), st.PID, st.Config, len(st.Clients))
	if len(st.Clients) > 0 {
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "USER\tFROM\tADDRESS\tIPSEC\tAUTH\tUPTIME\tIN\tOUT")
		for _, c := range st.Clients {
			alg := c.IPsec
			if alg == "" {
				alg = "none (plain L2TP)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", c.User, c.Outer, c.Inner, alg, c.Auth,
				time.Since(c.Since).Round(time.Second), c.BytesIn, c.BytesOut)
		}
		w.Flush()
	}
	return exitOK
}

func serveDisconnectCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve disconnect", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	who := fs.String("client", "", "the user name or tunnel address of the client to disconnect")
	if err := fs.Parse(args); err != nil || *who == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: l2tpvpn serve disconnect --client USER|ADDRESS")
		return exitUsage
	}
	dir, _ := privateStateDir(stateDir(), false)
	var r serveReply
	if err := callServe(dir, serveRequest{Cmd: "disconnect", Who: *who}, &r); err != nil {
		return serveCtlError(err, stderr)
	}
	fmt.Fprintf(stdout, "disconnecting %d client(s) of %s\n", r.Count, *who)
	return exitOK
}

func serveStopCmd(stdout, stderr io.Writer) int {
	dir, _ := privateStateDir(stateDir(), false)
	if err := callServe(dir, serveRequest{Cmd: "stop"}, nil); err != nil {
		return serveCtlError(err, stderr)
	}
	fmt.Fprintln(stdout, "stopping")
	return exitOK
}

func serveCtlError(err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, errNotRunning):
		fmt.Fprintln(stderr, "l2tpvpn serve: no server is running")
		return exitNotRunning
	case errors.Is(err, errPermission):
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitPermission
	}
	fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
	return exitUsage
}

// hashPasswordCmd prints the NT hash of the password on stdin's first
// line, for the users file's nt-hash.
func hashPasswordCmd(stdout, stderr io.Writer) int {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(stderr, "l2tpvpn serve hash-password: no password on stdin")
		return exitUsage
	}
	fmt.Fprintln(stdout, server.HashPassword(strings.TrimRight(line, "\r\n")))
	return exitOK
}
