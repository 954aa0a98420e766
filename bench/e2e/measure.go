package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// udpPayload makes every UDP test packet a 1400-byte IP packet (20 bytes
// of IPv4 and 8 of UDP), the tunnels' MTU, so nothing is fragmented.
const udpPayload = tunnelMTU - 28

// tcpSegment is the TCP payload of a full 1400-byte packet (IPv4 20, TCP
// 20, timestamps option 12): TCP's packet count is bytes / tcpSegment.
const tcpSegment = tunnelMTU - 52

type testSpec struct {
	ID   string   `json:"id"`
	Desc string   `json:"description"`
	Args []string `json:"iperf3_args"`
	UDP  bool     `json:"udp"`
}

func testSpecs(d time.Duration, rate string) []testSpec {
	secs := strconv.Itoa(int(d.Seconds()))
	l := strconv.Itoa(udpPayload)
	return []testSpec{
		{ID: "tcp1", Desc: "TCP, 1 stream", Args: []string{"-t", secs}},
		{ID: "tcp4", Desc: "TCP, 4 streams", Args: []string{"-t", secs, "-P", "4"}},
		{ID: "udp", Desc: "UDP, 1400-byte packets, unlimited rate", Args: []string{"-u", "-b", "0", "-l", l, "-t", secs}, UDP: true},
		{ID: "tcp-rate", Desc: "TCP, 1 stream, paced at " + rate + "bit/s", Args: []string{"-t", secs, "-b", rate}},
		// The other direction (iperf3 -R): the server's side sends, the
		// client's tunnel receives, so its µs per packet are the receive path's.
		{ID: "tcp1-rev", Desc: "TCP, 1 stream, server to client (-R: the client receives)", Args: []string{"-t", secs, "-R"}},
		{ID: "tcp-rate-rev", Desc: "TCP, 1 stream, server to client (-R), paced at " + rate + "bit/s", Args: []string{"-t", secs, "-R", "-b", rate}},
		{ID: "udp-rate", Desc: "UDP, 1400-byte packets at " + rate + "bit/s", Args: []string{"-u", "-b", rate, "-l", l, "-t", secs}, UDP: true},
	}
}

// runResult is one iperf3 run through one system. Packets are 1400-byte IP
// packets: TCP's are payload bytes / 1348, UDP's are iperf3's own counts
// (for the client, which sends, the packets its tunnel read from the TUN; for the server, those iperf3 received). Cores and
// µs per packet are utime+stime of each tunnel process over the run.
type runResult struct {
	System           string  `json:"system"`
	Test             string  `json:"test"`
	Round            int     `json:"round"`
	Start            string  `json:"start"`
	Seconds          float64 `json:"seconds"`
	Gbps             float64 `json:"gbit_s"` // received
	Kpps             float64 `json:"kpps"`   // received packets per second, thousands
	SentPackets      int64   `json:"sent_packets"`
	RecvPackets      int64   `json:"received_packets"`
	LostPercent      float64 `json:"lost_percent,omitempty"`
	Retransmits      int64   `json:"tcp_retransmits,omitempty"`
	ClientCores      float64 `json:"client_cores"`
	ServerCores      float64 `json:"server_cores"`
	ClientUsPerPkt   float64 `json:"client_us_per_packet"`
	ServerUsPerPkt   float64 `json:"server_us_per_packet"`
	ClientRSSKB      int64   `json:"client_rss_peak_kb"`
	ServerRSSKB      int64   `json:"server_rss_peak_kb"`
	ClientTUNRead    int64   `json:"client_tun_tx_packets"` // read from the client's TUN by the tunnel
	ClientTUNDropped int64   `json:"client_tun_tx_dropped"` // dropped at the client's TUN, never read
	ServerTUNWrite   int64   `json:"server_tun_rx_packets"` // written to the server's TUN (GRO: one per batch)
	MachineBusyCores float64 `json:"machine_busy_cores"`    // all of the machine, other engineers' work included
	LoadAvg1         float64 `json:"loadavg_1m_before"`
	Err              string  `json:"error,omitempty"`
}

// cpuTicks is utime+stime of every thread of pid, dead ones included.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statTicks(string(b))
}

// statTicks reads utime+stime from a /proc/PID/stat line; the command name
// in parentheses may itself hold spaces and parentheses.
func statTicks(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')'")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: bad utime/stime")
	}
	return u + st, nil
}

// rssKB is VmRSS of pid in KiB (0 if it is gone).
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// machineTicks returns the busy and total ticks of all CPUs (/proc/stat).
func machineTicks() (busy, total int64) {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait; guest is already in user
			busy += n
		}
	}
	return busy, total
}

func loadAvg() (one, five, fifteen float64) {
	b, _ := os.ReadFile("/proc/loadavg")
	fmt.Sscan(string(b), &one, &five, &fifteen)
	return
}

// tunCounters reads a device's statistics inside a namespace.
func tunCounters(ns, ifc string, names ...string) []int64 {
	var paths []string
	for _, n := range names {
		paths = append(paths, "/sys/class/net/"+ifc+"/statistics/"+n)
	}
	out, _ := inNS(ns, append([]string{"cat"}, paths...)...)
	v := make([]int64, len(names))
	for i, f := range strings.Fields(out) {
		if i < len(v) {
			v[i], _ = strconv.ParseInt(f, 10, 64)
		}
	}
	return v
}

// startIperfServer runs iperf3 -s in the server namespace and waits until
// it listens.
func startIperfServer() (*proc, error) {
	p, err := startIn(nsServer, "iperf3 -s", nil, "iperf3", "-s", "-p", "5201")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := inNS(nsServer, "ss", "-Hltn", "sport = :5201")
		if strings.TrimSpace(out) != "" {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop(9, 0)
			return nil, fmt.Errorf("iperf3 -s does not listen: %s", p.output(5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type iperfJSON struct {
	End struct {
		SumSent     iperfSum `json:"sum_sent"`
		SumReceived iperfSum `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

type iperfSum struct {
	Seconds     float64 `json:"seconds"`
	Bytes       int64   `json:"bytes"`
	BPS         float64 `json:"bits_per_second"`
	Packets     int64   `json:"packets"`
	Lost        int64   `json:"lost_packets"`
	LostPercent float64 `json:"lost_percent"`
	Retransmits int64   `json:"retransmits"`
}

// measureRetry is measure, tried up to 3 times while iperf3's server says it
// is still busy with the previous run (it finishes a run after the client
// has its result; there is nothing to wait on but the refusal itself).
func measureRetry(t *tunnel, spec testSpec, d time.Duration) runResult {
	for try := 1; ; try++ {
		r := measure(t, spec, d)
		if try == 3 || !strings.Contains(r.Err, "server is busy") {
			return r
		}
		time.Sleep(time.Duration(try) * time.Second)
	}
}

// measure runs one iperf3 client through tunnel t and reads the tunnel
// processes' CPU time and memory around it.
func measure(t *tunnel, spec testSpec, d time.Duration) runResult {
	r := runResult{Test: spec.ID, Start: time.Now().UTC().Format(time.RFC3339)}
	r.LoadAvg1, _, _ = loadAvg()
	cpid, spid := t.client.pid(), t.server.pid()
	c0, err1 := cpuTicks(cpid)
	s0, err2 := cpuTicks(spid)
	if err1 != nil || err2 != nil {
		r.Err = fmt.Sprintf("tunnel process gone before the run: %v %v", err1, err2)
		return r
	}
	ct0 := tunCounters(nsClient, t.clientIf, "tx_packets", "tx_dropped")
	st0 := tunCounters(nsServer, t.serverIf, "rx_packets")
	mb0, mt0 := machineTicks()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // peak RSS
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			r.ClientRSSKB = max(r.ClientRSSKB, rssKB(cpid))
			r.ServerRSSKB = max(r.ServerRSSKB, rssKB(spid))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	args := append([]string{"netns", "exec", nsClient, "iperf3", "-c", innerServer, "-p", "5201", "-J", "--connect-timeout", "5000"}, spec.Args...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	track(cmd, true)
	out, err := cmd.Output()
	track(cmd, false)
	cancel()
	wall := time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	c1, err1 := cpuTicks(cpid)
	s1, err2 := cpuTicks(spid)
	mb1, mt1 := machineTicks()
	ct1 := tunCounters(nsClient, t.clientIf, "tx_packets", "tx_dropped")
	st1 := tunCounters(nsServer, t.serverIf, "rx_packets")
	r.ClientTUNRead, r.ClientTUNDropped, r.ServerTUNWrite = ct1[0]-ct0[0], ct1[1]-ct0[1], st1[0]-st0[0]
	if err1 != nil || err2 != nil {
		r.Err = fmt.Sprintf("tunnel process died during the run: %v %v", err1, err2)
		return r
	}
	// /proc/stat's first line adds up every CPU's ticks.
	if mt1 > mt0 {
		r.MachineBusyCores = float64(mb1-mb0) / clockTicks / wall
	}
	var j iperfJSON
	if jerr := json.Unmarshal(out, &j); jerr != nil || j.Error != "" || err != nil {
		r.Err = strings.TrimSpace(fmt.Sprintf("iperf3: %v %s", err, j.Error))
		return r
	}
	sent, recv := j.End.SumSent, j.End.SumReceived
	r.Seconds = recv.Seconds
	r.Gbps = recv.BPS / 1e9
	if spec.UDP {
		// What the client's tunnel read from its TUN, not what iperf3
		// wrote: beyond the tunnel's speed the TUN queue drops the rest.
		r.SentPackets, r.RecvPackets = min(sent.Packets, r.ClientTUNRead), recv.Packets-recv.Lost
		if r.ClientTUNRead == 0 {
			r.SentPackets = sent.Packets
		}
		r.LostPercent = recv.LostPercent
	} else {
		r.SentPackets, r.RecvPackets = sent.Bytes/tcpSegment, recv.Bytes/tcpSegment
		r.Retransmits = sent.Retransmits
	}
	if r.Seconds > 0 {
		r.Kpps = float64(r.RecvPackets) / r.Seconds / 1e3
	}
	cs, ss := float64(c1-c0)/clockTicks, float64(s1-s0)/clockTicks
	r.ClientCores, r.ServerCores = cs/wall, ss/wall
	if r.SentPackets > 0 && r.RecvPackets > 0 {
		r.ClientUsPerPkt = cs * 1e6 / float64(r.SentPackets)
		r.ServerUsPerPkt = ss * 1e6 / float64(r.RecvPackets)
	}
	return r
}
