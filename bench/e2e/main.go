// Command e2e is the end-to-end speed campaign of issue 15 (`make
// bench-e2e`, not part of `make test`). In network namespaces of its own
// (l2v-bench-*) it brings up, one after the other and round-robin, a
// wireguard-go pair (the speed anchor), l2tpvpn connect ↔ l2tpvpn serve with
// AES-128-GCM, with AES-128-CBC + HMAC-SHA1 and with plain L2TP, and an
// OpenVPN 2.6 pair when openvpn is installed, and through each runs iperf3:
// TCP with 1 and 4 streams, UDP 1400-byte packets as fast as it goes, and TCP
// and UDP at one fixed rate. It reads each tunnel process's CPU time and
// memory around every run, prints a table with each figure's ratio to
// wireguard-go from the same run, and writes the whole campaign as JSON.
//
// It needs root, iperf3, iproute2, wg (wireguard-tools) and openssl, and
// uses only TEST-NET addresses. Everything it creates is removed at the
// end, also on failure or Ctrl-C.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	out := flag.String("out", "", "JSON output path (default bench/results/e2e-DATE.json)")
	rounds := flag.Int("rounds", 2, "rounds; each round runs every system once, in turn")
	dur := flag.Duration("duration", 5*time.Second, "length of each iperf3 run (whole seconds)")
	rate := flag.String("rate", "200M", "the fixed iperf3 -b rate of the tcp-rate and udp-rate tests")
	only := flag.String("systems", "", "comma-separated system ids (default: all)")
	flag.StringVar(&profileDir, "profile", "", "write CPU profiles of l2tpvpn serve and connect to DIR/SYSTEM-{serve,client}.PID.pprof (L2TPVPN_CPUPROFILE)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fatal("bench-e2e: needs root (network namespaces, TUN devices)")
	}
	for _, tool := range []string{"ip", "iperf3", "ss", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			fatal("bench-e2e: %s is missing (Debian: iproute2, iperf3, openssl)", tool)
		}
	}
	systems := allSystems
	if *only != "" {
		systems = nil
		for _, s := range allSystems {
			if strings.Contains(","+*only+",", ","+s.ID+",") {
				systems = append(systems, s)
			}
		}
	}
	if *out == "" {
		*out = filepath.Join("bench", "results", "e2e-"+time.Now().Format("2006-01-02")+".json")
	}

	dir, err := os.MkdirTemp("", "l2v-bench-")
	if err != nil {
		fatal("bench-e2e: %v", err)
	}
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			stopAll()
			removeNamespaces()
			for _, ifc := range []string{"l2vbwgc", "l2vbwgs"} {
				os.Remove("/var/run/wireguard/" + ifc + ".sock")
			}
			os.RemoveAll(dir)
		})
	}
	defer cleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "bench-e2e: %v: cleaning up\n", s)
		cleanup()
		os.Exit(1)
	}()

	e := &env{dir: dir, l2tpvpn: filepath.Join(dir, "l2tpvpn"), wgo: filepath.Join(dir, "wireguard-go")}
	for _, b := range [][]string{{e.l2tpvpn, "./cmd/l2tpvpn"}, {e.wgo, "golang.zx2c4.com/wireguard"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			cleanup()
			fatal("bench-e2e: go build %s: %v\n%s", b[1], err, out)
		}
	}
	if err := setupNamespaces(); err != nil {
		cleanup()
		fatal("bench-e2e: %v", err)
	}

	rep := &report{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(),
		Config: campaignConfig{Rounds: *rounds, Seconds: int(dur.Seconds()), Rate: *rate, MTU: tunnelMTU, UDPPayload: udpPayload},
		Tests:  testSpecs(*dur, *rate)}
	rep.LoadStart[0], rep.LoadStart[1], rep.LoadStart[2] = loadAvg()
	began := time.Now()
	states := map[string]*systemState{}
	for _, s := range systems {
		st := &systemState{ID: s.ID, Desc: s.Desc, Notes: map[string]string{}}
		states[s.ID] = st
		rep.Systems = append(rep.Systems, st)
		rep.Config.Order = append(rep.Config.Order, s.ID)
	}
	for round := 1; round <= *rounds; round++ {
		for _, s := range systems {
			runs := runSystem(e, s, states[s.ID], rep.Tests, round, *dur)
			rep.Runs = append(rep.Runs, runs...)
		}
	}
	rep.DurationS = time.Since(began).Seconds()
	cleanup()
	rep.LoadEnd[0], rep.LoadEnd[1], rep.LoadEnd[2] = loadAvg()
	rep.Summary = summarize(rep.Systems, rep.Tests, rep.Runs)
	rep.Notes = notes
	printTables(os.Stdout, rep)

	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fatal("bench-e2e: %v", err)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fatal("bench-e2e: %v", err)
	}
	fmt.Printf("\nwrote %s (load average %.2f at the start, %.2f at the end; %.0f s)\n", *out, rep.LoadStart[0], rep.LoadEnd[0], rep.DurationS)
}

var notes = []string{
	"Client and server ends, both iperf3 ends and every tunnel process share the machine's cores; machine_busy_cores is the whole machine's busy time during a run, other users' included.",
	"Packets are 1400-byte IP packets (the tunnels' MTU): for TCP, payload bytes / 1348 (IPv4 + TCP + timestamps = 52 bytes); for UDP, iperf3's counts (sent for the client side, received for the server side). µs per packet is a tunnel process's utime+stime over the run divided by them; it includes kernel work done in that process's context (its socket and TUN syscalls, and the softirq work they trigger).",
	"The client sends (iperf3 runs in the client namespace towards the server end's tunnel address).",
	"l2tpvpn-plain stands in for the issue's l2tpns run: l2tpns needs the shared lab, which this campaign does not touch.",
}

// runSystem brings s up, runs every test through it and takes it down.
func runSystem(e *env, s system, st *systemState, tests []testSpec, round int, d time.Duration) []runResult {
	fmt.Printf("round %d: %s: starting\n", round, s.ID)
	t0 := time.Now()
	t, err := s.start(e)
	if err != nil {
		fmt.Printf("round %d: %s: did not come up: %v\n", round, s.ID, err)
		st.Errors = append(st.Errors, fmt.Sprintf("round %d: %v", round, err))
		return nil
	}
	defer t.stop()
	st.SetupS = append(st.SetupS, round3(time.Since(t0).Seconds()))
	st.RoundsUp++
	for k, v := range t.notes {
		st.Notes[k] = v
	}
	st.ClientBin, st.ServerBin = procName(t.client.pid()), procName(t.server.pid())
	time.Sleep(time.Second) // settle before the idle reading
	st.ClientIdle = max(st.ClientIdle, rssKB(t.client.pid()))
	st.ServerIdle = max(st.ServerIdle, rssKB(t.server.pid()))
	srv, err := startIperfServer()
	if err != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("round %d: %v", round, err))
		return nil
	}
	defer srv.stop(syscall.SIGTERM, 3*time.Second)
	var runs []runResult
	for _, spec := range tests {
		r := measureRetry(t, spec, d)
		r.System, r.Round = s.ID, round
		runs = append(runs, r)
		st.ClientLoad = max(st.ClientLoad, r.ClientRSSKB)
		st.ServerLoad = max(st.ServerLoad, r.ServerRSSKB)
		if r.Err != "" {
			fmt.Printf("round %d: %s %s: %s\n", round, s.ID, spec.ID, r.Err)
			st.Errors = append(st.Errors, fmt.Sprintf("round %d %s: %s", round, spec.ID, r.Err))
			continue
		}
		fmt.Printf("round %d: %-14s %-8s %6.2f Gbit/s %7.1f kpps  cores c %.2f s %.2f  µs/pkt c %.2f s %.2f  (machine busy %.2f cores)\n",
			round, s.ID, spec.ID, r.Gbps, r.Kpps, r.ClientCores, r.ServerCores, r.ClientUsPerPkt, r.ServerUsPerPkt, r.MachineBusyCores)
		time.Sleep(500 * time.Millisecond)
	}
	return runs
}

func procName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func machine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version(), Versions: map[string]string{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m.Kernel = strings.TrimSpace(string(b))
	for name, cmd := range map[string][]string{
		"iperf3":       {"iperf3", "--version"},
		"openvpn":      {"openvpn", "--version"},
		"wg":           {"wg", "--version"},
		"wireguard-go": {"go", "list", "-m", "golang.zx2c4.com/wireguard"},
		"l2tpvpn":      {"git", "describe", "--always", "--dirty"},
	} {
		out, _ := exec.Command(cmd[0], cmd[1:]...).Output()
		m.Versions[name] = firstLine(strings.TrimSpace(string(out)))
	}
	return m
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
