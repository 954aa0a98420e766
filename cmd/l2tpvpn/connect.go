package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// File descriptors the detached half of --background inherits. The secrets
// go through a pipe, never through its arguments or environment (which other
// processes can read in /proc/PID/cmdline and, as the same user, environ):
// the foreground half resolves them, which also removes an env:VAR variable
// from its environment before the child is started.
const (
	readyFD   = 3 // it writes one readyMsg line here
	secretsFD = 4 // it reads the resolved secrets here (secretsWire), once
)

// readyMsg tells the waiting foreground half how the first connect ended.
type readyMsg struct {
	Up    *vpn.Event `json:"up,omitempty"`
	Exit  int        `json:"exit"`
	Error string     `json:"error,omitempty"`
	PID   int        `json:"pid"`
	Down  *jsonEvent `json:"down,omitempty"` // when not up: the final down event
}

func connect(args []string, stdout, stderr io.Writer) int {
	return connectWith(args, stdout, stderr, nil)
}

// connectWith is connect; with ns (exec --netns) the packets go to a TUN
// device in the command's namespace and the command runs once up.
func connectWith(args []string, stdout, stderr io.Writer, ns *netnsSpec) (code int) {
	o, err := parseConnect(args, stderr)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, connectHelp(o.fs))
		return exitOK
	}
	child := o != nil && o.daemonChild
	if child {
		stdout, stderr = childOutputs(stderr) // one format in its log: see childlog.go
	}
	out := newOutput(stdout, o) // with --json: ends with one down event
	defer func() { code = out.end(code) }()
	stderr = out.errorLines(stderr)
	if !child {
		out.warn = stderr // hook failures (the detached half logs them)
	}
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitUsage
	}
	if !o.daemonChild && !o.dryRun {
		dir, _ := privateStateDir(stateDir(), false)
		if st, err := queryStatus(dir, o.name); err == nil {
			fmt.Fprintf(stderr, "l2tpvpn: connection %q is already running (pid %d, %s); see 'l2tpvpn status %s'\n", o.name, st.PID, st.State, o.name)
			return exitUsage
		}
	}
	var secrets *resolvedSecrets
	if o.daemonChild {
		if secrets, err = readSecretsFD(); err != nil {
			fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
			return exitInternal
		}
	}
	cfg, err := o.config(stderr, out.event, secrets)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitUsage
	}
	if ns != nil {
		if cfg.Mode != vpn.ModeTUN {
			fmt.Fprintln(stderr, "l2tpvpn exec: --netns and --proxy do not go together (--netns gives the command a TUN device of its own)")
			return exitUsage
		}
		cfg.Mode = vpn.ModeNetns
	}
	if o.dryRun {
		return dryRun(o, cfg, out, stdout) // see dryrun.go
	}
	// Before anything is sent: the TUN device and the routes come last,
	// and failing there would waste a whole handshake with the server.
	if cfg.Mode == vpn.ModeTUN && !tunAllowed(os.Geteuid(), readProcStatus()) {
		fmt.Fprintln(stderr, errNeedRoot)
		return exitPermission
	}
	if cfg.StateDir, err = privateStateDir(stateDir(), true); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		if errors.Is(err, errPermission) {
			return exitPermission
		}
		return exitHost
	}
	if o.background && !o.daemonChild {
		return detach(o, cfg.StateDir, args, o.secrets, out, stderr)
	}
	if ns != nil {
		n, err := startNetns(ns.argv, scrubbedEnv(os.Environ(), o), cfg.StateDir, cfg.Interface)
		if err != nil {
			fmt.Fprintf(stderr, "l2tpvpn exec: %v\n", err)
			if errors.Is(err, errPermission) {
				return exitPermission
			}
			return exitHost
		}
		defer n.close()
		cfg.Device, o.netns = n, n
	}
	return runForeground(o, cfg, out, stderr)
}

// errNeedRoot: creating a TUN device and changing routes needs root or
// CAP_NET_ADMIN.
var errNeedRoot = errors.New("l2tpvpn needs root or CAP_NET_ADMIN for TUN mode (try sudo, or --proxy: proxy mode needs no root)")

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// tunAllowed says whether a process of effective uid euid, whose
// /proc/self/status is procStatus, may create a TUN device: root, or
// CAP_NET_ADMIN in its effective set (CapEff).
func tunAllowed(euid int, procStatus []byte) bool {
	if euid == 0 {
		return true
	}
	for line := range strings.Lines(string(procStatus)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<capNetAdmin) != 0
		}
	}
	return false
}

func readProcStatus() []byte {
	b, _ := os.ReadFile("/proc/self/status")
	return b
}

// runForeground connects and serves the control socket until the
// connection ends; Ctrl-C or SIGTERM disconnect cleanly. How it ended is
// kept for status (lastfailure.go).
func runForeground(o *connectOpts, cfg vpn.Config, out *output, stderr io.Writer) (code int) {
	dir, err := cfg.StateDir, error(nil)
	recorded := false
	record := func(code int) {
		if !recorded {
			recorded = true
			recordEnd(dir, o.name, out, code)
		}
	}
	defer func() { record(code) }()
	var srv *controlServer
	ready := func(m readyMsg) {}
	if o.daemonChild {
		f := os.NewFile(readyFD, "ready")
		ready = func(m readyMsg) {
			if m.Up == nil {
				// Before the foreground half exits, since a status may
				// follow at once: no socket answering "connecting", and
				// the record in place.
				if srv != nil {
					srv.close()
				}
				record(m.Exit)
			}
			m.PID = os.Getpid()
			if m.Up == nil {
				d := out.downEvent(m.Exit)
				m.Down = &d
			}
			json.NewEncoder(f).Encode(m)
			f.Close()
		}
	}
	srv, err = listenControl(dir, o.name, cfg.Server)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		ready(readyMsg{Exit: exitHost, Error: err.Error()})
		return exitHost
	}
	defer srv.close()
	stopMetrics, err := o.startMetrics(&cfg, srv.status) // metrics.go
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		ready(readyMsg{Exit: exitHost, Error: err.Error()})
		return exitHost
	}
	defer stopMetrics()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	// 'l2tpvpn disconnect' while connecting stops the attempt too.
	connectCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-srv.disconnect:
			cancel()
		case <-connectCtx.Done():
		}
	}()
	stopProxy, err := o.startProxy(&cfg, stderr) // proxyopts.go
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		ready(readyMsg{Exit: exitHost, Error: err.Error()})
		return exitHost
	}
	defer stopProxy()
	notify := newNotifier() // notify.go: systemd's Type=notify
	defer notify.close()
	user := cfg.OnEvent
	cfg.OnEvent = func(ev vpn.Event) {
		srv.progress(ev)
		notify.event(ev)
		if user != nil {
			user(ev)
		}
	}
	out.startProgress()
	cl, err := vpn.Connect(connectCtx, cfg)
	out.stopProgress()
	if err != nil {
		code := exitCode(err)
		notify.send("STATUS=failed: " + err.Error())
		if vpn.ReasonOf(err) == vpn.ReasonInterrupted {
			srv.finished(nil) // what a disconnect asked for
			out.line(interruptedLine(err))
		} else {
			srv.finished(err)
			out.failure(err)
		}
		ready(readyMsg{Exit: code, Error: err.Error()})
		return code
	}
	srv.serve(cl)
	removeLastFailure(dir, o.name) // up: an earlier failure is over
	up := out.lastUp()
	ready(readyMsg{Up: &up})
	notify.send("READY=1", "STATUS=up: "+up.IP+" via "+up.Interface)
	if o.netns != nil {
		return o.netns.whileUp(ctx, stop, cl, srv, out, stderr)
	}
	select {
	case <-ctx.Done():
		notify.send("STOPPING=1", "STATUS=disconnecting")
		err = cl.Close()
	case <-srv.disconnect:
		notify.send("STOPPING=1", "STATUS=disconnecting")
		err = cl.Close()
	case <-cl.Done():
		err = cl.Wait()
	}
	if err != nil {
		notify.send("STATUS=failed: " + err.Error())
	}
	srv.finished(err)
	if err != nil {
		out.failure(err)
		return exitCode(err)
	}
	return exitOK
}

// interruptedLine says what an interrupted connect did.
func interruptedLine(err error) string {
	var e *vpn.Error
	if errors.As(err, &e) && e.Phase != "" && e.Phase != "connect" {
		return fmt.Sprintf("interrupted during connect (at %s): stopped, nothing left behind", e.Phase)
	}
	return "interrupted during connect: stopped, nothing left behind"
}

// detach starts the connection again as a detached process (same
// arguments, secrets through a pipe) and waits until it is up or failed.
// Ctrl-C or SIGTERM meanwhile are passed on to it: it stops and undoes
// what it did, and says so through the ready pipe.
func detach(o *connectOpts, dir string, args []string, s *resolvedSecrets, out *output, stderr io.Writer) int {
	logPath := filepath.Join(dir, o.name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: log file: %v\n", err)
		return exitHost
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitInternal
	}
	secR, secW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitInternal
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: %v\n", err)
		return exitInternal
	}
	childArgs := append([]string{"connect"}, args...)
	childArgs = append(childArgs, "--daemon-child", "--name", o.name)
	cmd := exec.Command(self, childArgs...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW, secR} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Registered before the child exists, so that no interrupt is lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: start the background process: %v\n", err)
		return exitInternal
	}
	readyW.Close()
	secR.Close()
	writeSecrets(secW, s)
	secW.Close()
	pid := cmd.Process.Pid
	line, interrupted, err := awaitReady(cmd, readyR, sigs)
	readyR.Close()
	var m readyMsg
	if err != nil && interrupted {
		// Killed by the signal before it could handle it: it had not
		// started connecting.
		out.line("interrupted before the background process connected")
		return exitInterrupted
	}
	if err != nil || json.Unmarshal(line, &m) != nil {
		fmt.Fprintf(stderr, "l2tpvpn: the background process (pid %d) ended before it was up; see %s\n", pid, logPath)
		return exitInternal
	}
	if m.Up == nil {
		out.fromChild(m) // its down event, printed at the end
		if m.Exit == exitOK {
			return exitOK
		}
		if !o.json {
			out.line("error: " + m.Error)
			out.line("log: " + logPath)
		}
		return m.Exit
	}
	if o.json {
		out.upFromChild(m)
	} else {
		out.upFromChild(m)
		out.line(fmt.Sprintf("running in the background as pid %d; log %s; stop it with: l2tpvpn disconnect %s", m.PID, logPath, o.name))
	}
	return exitOK
}

// secretsWire is the form of the resolved secrets in the pipe to the
// detached half: the one place they are written, revealed on purpose.
type secretsWire struct {
	Password   []byte `json:"password"`
	PSK        []byte `json:"psk,omitempty"`
	L2TPSecret []byte `json:"l2tp_secret,omitempty"`
	PKCS12     []byte `json:"pkcs12_password,omitempty"`
	OTP        []byte `json:"otp,omitempty"`
	Proxy      []byte `json:"proxy_password,omitempty"`
}

func writeSecrets(w io.Writer, s *resolvedSecrets) error {
	return json.NewEncoder(w).Encode(secretsWire{s.Password.Bytes(), s.PSK.Bytes(), s.L2TPSecret.Bytes(), s.PKCS12Password.Bytes(), s.OTP.Bytes(), s.ProxyPassword.Bytes()})
}

// readSecretsFD reads what the foreground half resolved.
func readSecretsFD() (*resolvedSecrets, error) {
	f := os.NewFile(secretsFD, "secrets")
	if f == nil {
		return nil, errors.New("--daemon-child is internal to --background")
	}
	defer f.Close()
	var w secretsWire
	if err := json.NewDecoder(f).Decode(&w); err != nil {
		// Not %w: a syntax error could quote a byte of the input.
		return nil, errors.New("reading the secrets from the foreground process: malformed or missing")
	}
	s := &resolvedSecrets{Password: secret.New(w.Password), PSK: secret.New(w.PSK), L2TPSecret: secret.New(w.L2TPSecret),
		PKCS12Password: secret.New(w.PKCS12), OTP: secret.New(w.OTP), ProxyPassword: secret.New(w.Proxy)}
	clear(w.OTP)
	clear(w.Proxy)
	clear(w.Password)
	clear(w.PKCS12)
	clear(w.PSK)
	clear(w.L2TPSecret)
	return s, nil
}

// awaitReady reads the detached child's ready line from r. The child is in
// a session of its own (no terminal's Ctrl-C reaches it): signals from sigs
// are passed on until it has answered (interrupted says one was). Then the
// child is released. Both --background halves (connect, serve) use it.
func awaitReady(cmd *exec.Cmd, r io.Reader, sigs <-chan os.Signal) (line []byte, interrupted bool, err error) {
	var sent atomic.Bool
	answered, forwarded := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case sig := <-sigs:
				sent.Store(true)
				cmd.Process.Signal(sig)
			case <-answered:
				return
			}
		}
	}()
	line, err = bufio.NewReader(r).ReadBytes('\n')
	close(answered)
	<-forwarded
	cmd.Process.Release()
	return line, sent.Load(), err
}
