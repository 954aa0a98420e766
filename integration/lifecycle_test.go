//go:build integration

package integration

// Issue 4: profiles, background mode, status, disconnect, routes and DNS,
// reconnect, crash cleanup, several connections, no secrets anywhere.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const stateRoot = "/run/l2tpvpn"

// status is the subset of `l2tpvpn status --json` the tests read.
type status struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Interface string   `json:"interface"`
	IP        string   `json:"ip"`
	Routing   string   `json:"routing"`
	Routes    []string `json:"routes"`
	IPv6      string   `json:"ipv6"`
	DNS       []string `json:"dns"`
	DNSVia    string   `json:"dns_via"`
	IKE       string   `json:"ike"`
	ESP       string   `json:"esp"`
	UptimeS   int64    `json:"uptime_s"`
	PID       int      `json:"pid"`
	Reconnect struct {
		Count int `json:"count"`
	} `json:"reconnects"`
	Stats struct {
		TxPackets uint64 `json:"tx_packets"`
		RxPackets uint64 `json:"rx_packets"`
		TxBytes   uint64 `json:"tx_bytes"`
		RxBytes   uint64 `json:"rx_bytes"`
	} `json:"stats"`
}

// profile writes a profile file (0600) into a fresh directory and returns
// its path. The PSK is in a file of its own, the password comes from the
// environment (L2V_TEST_PASSWORD), as the minimal profile does.
func profile(t *testing.T, name string, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	pskFile := filepath.Join(dir, "psk")
	if err := os.WriteFile(pskFile, []byte(psk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(strings.Join(lines, "\n"), "@PSKFILE@", pskFile) + "\n"
	p := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// l2tpvpn runs the client binary in a namespace and returns stdout, stderr
// and the exit code.
func l2tpvpn(t *testing.T, ns string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	cmd.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+password)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("l2tpvpn %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// background connects with --background --json and returns the up event;
// it registers a disconnect (and a kill, if that fails) for the end.
func background(t *testing.T, ns, profilePath, name string, extra ...string) event {
	t.Helper()
	start := time.Now()
	args := append([]string{"connect", profilePath, "--background", "--json", "--name", name}, extra...)
	out, errOut, code := l2tpvpn(t, ns, args...)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(stateRoot, name+".log"))
			t.Logf("log of %s:\n%s", name, tail(string(log), 60))
		}
		st, ok := statusOf(t, ns, name)
		if !ok {
			return
		}
		if _, _, code := l2tpvpn(t, ns, "disconnect", name); code != 0 && st.PID > 0 {
			syscall.Kill(st.PID, syscall.SIGKILL)
		}
	})
	t.Cleanup(func() {
		if !t.Failed() {
			os.Remove(filepath.Join(stateRoot, name+".log"))
		}
	})
	if code != 0 {
		t.Fatalf("connect --background: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var up event
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &up); err != nil || up.Event != "up" {
		t.Fatalf("connect --background --json printed %q, want one up event (%v)", out, err)
	}
	t.Logf("%s: background connect returned after %v: %s via %s", name, time.Since(start).Round(time.Millisecond), up.IP, up.Interface)
	return up
}

// statusOf asks a connection for its status; false if it is not running.
func statusOf(t *testing.T, ns, name string) (status, bool) {
	t.Helper()
	out, errOut, code := l2tpvpn(t, ns, "status", name, "--json")
	var st status
	if code == 12 {
		return st, false
	}
	if code != 0 {
		t.Fatalf("status %s: exit %d: %s", name, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status %s --json: %v: %q", name, err, out)
	}
	return st, true
}

// hostAndDNS is hostState plus the namespace's resolv.conf.
func hostAndDNS(t *testing.T, ns string) string {
	t.Helper()
	rc, err := os.ReadFile("/etc/netns/" + ns + "/resolv.conf")
	if err != nil {
		t.Fatalf("the lab's resolv.conf of %s: %v", ns, err)
	}
	return hostState(t, ns) + "--- resolv.conf\n" + string(rc)
}

func resolvConf(t *testing.T, ns string) string {
	t.Helper()
	b, err := os.ReadFile("/etc/netns/" + ns + "/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pingOnce expects the very first ping to get through (no retries: the
// background connect promised that traffic flows).
// trafficBack waits until the background connection name has reconnected
// and addr answers a ping through it, at most 30 s from start, and returns
// how long that took.
func trafficBack(t *testing.T, ns, name, addr string, start time.Time) time.Duration {
	t.Helper()
	for time.Since(start) < 30*time.Second {
		if _, err := inNS(ns, "ping", "-c", "1", "-W", "1", addr); err == nil {
			if st, _ := statusOf(t, ns, name); st.Reconnect.Count >= 1 {
				return time.Since(start)
			}
		}
	}
	t.Fatalf("%s: no traffic through a reconnected tunnel within 30 s", name)
	return 0
}

func pingOnce(t *testing.T, ns, addr string) {
	t.Helper()
	if out, err := inNS(ns, "ping", "-c", "1", "-W", "2", addr); err != nil {
		t.Fatalf("first ping to %s right after the connect returned failed: %v\n%s", addr, err, out)
	}
}

func routeGet(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, _ := exec.Command("ip", append([]string{"-n", ns, "route", "get"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

func disconnectOK(t *testing.T, ns, name string) {
	t.Helper()
	out, errOut, code := l2tpvpn(t, ns, "disconnect", name)
	if code != 0 || !strings.Contains(out, "disconnected") {
		t.Fatalf("disconnect %s: exit %d, stdout %q, stderr %q", name, code, out, errOut)
	}
	if _, ok := statusOf(t, ns, name); ok {
		t.Fatalf("%s still answers status after disconnect", name)
	}
}

func sameHost(t *testing.T, what, before, after string) {
	t.Helper()
	if before != after {
		t.Fatalf("%s: host state changed.\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

func TestLifecycle(t *testing.T) {
	labSE.up(t)

	// Acceptance 1 (split tunnel) and 6-like checks of status.
	t.Run("SplitTunnelProfile", func(t *testing.T) {
		ns := labSE.clientNS
		before := hostAndDNS(t, ns)
		p := profile(t, "l2v-split",
			`server = "`+labSE.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
			`interface = "l2v-sp0"`, `routing = "split"`, `route = ["`+labSE.service+`/32"]`, `dns-domain = ["lab.example"]`)
		up := background(t, ns, p, "l2v-split")
		pingOnce(t, ns, labSE.service)
		st, ok := statusOf(t, ns, "l2v-split")
		if !ok || st.State != "up" || st.Interface != "l2v-sp0" || st.IP != up.IP || st.Routing != "split" || st.IKE == "" || st.ESP == "" {
			t.Fatalf("status: %+v", st)
		}
		if st.Stats.RxPackets == 0 || st.Stats.TxPackets == 0 {
			t.Errorf("status counts no traffic after a ping: %+v", st.Stats)
		}
		human, _, code := l2tpvpn(t, ns, "status", "l2v-split")
		if code != 0 || !strings.Contains(human, "l2v-split: up") {
			t.Errorf("status (text): exit %d\n%s", code, human)
		}
		if r := routeGet(t, ns, labSE.service); !strings.Contains(r, "dev l2v-sp0") {
			t.Errorf("route to the service: %s", r)
		}
		if r := routeGet(t, ns, "203.0.113.99"); strings.Contains(r, "l2v-sp0") {
			t.Errorf("split tunnel routes another address into the tunnel: %s", r)
		}
		if rc := resolvConf(t, ns); !strings.Contains(rc, "nameserver "+up.DNS[0]) || !strings.Contains(rc, "nameserver 192.0.2.53") {
			t.Errorf("split DNS in resolv.conf should list the tunnel's server first and keep the original:\n%s", rc)
		}
		disconnectOK(t, ns, "l2v-split")
		sameHost(t, "split tunnel", before, hostAndDNS(t, ns))
	})

	t.Run("ReconnectAfterServerRestart", func(t *testing.T) {
		ns := labSE.clientNS
		before := hostAndDNS(t, ns)
		p := profile(t, "l2v-rec",
			`server = "`+labSE.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
			`interface = "l2v-rc0"`, `route = ["`+labSE.service+`/32"]`, `reconnect-delay = "1s"`)
		background(t, ns, p, "l2v-rec", "-v")
		pingOnce(t, ns, labSE.service)
		ourRoutes := func() string {
			out, err := exec.Command("ip", "-n", ns, "route", "show", "proto", "76").CombinedOutput()
			if err != nil {
				t.Fatalf("ip route: %v %s", err, out)
			}
			link, _ := exec.Command("ip", "-n", ns, "-o", "link", "show", "dev", "l2v-rc0").CombinedOutput()
			idx, _, _ := strings.Cut(string(link), ":")
			return "ifindex " + idx + "\n" + string(out)
		}
		routesUp := ourRoutes()
		start := time.Now()
		script(t, nil, "restart-server", "se")
		back := trafficBack(t, ns, "l2v-rec", labSE.service, start)
		t.Logf("traffic flows again %v after the restart began", back.Round(time.Millisecond))
		st, _ := statusOf(t, ns, "l2v-rec")
		if st.State != "up" || st.Reconnect.Count != 1 {
			t.Errorf("status after the reconnect: %+v", st)
		}
		// The interface and its routes stayed across the reconnect (the
		// server may hand out another address).
		if after := ourRoutes(); after != routesUp {
			t.Errorf("host state changed across the reconnect:\nbefore:\n%s\nafter:\n%s", routesUp, after)
		}
		evs := logEvents(t, "l2v-rec")
		var attempts []string
		ups := 0
		for _, ev := range evs {
			switch ev.Event {
			case "reconnecting":
				attempts = append(attempts, fmt.Sprintf("attempt %d after %dms (%s: %s)", ev.Attempt, ev.DelayMS, ev.Reason, ev.Error))
			case "up":
				ups++
			}
		}
		if len(attempts) == 0 || ups != 2 {
			t.Fatalf("events: %d reconnecting, %d up; want at least one reconnecting and two up", len(attempts), ups)
		}
		t.Logf("reconnect events: %s", strings.Join(attempts, "; "))
		disconnectOK(t, ns, "l2v-rec")
		sameHost(t, "after reconnect and disconnect", before, hostAndDNS(t, ns))
	})

	t.Run("NoSecretsAnywhere", func(t *testing.T) {
		ns := labSE.clientNS
		p := profile(t, "l2v-sec",
			`server = "`+labSE.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
			`interface = "l2v-sc0"`, `route = ["`+labSE.service+`/32"]`)
		// Foreground with debug logging: every control message is logged.
		cmd := exec.Command("ip", "netns", "exec", ns, bin, "connect", p, "--name", "l2v-sec", "-v")
		cmd.Env = append(os.Environ(), "L2V_TEST_PASSWORD="+password)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var fgOut, fgErr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &fgOut, &fgErr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
		deadline := time.Now().Add(20 * time.Second)
		var st status
		for {
			if s, ok := statusOf(t, ns, "l2v-sec"); ok && s.State == "up" {
				st = s
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("foreground -v connect not up within 20 s:\n%s", tail(fgErr.String(), 40))
			}
			time.Sleep(200 * time.Millisecond) // polling the control socket
		}
		pingOnce(t, ns, labSE.service)
		var everything bytes.Buffer
		stJSON, _, _ := l2tpvpn(t, ns, "status", "l2v-sec", "--json")
		stText, _, _ := l2tpvpn(t, ns, "status", "l2v-sec")
		everything.WriteString(stJSON + stText)
		// The state directory while the connection is up: journal, socket.
		files, _ := filepath.Glob(filepath.Join(stateRoot, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				everything.Write(b)
			}
		}
		syscall.Kill(cmd.Process.Pid, syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("foreground client after SIGINT: %v", err)
		}
		// And a background run's log at debug level.
		background(t, ns, p, "l2v-sec2", "-v")
		pingOnce(t, ns, labSE.service)
		disconnectOK(t, ns, "l2v-sec2")
		log, err := os.ReadFile(filepath.Join(stateRoot, "l2v-sec2.log"))
		if err != nil {
			t.Fatal(err)
		}
		everything.Write(log)
		everything.Write(fgOut.Bytes())
		everything.Write(fgErr.Bytes())
		if !strings.Contains(fgErr.String(), "level=DEBUG") || !bytes.Contains(log, []byte("level=DEBUG")) {
			t.Fatalf("the runs were not at debug level")
		}
		all := everything.String()
		for _, secret := range []string{psk, password} {
			for _, form := range []string{secret, hex.EncodeToString([]byte(secret))} {
				if strings.Contains(strings.ToLower(all), strings.ToLower(form)) {
					t.Errorf("a secret appears in the output, log, status or state files (%d bytes checked)", len(all))
				}
			}
		}
		t.Logf("checked %d bytes of output, logs, status and state files (pid %d): no PSK, no password", len(all), st.PID)
	})

	// Acceptance 1 (full tunnel), 3 (SIGKILL + cleanup): behind the NAT
	// router the client has a default route via a gateway, so the pinned
	// server route goes "via" it.
	script(t, nil, "up", "senat")
	t.Cleanup(func() { exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "senat").Run() })
	settle(t, labSENAT.clientNS)

	fullProfile := func(t *testing.T, name, iface string) string {
		return profile(t, name,
			`server = "`+labSENAT.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
			`interface = "`+iface+`"`)
	}
	t.Run("FullTunnelProfile", func(t *testing.T) {
		ns := labSENAT.clientNS
		before := hostAndDNS(t, ns)
		up := background(t, ns, fullProfile(t, "l2v-full", "l2v-fu0"), "l2v-full")
		pingOnce(t, ns, labSENAT.service)
		if r := routeGet(t, ns, "203.0.113.99"); !strings.Contains(r, "dev l2v-fu0") {
			t.Errorf("full tunnel: another address does not go through the tunnel: %s", r)
		}
		if r := routeGet(t, ns, labSENAT.server); !strings.Contains(r, "via 203.0.113.65") || strings.Contains(r, "l2v-fu0") {
			t.Errorf("full tunnel: the server is not pinned to the old gateway: %s", r)
		}
		if r := routeGet(t, ns, "2001:db8::1"); !strings.Contains(r, "unreachable") && !strings.Contains(r, "No route to host") {
			t.Errorf("full tunnel without IPV6CP: IPv6 is not blocked: %s", r)
		}
		if rc := resolvConf(t, ns); !strings.Contains(rc, "nameserver "+up.DNS[0]) || strings.Contains(rc, "192.0.2.53") {
			t.Errorf("full tunnel DNS: resolv.conf should hold only the tunnel's server:\n%s", rc)
		}
		st, _ := statusOf(t, ns, "l2v-full")
		if st.Routing != "full" || !strings.Contains(st.IPv6, "blocked") || st.DNSVia == "" {
			t.Errorf("status: %+v", st)
		}
		disconnectOK(t, ns, "l2v-full")
		sameHost(t, "full tunnel", before, hostAndDNS(t, ns))
	})

	t.Run("KillThenCleanup", func(t *testing.T) {
		ns := labSENAT.clientNS
		before := hostAndDNS(t, ns)
		background(t, ns, fullProfile(t, "l2v-kill", "l2v-ki0"), "l2v-kill")
		st, ok := statusOf(t, ns, "l2v-kill")
		if !ok || st.PID == 0 {
			t.Fatalf("status: %+v", st)
		}
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for i := 0; syscall.Kill(st.PID, 0) == nil; i++ {
			if i > 100 {
				t.Fatalf("pid %d still alive 5 s after SIGKILL", st.PID)
			}
			time.Sleep(50 * time.Millisecond) // waiting for the kernel to reap it
		}
		left := hostAndDNS(t, ns)
		if left == before {
			t.Fatalf("nothing was left behind by the killed client: the test proves nothing")
		}
		out, errOut, code := l2tpvpn(t, ns, "disconnect", "--cleanup", "l2v-kill")
		if code != 0 {
			t.Fatalf("disconnect --cleanup: exit %d\n%s\n%s", code, out, errOut)
		}
		t.Logf("disconnect --cleanup said:\n%s", strings.TrimSpace(out))
		sameHost(t, "after SIGKILL and cleanup", before, hostAndDNS(t, ns))
	})
}

// TestTwoConnections: SoftEther (L2TP/IPsec) and l2tpns (plain L2TP) from
// one client namespace at once, each with its own interface and status.
func TestTwoConnections(t *testing.T) {
	labSE.up(t)
	labL2TPNS.up(t)
	script(t, nil, "up", "dual")
	t.Cleanup(func() { exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "dual").Run() })
	ns := labSE.clientNS
	settle(t, ns)
	before := hostAndDNS(t, ns)
	pse := profile(t, "l2v-one",
		`server = "`+labSE.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
		`interface = "l2v-one0"`, `route = ["`+labSE.service+`/32"]`)
	pns := profile(t, "l2v-two",
		`server = "`+labL2TPNS.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `ipsec = "off"`,
		`interface = "l2v-two0"`, `route = ["`+labL2TPNS.service+`/32"]`, `auth = ["chap"]`)
	one := background(t, ns, pse, "l2v-one")
	two := background(t, ns, pns, "l2v-two")
	pingOnce(t, ns, labSE.service)
	pingOnce(t, ns, labL2TPNS.service)
	s1, ok1 := statusOf(t, ns, "l2v-one")
	s2, ok2 := statusOf(t, ns, "l2v-two")
	if !ok1 || !ok2 || s1.State != "up" || s2.State != "up" || s1.Interface != "l2v-one0" || s2.Interface != "l2v-two0" ||
		s1.IP != one.IP || s2.IP != two.IP || s1.IKE == "" || s2.IKE != "" {
		t.Fatalf("status:\n%+v\n%+v", s1, s2)
	}
	out, _, code := l2tpvpn(t, ns, "status", "--json")
	var all []status
	if code != 0 || json.Unmarshal([]byte(out), &all) != nil || len(all) < 2 {
		t.Fatalf("status --json (all): exit %d: %s", code, out)
	}
	t.Logf("two connections: %s %s via %s (%s) and %s %s via %s (plain L2TP)", s1.Name, s1.IP, s1.Interface, s1.IKE, s2.Name, s2.IP, s2.Interface)
	if st := labSE.sessions(t); !strings.Contains(st, "alice") {
		t.Errorf("SoftEther lists no session: %q", st)
	}
	disconnectOK(t, ns, "l2v-two")
	pingOnce(t, ns, labSE.service) // the other one is unaffected
	disconnectOK(t, ns, "l2v-one")
	sameHost(t, "two connections", before, hostAndDNS(t, ns))
}

// logEvents reads the events of a background connection's log, which
// holds slog text records (one format, issue 17 point 15): the up and
// reconnecting records, with the reconnecting fields the tests print.
func logEvents(t *testing.T, name string) []event {
	t.Helper()
	f, err := os.Open(filepath.Join(stateRoot, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		kv := logfmt(sc.Text())
		switch kv["msg"] {
		case "up":
			evs = append(evs, event{Event: "up"})
		case "reconnecting":
			ev := event{Event: "reconnecting", Error: kv["reason"]}
			fmt.Sscan(kv["attempt"], &ev.Attempt)
			if d, err := time.ParseDuration(kv["delay"]); err == nil {
				ev.DelayMS = d.Milliseconds()
			}
			evs = append(evs, ev)
		}
	}
	return evs
}

// logfmt splits a slog text record into its keys and values.
func logfmt(line string) map[string]string {
	kv := map[string]string{}
	for line != "" {
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			v, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		kv[strings.TrimSpace(k)] = v
		line = strings.TrimLeft(rest, " ")
	}
	return kv
}
