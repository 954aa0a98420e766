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
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/server"
)

const serveHelp = `Usage: l2tpvpn serve CONFIG [--background] [--json] [-v]
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
With --background it detaches once serve.up happened and prints "serving
(pid N), log: PATH" (the log is serve.log in the state directory), or the
start-up error with its exit code.

Flags:
`

// serveOpts are serve's flags.
type serveOpts struct {
	config     string
	json       bool
	verbose    bool
	background bool
	child      bool // the detached half of --background (servebg.go)
}

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
	o, code, done := parseServe(args, stdout, stderr)
	if done {
		return code
	}
	if o.child {
		return serveChild(o, stderr) // servebg.go
	}
	if !o.background {
		cfg, err := server.LoadConfig(o.config)
		if err != nil {
			fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
			return exitUsage
		}
		return runServe(o, cfg, stdout, stderr, nil)
	}
	// --background: the env: secrets are read here (and removed from our
	// environment) and handed to the detached half over a pipe.
	env := newEnvCapture()
	defer env.clear()
	cfg, err := server.LoadConfigEnv(o.config, env.lookup)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitUsage
	}
	_, _, dir, code, err := serveChecks(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return code
	}
	return serveDetach(o, dir, env, stdout, stderr)
}

// parseServe reads serve's flags; done says to exit with code (help, or a
// usage error).
func parseServe(args []string, stdout, stderr io.Writer) (o *serveOpts, code int, done bool) {
	o = &serveOpts{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.json, "json", false, "events as NDJSON on stdout (--background: the serve.up line)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "debug log on stderr (--background: in the log)")
	fs.BoolVar(&o.background, "background", false, "detach once serving; log to STATE_DIR/serve.log")
	fs.BoolVar(&o.child, serveChildFlag, false, "internal to --background")
	fs.MarkHidden(serveChildFlag)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, serveHelp+fs.FlagUsagesWrapped(helpWidth))
			return nil, exitOK, true
		}
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", flagError(fs, err))
		return nil, exitUsage, true
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "l2tpvpn serve: one configuration file, please (run 'l2tpvpn serve --help')")
		return nil, exitUsage, true
	}
	if o.child && o.background {
		fmt.Fprintf(stderr, "l2tpvpn serve: --%s is internal to --background\n", serveChildFlag)
		return nil, exitUsage, true
	}
	o.config = fs.Arg(0)
	return o, exitOK, false
}

// serveChecks is what is checked before anything is changed on the host:
// the pool, the users file, the permission to make a TUN device, the state
// directory (created), no server running already. It returns the exit
// code for its error.
func serveChecks(cfg *server.Config) (*server.Pool, *server.UsersFile, string, int, error) {
	pool, err := cfg.NewPool()
	if err != nil {
		return nil, nil, "", exitUsage, fmt.Errorf("%s: pool: %w", cfg.Path, err)
	}
	users, err := server.OpenUsers(cfg.Users, pool)
	if err != nil {
		return nil, nil, "", exitUsage, err
	}
	if !tunAllowed(os.Geteuid(), readProcStatus()) {
		return nil, nil, "", exitPermission, errors.New("needs root or CAP_NET_ADMIN (a TUN device and routes)")
	}
	dir := cfg.StateDir
	if dir == "" {
		dir = stateDir()
	}
	if dir, err = privateStateDir(dir, true); err != nil {
		if errors.Is(err, errPermission) {
			return nil, nil, "", exitPermission, err
		}
		return nil, nil, "", exitHost, err
	}
	if st, err := queryServe(dir); err == nil {
		return nil, nil, "", exitUsage, fmt.Errorf("a server is already running (pid %d, %s); see 'l2tpvpn serve status'", st.PID, st.Config)
	}
	return pool, users, dir, exitOK, nil
}

// runServe serves cfg until SIGINT, SIGTERM or 'serve stop'. ready (nil
// in the foreground) hears once how the start went: serve.up, or the
// error and exit code of a failed start.
func runServe(o *serveOpts, cfg *server.Config, stdout, stderr io.Writer, ready func(serveReadyMsg)) int {
	if ready == nil {
		ready = func(serveReadyMsg) {}
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		ready(serveReadyMsg{Exit: code, Error: err.Error()})
		return code
	}
	// Signals are caught from the start: one that comes while the TUN
	// device and the sockets are being set up stops the server once it is
	// up, rather than killing it half-way (with the NAT rules in place).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer func() { signal.Stop(sigs); close(sigs) }()
	var stopping atomic.Bool
	stop, hup := make(chan struct{}), make(chan struct{}, 1)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				select {
				case hup <- struct{}{}:
				default:
				}
			} else if stopping.CompareAndSwap(false, true) {
				close(stop)
			}
		}
	}()

	pool, users, dir, code, err := serveChecks(cfg)
	if err != nil {
		return fail(code, err)
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	enc := json.NewEncoder(stdout)
	// live: set up completely. A start that fails after server.New still
	// runs the server to undo it, and its serve.up and serve.down are not
	// reported.
	var live atomic.Bool
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
		IKELifetime: cfg.IKELifetime, ESPLifetime: cfg.ESPLifetime,
		Logger: log,
	}
	var outMu sync.Mutex
	emit := func(ev server.Event) {
		if !live.Load() {
			return
		}
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		ev.V = server.EventSchema
		if ev.Event == "serve.up" {
			if stopping.Load() {
				ready(serveReadyMsg{Exit: exitInterrupted, Error: "interrupted before it was up"})
			} else {
				ready(serveReadyMsg{Up: &ev})
			}
		}
		outMu.Lock()
		defer outMu.Unlock()
		if o.child {
			// The log: package server records client.up and client.down
			// itself, the reloads are logged where they happen.
			if ev.Event == "serve.up" || ev.Event == "serve.down" {
				log.Info(serveEventLine(ev))
			}
			return
		}
		if o.json {
			enc.Encode(ev)
			return
		}
		fmt.Fprintln(stdout, serveEventLine(ev))
	}
	opt.OnEvent = emit
	srv, err := server.New(opt)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fail(exitPermission, err)
		}
		return fail(exitHost, err)
	}
	var nat *natRule
	if cfg.NAT {
		if nat, err = addNAT(cfg.Pool, cfg.NATOut); err != nil {
			srv.Close()
			srv.Run(context.Background())
			return fail(exitHost, fmt.Errorf("nat: %w", err))
		}
		defer nat.remove(log)
	}
	ctl, err := listenServeControl(dir, srv, cfg.Path)
	if err != nil {
		srv.Close()
		srv.Run(context.Background())
		return fail(exitHost, err)
	}
	defer ctl.close()

	running := make(chan struct{})
	defer close(running)
	go func() {
		for {
			select {
			case <-hup:
				if err := users.Reload(); err != nil {
					log.Warn("users file not reloaded; the previous users stay", "err", err)
					emit(server.Event{Event: "users.reload-failed", Error: err.Error()})
				} else {
					log.Info("users file reloaded", "users", users.Users().Len())
					emit(server.Event{Event: "users.reloaded"})
				}
			case <-stop:
				srv.Close()
				return
			case <-running:
				return
			}
		}
	}()
	live.Store(true)
	if err := srv.Run(context.Background()); err != nil {
		return fail(exitInternal, err)
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
