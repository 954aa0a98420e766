package main

// l2tpvpn serve CONFIG --background: the command starts itself again as a
// detached process (a session of its own, "serve CONFIG --serve-child"),
// with its stdout and stderr on STATE_DIR/serve.log (0600), and waits for
// one line on the ready pipe (fd 3 of the child): serve.up, or the error
// and exit code of a start that failed (TUN device, a port in use, ...).
// It then prints "serving (pid N), log: PATH" and exits 0, or prints the
// error and exits with the child's code.
//
// Secrets: nothing goes through the child's arguments or environment. The
// child reads the configuration file again, so file: secrets and literals
// (in a private file) are read again from where they are; env:VAR secrets
// are read by the foreground half, which removes each variable from its
// environment (so the child never inherits it) and sends the values over a
// second pipe (fd 4, once, then closed). The child looks env:VAR up there
// only.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/l2tpvpn/l2tpvpn/server"
)

const (
	serveChildFlag = "serve-child" // hidden: the detached half of --background
	serveReadyFD   = 3             // the child writes one serveReadyMsg line here
	serveEnvFD     = 4             // the child reads the env: secrets here (serveEnvWire), once
	serveLogName   = "serve.log"   // in the state directory
)

// serveReadyMsg tells the waiting foreground half how the start ended:
// Up is the serve.up event, or Exit and Error say why it did not start.
type serveReadyMsg struct {
	PID   int           `json:"pid"`
	Up    *server.Event `json:"up,omitempty"`
	Exit  int           `json:"exit"`
	Error string        `json:"error,omitempty"`
}

// serveUpLine is what --background --json prints once serving: the
// serve.up event with the child's pid and its log.
type serveUpLine struct {
	server.Event
	PID int    `json:"pid"`
	Log string `json:"log"`
}

// envCapture is the foreground half's env lookup for LoadConfigEnv: it
// reads a variable from the environment, keeps its value for the child
// and removes it from our environment (which the child inherits).
type envCapture struct {
	vals map[string][]byte
}

func newEnvCapture() *envCapture { return &envCapture{vals: map[string][]byte{}} }

func (e *envCapture) lookup(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	if ok {
		e.vals[name] = []byte(v)
		os.Unsetenv(name)
	}
	return v, ok
}

// clear wipes the values kept.
func (e *envCapture) clear() {
	for k, v := range e.vals {
		clear(v)
		delete(e.vals, k)
	}
}

// serveEnvWire is the form of the env: values in the pipe to the child:
// the one place they are written, on purpose.
type serveEnvWire struct {
	Env map[string][]byte `json:"env"`
}

func writeServeEnv(w io.Writer, e *envCapture) error {
	return json.NewEncoder(w).Encode(serveEnvWire{Env: e.vals})
}

// readServeEnv reads what the foreground half sent; the result's lookup
// serves env:VAR in the child.
func readServeEnv(r io.Reader) (*envCapture, error) {
	var w serveEnvWire
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		// Not %w: a syntax error could quote a byte of the input.
		return nil, errors.New("reading the env: secrets from the foreground process: malformed or missing")
	}
	if w.Env == nil {
		w.Env = map[string][]byte{}
	}
	return &envCapture{vals: w.Env}, nil
}

// lookupSent is the child's env lookup: only what was sent.
func (e *envCapture) lookupSent(name string) (string, bool) {
	v, ok := e.vals[name]
	return string(v), ok
}

// serveChildArgs are the child's arguments: the configuration (absolute,
// though the child keeps our working directory) and the flags it needs.
func serveChildArgs(o *serveOpts) []string {
	path := o.config
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	args := []string{"serve", path, "--" + serveChildFlag}
	if o.verbose {
		args = append(args, "-v")
	}
	return args
}

// serveDetach starts the detached half and waits for its ready line.
// Ctrl-C or SIGTERM meanwhile are passed on to it (it is in a session of
// its own): it stops once up and says so.
func serveDetach(o *serveOpts, dir string, env *envCapture, stdout, stderr io.Writer) int {
	defer env.clear()
	logPath := filepath.Join(dir, serveLogName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: log file: %v\n", err)
		return exitHost
	}
	defer logf.Close()
	if err := logf.Chmod(0o600); err != nil { // one left with another mode
		fmt.Fprintf(stderr, "l2tpvpn serve: log file: %v\n", err)
		return exitHost
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitInternal
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitInternal
	}
	defer readyR.Close()
	envR, envW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		return exitInternal
	}
	cmd := exec.Command(self, serveChildArgs(o)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW, envR} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Registered before the child exists, so that no interrupt is lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	err = cmd.Start()
	readyW.Close()
	envR.Close()
	if err != nil {
		envW.Close()
		fmt.Fprintf(stderr, "l2tpvpn serve: start the background process: %v\n", err)
		return exitInternal
	}
	writeServeEnv(envW, env) // a child that died already: its EOF below says so
	envW.Close()
	env.clear()
	pid := cmd.Process.Pid

	line, interrupted, err := awaitReady(cmd, readyR, sigs)
	return serveReadyResult(line, err, interrupted, pid, logPath, o.json, stdout, stderr)
}

// serveReadyResult reports the child's ready line (or readErr, when it
// ended without one) and returns the exit code.
func serveReadyResult(line []byte, readErr error, interrupted bool, pid int, logPath string, jsonOut bool, stdout, stderr io.Writer) int {
	if readErr != nil && interrupted {
		// Killed by the signal before it could catch it: it had not
		// started anything.
		fmt.Fprintln(stderr, "l2tpvpn serve: interrupted before the background process started serving")
		return exitInterrupted
	}
	var m serveReadyMsg
	if readErr != nil || json.Unmarshal(line, &m) != nil || (m.Up == nil && m.Exit == exitOK) {
		fmt.Fprintf(stderr, "l2tpvpn serve: the background process (pid %d) ended before it was up; see %s\n", pid, logPath)
		return exitInternal
	}
	if m.PID != 0 {
		pid = m.PID
	}
	if m.Up == nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %s\nlog: %s\n", m.Error, logPath)
		return m.Exit
	}
	if jsonOut {
		json.NewEncoder(stdout).Encode(serveUpLine{Event: *m.Up, PID: pid, Log: logPath})
	} else {
		fmt.Fprintf(stdout, "serving (pid %d), log: %s\n", pid, logPath)
	}
	return exitOK
}

// newServeReady returns the child's ready function: the first call writes
// its message (with our pid) as one line to w and closes w; later calls do
// nothing.
func newServeReady(w io.WriteCloser) func(serveReadyMsg) {
	var once sync.Once
	return func(m serveReadyMsg) {
		once.Do(func() {
			m.PID = os.Getpid()
			json.NewEncoder(w).Encode(m)
			w.Close()
		})
	}
}

// serveChild is the detached half: it reads the env: secrets from fd 4,
// the configuration again, and serves like the foreground, with its
// output in the log (one format: see childlog.go) and the start's outcome
// on fd 3.
func serveChild(o *serveOpts, stderr io.Writer) int {
	syscall.CloseOnExec(serveReadyFD) // not for nft
	syscall.CloseOnExec(serveEnvFD)
	stdout, stderr := childOutputs(stderr)
	ready := newServeReady(os.NewFile(serveReadyFD, "ready"))
	envFile := os.NewFile(serveEnvFD, "env")
	env, err := readServeEnv(envFile)
	envFile.Close()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v (--%s is internal to --background)\n", err, serveChildFlag)
		ready(serveReadyMsg{Exit: exitInternal, Error: err.Error()})
		return exitInternal
	}
	cfg, err := server.LoadConfigEnv(o.config, env.lookupSent)
	env.clear()
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn serve: %v\n", err)
		ready(serveReadyMsg{Exit: exitUsage, Error: err.Error()})
		return exitUsage
	}
	code := runServe(o, cfg, stdout, stderr, ready)
	// Every way out of runServe before serve.up has called ready; this is
	// a net for one that did not.
	ready(serveReadyMsg{Exit: max(code, exitInternal), Error: "stopped before it was up"})
	return code
}
