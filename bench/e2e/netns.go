package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The bench topology: the client side in nsClient and the server side in
// nsServer, joined by one veth pair on 192.0.2.0/24. Every tunnel under test
// gives the server 198.51.100.1 inside the tunnel, and iperf3 runs from the
// client namespace to that address, so its traffic has no other way than
// through the tunnel.
const (
	nsPrefix           = "l2v-bench-"
	nsClient, nsServer = nsPrefix + "c", nsPrefix + "s"
	vethClient         = "l2vbc0"
	vethServer         = "l2vbs0"
	underClient        = "192.0.2.2"
	underServer        = "192.0.2.1"
	innerServer        = "198.51.100.1"
	innerClient        = "198.51.100.2"
)

// removeNamespaces deletes every namespace with the bench prefix (ours, or
// a killed earlier run's). The veth goes with them.
func removeNamespaces() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], nsPrefix) {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

func setupNamespaces() error {
	removeNamespaces()
	steps := [][]string{
		{"netns", "add", nsClient}, {"netns", "add", nsServer},
		{"link", "add", vethClient, "netns", nsClient, "type", "veth", "peer", "name", vethServer, "netns", nsServer},
		{"-n", nsClient, "addr", "add", underClient + "/24", "dev", vethClient},
		{"-n", nsServer, "addr", "add", underServer + "/24", "dev", vethServer},
		{"-n", nsClient, "link", "set", vethClient, "up"}, {"-n", nsServer, "link", "set", vethServer, "up"},
		{"-n", nsClient, "link", "set", "lo", "up"}, {"-n", nsServer, "link", "set", "lo", "up"},
	}
	for _, a := range steps {
		if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(a, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// inNS runs a short command in a namespace and returns its combined output.
func inNS(ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s in %s: %v: %s", strings.Join(args, " "), ns, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// waitPing pings dst from ns until one answer comes or timeout passes.
func waitPing(ns, dst string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := inNS(ns, "ping", "-c", "1", "-W", "1", dst)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no ping answer from %s within %v", dst, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// proc is a long-running process in a namespace, in its own process group
// (ip netns exec execs the command, so the pid is the tunnel's own). Its
// output is kept, and its stdout lines are offered to waitLine.
type proc struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
	done  chan struct{}
}

// running holds every process started, so that a failure or a signal
// still stops them all.
var running struct {
	sync.Mutex
	procs   []*proc
	clients map[*exec.Cmd]bool // iperf3 clients in flight
}

// track records a short-lived command (its own process group) while it
// runs, so that stopAll can end it too.
func track(cmd *exec.Cmd, on bool) {
	running.Lock()
	defer running.Unlock()
	if running.clients == nil {
		running.clients = map[*exec.Cmd]bool{}
	}
	if on {
		running.clients[cmd] = true
	} else {
		delete(running.clients, cmd)
	}
}

func startIn(ns, name string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, lines: make(chan string, 256), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	running.Lock()
	running.procs = append(running.procs, p)
	running.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.read(stdout, true) }()
	go func() { defer wg.Done(); p.read(stderr, false) }()
	go func() {
		wg.Wait()
		cmd.Wait()
		close(p.lines)
		close(p.done)
	}()
	return p, nil
}

func (p *proc) read(r io.Reader, offer bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.out.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
		if offer {
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for this one
			}
		}
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// output returns the last n lines the process printed.
func (p *proc) output(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errExited = errors.New("exited")

// waitLine waits for a stdout line containing want; a line containing
// fail, or the process's exit, ends the wait with an error.
func (p *proc) waitLine(want, fail string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("%s %w before %q; it printed:\n%s", p.name, errExited, want, p.output(15))
			}
			if strings.Contains(l, want) {
				return l, nil
			}
			if fail != "" && strings.Contains(l, fail) {
				return l, fmt.Errorf("%s: %s; it printed:\n%s", p.name, l, p.output(15))
			}
		case <-deadline:
			return "", fmt.Errorf("%s: no %q within %v; it printed:\n%s", p.name, want, timeout, p.output(15))
		}
	}
}

// stop sends sig to the process, waits up to grace for it to exit, then
// kills its whole process group.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL) // anything it left in its group
}

// stopAll kills whatever is still running (after a failure or a signal).
func stopAll() {
	running.Lock()
	procs := running.procs
	running.procs = nil
	for c := range running.clients {
		if c.Process != nil {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	}
	running.Unlock()
	for _, p := range procs {
		p.stop(syscall.SIGTERM, 3*time.Second)
	}
}
