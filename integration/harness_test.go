//go:build integration

// Package integration runs the real l2tpvpn binary against real third-party
// L2TP servers (SoftEther, l2tpns + FreeRADIUS) started by scripts/lab.sh in
// network namespaces. It needs root; without it every test fails loudly.
package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	root    string // repository root
	bin     string // the built client
	labtool string
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration tests need root (network namespaces, TUN); run them as root: sudo make test")
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	root = filepath.Dir(wd)
	// The client under test is built with the race detector: every
	// integration run is also a race test of the real connection code.
	// A report goes to raceDir (the client may run detached), and any
	// report fails the run.
	// L2V_BIN_DIR: a second test process running beside this one (make
	// integration) builds its binaries elsewhere.
	binDir := filepath.Join(root, "bin")
	if d := os.Getenv("L2V_BIN_DIR"); d != "" {
		binDir = d
	}
	bin = filepath.Join(binDir, "l2tpvpn-race")
	labtool = filepath.Join(binDir, "labtool")
	for _, b := range [][3]string{{bin, "./cmd/l2tpvpn", "race"}, {labtool, "./integration/labtool", ""}} {
		args := []string{"build", "-o", b[0]}
		env := append(os.Environ(), "CGO_ENABLED=0")
		if b[2] == "race" {
			args = append(args, "-race")
			env = append(os.Environ(), "CGO_ENABLED=1")
		}
		cmd := exec.Command("go", append(args, b[1])...)
		cmd.Dir = root
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	raceDir, err := os.MkdirTemp("", "l2tpvpn-race-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Clients that run as an unprivileged user (proxy mode) report here too.
	os.Chmod(raceDir, 0o1777)
	os.Setenv("GORACE", "log_path="+filepath.Join(raceDir, "report")+" exitcode=66")
	code := m.Run()
	if reports := raceReports(raceDir); reports != "" {
		fmt.Fprintf(os.Stderr, "FAIL: the client binary reported data races:\n%s", reports)
		code = 1
	}
	os.RemoveAll(raceDir)
	os.Exit(code)
}

// raceReports returns every race detector report written to dir.
func raceReports(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "report*"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil && len(data) > 0 {
			fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), data)
		}
	}
	return b.String()
}

// A lab is one server and its client namespace (addresses in scripts/lab.sh).
type lab struct {
	name     string // se, l2tpns
	serverNS string
	clientNS string
	server   string // outer server address
	client   string // outer client address
	service  string // address behind the tunnel serving transfers and ping
}

var (
	labSE     = lab{"se", "l2v-se-s", "l2v-se-c", "192.0.2.1", "192.0.2.2", "203.0.113.10"}
	labL2TPNS = lab{"l2tpns", "l2v-ns-s", "l2v-ns-c", "192.0.2.17", "192.0.2.18", "203.0.113.20"}
	// labSENAT reaches the se lab's server from behind a NAT router.
	labSENAT = lab{"se", "l2v-se-s", "l2v-sen-c", "192.0.2.49", "203.0.113.66", "203.0.113.10"}
	// labSW is strongSwan charon (IKEv1, tunnel mode) with l2tpns behind it.
	labSW = lab{"sw", "l2v-sw-s", "l2v-sw-c", "192.0.2.33", "192.0.2.34", "203.0.113.30"}
)

const (
	user     = "alice"
	password = "l2v-pass"
)

func script(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "scripts", "lab.sh"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/lab.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// up starts the lab and registers its teardown (and its server log on failure).
func (l lab) up(t *testing.T, env ...string) {
	t.Helper()
	// make integration runs the sw lab's tests in a test process of their
	// own, chosen by name, beside the tests of the other labs.
	if sw, named := l.name == "sw", strings.Contains(t.Name(), "StrongSwan"); sw != named {
		t.Fatalf("lab %s in %s: a test that brings up the sw lab has StrongSwan in its name and uses no other lab (make integration runs those in a process of their own)", l.name, t.Name())
	}
	script(t, nil, "down", l.name)
	start := time.Now()
	script(t, env, "up", l.name)
	t.Logf("lab %s up in %v", l.name, time.Since(start).Round(time.Millisecond))
	settle(t, l.clientNS)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command(filepath.Join(root, "scripts", "lab.sh"), "logs", l.name).CombinedOutput()
			t.Logf("server log (%s):\n%s", l.name, tail(string(out), 60))
		}
		exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", l.name).Run()
	})
}

func (l lab) sessions(t *testing.T) string {
	return strings.TrimSpace(script(t, nil, "sessions", l.name))
}

// settle waits until IPv6 duplicate address detection has finished on the
// fresh namespace's links: until then the kernel itself changes the address
// flags and local routes, which would look like host changes.
func settle(t *testing.T, ns string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command("ip", "-n", ns, "-6", "addr", "show", "tentative").CombinedOutput()
		if err != nil {
			t.Fatalf("ip -n %s -6 addr: %v\n%s", ns, err, out)
		}
		if len(bytes.TrimSpace(out)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("IPv6 addresses in %s still tentative after 15 s:\n%s", ns, out)
		}
		time.Sleep(100 * time.Millisecond) // polling the kernel's DAD state
	}
}

// inNS runs a command in a namespace and returns its combined output.
func inNS(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// hostState is what the client may change on its host: addresses, links and
// routes of the client namespace. It must be identical before and after.
func hostState(t *testing.T, ns string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-o", "addr", "show"}, {"-o", "link", "show"}, {"route", "show", "table", "all"},
		{"-6", "route", "show", "table", "all"}, {"rule", "show"},
	} {
		// stdout only: while another test process creates or deletes
		// namespaces, ip link warns on stderr ("Peer netns reference is
		// invalid") about a veth peer's namespace, which is not state.
		cmd := exec.Command("ip", append([]string{"-n", ns}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ip -n %s %v: %v\n%s%s", ns, args, err, out, stderr.String())
		}
		b.Write(out)
	}
	// Link counters and flags that change by themselves are not state.
	return b.String()
}

// event is the subset of the client's JSON events the tests read.
type event struct {
	Event      string    `json:"event"`
	V          int       `json:"v"`
	Time       time.Time `json:"time"`
	Message    string    `json:"message"`
	Local      string    `json:"local"`
	TunnelID   uint16    `json:"tunnel_id"`
	PeerVendor string    `json:"peer_vendor"`
	Auth       string    `json:"auth"`
	IP         string    `json:"ip"`
	Peer       string    `json:"peer"`
	DNS        []string  `json:"dns"`
	MTU        int       `json:"mtu"`
	Interface  string    `json:"interface"`
	ElapsedMS  int64     `json:"elapsed_ms"`
	IKE        string    `json:"ike"`
	NATT       string    `json:"nat_t"`
	PeerID     string    `json:"peer_id"`
	LocalID    string    `json:"local_id"`
	ESP        string    `json:"esp"`
	Mode       string    `json:"mode"`
	SPIIn      string    `json:"spi_in"`
	Rekey      bool      `json:"rekey"`
	Reason     string    `json:"reason"`
	Error      string    `json:"error"`
	Attempt    int       `json:"attempt"`
	DelayMS    int64     `json:"delay_ms"`
	Reconnects int       `json:"reconnects"`
	Server     string    `json:"server"`
	Routes     []string  `json:"routes"`
	Domain     string    `json:"domain"`
	// l2tpvpn serve's events
	User  string `json:"user"`
	Outer string `json:"outer"`
	Inner string `json:"inner"`
	IPsec string `json:"ipsec"`
	Stats *struct {
		TxPackets     uint64 `json:"tx_packets"`
		RxPackets     uint64 `json:"rx_packets"`
		RxDropped     uint64 `json:"rx_dropped"`
		RxMalformed   uint64 `json:"rx_malformed"`
		RxWrong       uint64 `json:"rx_wrong_session"`
		L2TPMalformed uint64 `json:"l2tp_malformed"`
		PPPMalformed  uint64 `json:"ppp_malformed"`
		ESPAuthFailed uint64 `json:"esp_auth_failed"`
		ESPReplayed   uint64 `json:"esp_replayed"`
		ESPInvalid    uint64 `json:"esp_invalid"`
		ESPUnknownSPI uint64 `json:"esp_unknown_spi"`
		NATKeepalives uint64 `json:"nat_keepalives_rx"`
		MSSClamped    uint64 `json:"mss_clamped"`
		ChildRekeys   uint64 `json:"child_sa_rekeys"`
	} `json:"stats"`
}

// client is a running l2tpvpn connect in the client namespace.
type client struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan event
	mu     sync.Mutex
	all    []event
	stderr bytes.Buffer
	exited chan struct{}
	code   int
}

func startClient(t *testing.T, l lab, extraEnv []string, args ...string) *client {
	t.Helper()
	full := []string{"netns", "exec", l.clientNS, bin, "connect", "--ipsec=off", "--json",
		"--server", l.server, "--user", user, "--password-env", "L2V_TEST_PASSWORD", "--interface", "l2v-tun0"}
	// A split tunnel to the service address, unless the test chooses the routing.
	if !slices.Contains(args, "--routing") {
		full = append(full, "--route", l.service+"/32")
	}
	full = append(full, args...)
	cmd := exec.Command("ip", full...)
	cmd.Env = append(append(os.Environ(), "L2V_TEST_PASSWORD="+password), extraEnv...)
	return runClient(t, cmd)
}

// runClient starts cmd (a connect with --json) in its own process group,
// reads its events, and kills it at the end of the test if it still runs.
func runClient(t *testing.T, cmd *exec.Cmd) *client {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c := &client{t: t, cmd: cmd, events: make(chan event, 64), exited: make(chan struct{})}
	cmd.Stderr = &c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(stdout)
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
		}
		if t.Failed() {
			t.Logf("client stderr:\n%s", tail(c.stderr.String(), 80))
		}
	})
	return c
}

func (c *client) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			c.t.Errorf("client printed a non-JSON line in --json mode: %q", sc.Text())
			continue
		}
		c.mu.Lock()
		c.all = append(c.all, ev)
		c.mu.Unlock()
		c.events <- ev
	}
	err := c.cmd.Wait()
	c.code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		c.code = ee.ExitCode()
	} else if err != nil {
		c.code = -1
	}
	close(c.events)
	close(c.exited)
}

// events returns a copy of every event so far.
func (c *client) eventsSoFar() []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.all...)
}

// waitEvent returns the first event named name, failing on timeout or on a
// "down" event first.
func (c *client) waitEvent(name string, timeout time.Duration) event {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.t.Fatalf("client exited (code %d) before %q", c.wait(), name)
			}
			if ev.Event == name {
				return ev
			}
			if ev.Event == "down" {
				c.t.Fatalf("client went down before %q: %s (%s)", name, ev.Error, ev.Reason)
			}
		case <-deadline:
			c.t.Fatalf("no %q event within %v", name, timeout)
		}
	}
}

func (c *client) wait() int {
	<-c.exited
	return c.code
}

// disconnect interrupts the client like Ctrl-C and expects a clean exit:
// 0 once it was up, 14 (interrupted, reason "interrupted") before.
func (c *client) disconnect() event {
	c.t.Helper()
	syscall.Kill(c.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("client did not exit within 30 s of SIGINT")
	}
	// Whether it was up is read from all its events once it has exited: it
	// may have come up just as the signal was sent.
	wasUp := false
	for _, ev := range c.eventsSoFar() {
		wasUp = wasUp || ev.Event == "up"
	}
	down := c.last("down")
	want, reason := 0, "none"
	if !wasUp {
		want, reason = 14, "interrupted"
	}
	if c.code != want || down.Reason != reason {
		c.t.Fatalf("client exit code %d, down reason %q after SIGINT, want %d and %q", c.code, down.Reason, want, reason)
	}
	return down
}

func (c *client) last(name string) event {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.all) - 1; i >= 0; i-- {
		if c.all[i].Event == name {
			return c.all[i]
		}
	}
	c.t.Fatalf("no %q event", name)
	return event{}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// transferServer starts labtool serve on the lab's service address.
func (l lab) transferServer(t *testing.T) string {
	t.Helper()
	addr := l.service + ":5001"
	cmd := exec.Command("ip", "netns", "exec", l.serverNS, labtool, "serve", addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening") {
		t.Fatalf("transfer server did not start: %q %v", line, err)
	}
	return addr
}
