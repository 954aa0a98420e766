//go:build integration

package integration

// The client survives real networks: loss, rekeys under load, a server
// named by a host name that restarts, a roaming client, garbage under load.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// addLoss drops pct % of the packets in each direction on the client's
// veth (nftables: the kernel has no netem) until the test ends.
func addLoss(t *testing.T, ns, veth string, pct int) {
	t.Helper()
	nftTable(t, ns, "l2v-loss", fmt.Sprintf(`
	chain in {
		type filter hook input priority 0;
		iifname "%[1]s" numgen random mod 100 < %[2]d drop
	}
	chain out {
		type filter hook output priority 0;
		oifname "%[1]s" numgen random mod 100 < %[2]d drop
	}`, veth, pct))
}

// nftTable loads the inet table name with body into ns until the test ends.
func nftTable(t *testing.T, ns, name, body string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), name+".nft")
	if err := os.WriteFile(f, []byte("table inet "+name+" {"+body+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := inNS(ns, "nft", "-f", f); err != nil {
		t.Fatalf("nft table %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { inNS(ns, "nft", "delete", "table", "inet", name) })
}

// transfer moves size bytes each way through the tunnel, verified.
func transfer(t *testing.T, l lab, xfer string, size int, timeout time.Duration) {
	t.Helper()
	for _, mode := range []string{"get", "put"} {
		start := time.Now()
		out, err := inNS(l.clientNS, "timeout", fmt.Sprint(int(timeout.Seconds())), labtool, mode, xfer, fmt.Sprint(size), "7")
		if err != nil {
			t.Fatalf("%s %d bytes through the tunnel: %v\n%s", mode, size, err, out)
		}
		t.Logf("%s %d MiB in %v: %s", mode, size>>20, time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	}
}

func noReconnects(t *testing.T, c *client) {
	t.Helper()
	for _, ev := range c.eventsSoFar() {
		if ev.Event == "reconnecting" {
			t.Errorf("reconnecting event: %s (%s)", ev.Error, ev.Reason)
		}
	}
}

// TestStrongSwanSurviveLoss is TestSurviveLoss's strongSwan case, a test of
// its own so that it runs with the other sw lab tests.
func TestStrongSwanSurviveLoss(t *testing.T) {
	surviveLoss10(t, labCase{"StrongSwanIPsec10", labSW, pskEnv, ipsecArgs("--auth", "pap", "--esp-mode", "tunnel")})
}

// surviveLoss10 connects at 10 % loss and moves 10 MiB each way.
func surviveLoss10(t *testing.T, tc labCase) {
	t.Run(tc.name, func(t *testing.T) {
		tc.l.up(t)
		xfer := tc.l.transferServer(t)
		addLoss(t, tc.l.clientNS, tc.l.clientNS+"0", 10)
		c := startClient(t, tc.l, tc.env, tc.args...)
		up := c.waitEvent("up", 90*time.Second)
		t.Logf("up at 10%% loss after %d ms", up.ElapsedMS)
		transfer(t, tc.l, xfer, 10<<20, 5*time.Minute)
		c.disconnect()
	})
}

func TestSurviveLoss(t *testing.T) {
	// 10 MiB each way through l2tpns, plain and behind strongSwan's IPsec.
	// PAP: when loss makes l2tpns renegotiate LCP during CHAP, it sends a
	// second Challenge right after the first and ends the session when
	// the Response to the first arrives ("Unexpected CHAP response ID"),
	// an l2tpns bug no client can avoid (seen about once in ten runs).
	surviveLoss10(t, labCase{"L2TPNSPlain10", labL2TPNS, nil, []string{"--auth", "pap"}})
	t.Run("SoftEtherIPsec10", func(t *testing.T) {
		// SoftEther's SecureNAT collapses TCP under loss by itself (LAB.md):
		// judge the connect and ping only.
		labSE.up(t)
		addLoss(t, labSE.clientNS, labSE.clientNS+"0", 10)
		c := startClient(t, labSE, pskEnv, ipsecArgs("--auth", "mschapv2")...)
		up := c.waitEvent("up", 90*time.Second)
		t.Logf("up at 10%% loss after %d ms", up.ElapsedMS)
		if out, err := inNS(labSE.clientNS, "ping", "-c", "10", "-i", "0.2", "-W", "2", labSE.service); err != nil {
			t.Fatalf("no ping through the tunnel at 10%% loss: %v\n%s", err, out)
		}
		c.disconnect()
	})
	t.Run("L2TPNSPlain30", func(t *testing.T) {
		// At 30 % the connect either succeeds or fails with a reason,
		// within its documented time: each phase gives up after its
		// retransmissions (L2TP: 1+2+4+8+8 s, then PPP's Max-Configure).
		labL2TPNS.up(t)
		addLoss(t, labL2TPNS.clientNS, labL2TPNS.clientNS+"0", 30)
		start := time.Now()
		c := startClient(t, labL2TPNS, nil, "--auth", "pap")
		for ev := range c.events {
			if ev.Event == "up" {
				t.Logf("up at 30%% loss after %d ms", ev.ElapsedMS)
				c.disconnect()
				return
			}
			if ev.Event == "down" {
				if ev.Reason == "" || ev.Reason == "none" || ev.Error == "" {
					t.Errorf("down without a reason at 30%% loss: %+v", ev)
				}
				t.Logf("failed at 30%% loss after %v: %s (%s)", time.Since(start).Round(time.Millisecond), ev.Error, ev.Reason)
				break
			}
		}
		c.wait()
		if d := time.Since(start); d > 90*time.Second {
			t.Errorf("the attempt took %v: it should give up well within 90 s", d)
		}
	})
}

func TestSurviveGarbageUnderLoad(t *testing.T) {
	labSE.up(t)
	xfer := labSE.transferServer(t)
	c := startClient(t, labSE, pskEnv, ipsecArgs("--auth", "mschapv2")...)
	conn := c.waitEvent("connecting", 10*time.Second)
	p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
	c.waitEvent("up", 30*time.Second)
	local := conn.Local
	done := make(chan error, 1)
	go func() {
		out, err := inNS(labSE.clientNS, "timeout", "120", labtool, "get", xfer, fmt.Sprint(20<<20), "9")
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		done <- err
	}()
	for _, src := range []string{labSE.server + ":4500", labSE.server + ":500"} {
		out, err := inNS(labSE.serverNS, labtool, "esp-garbage", src, local, p2.SPIIn, "3000")
		if err != nil {
			t.Fatalf("esp-garbage from %s: %v\n%s", src, err, out)
		}
	}
	if out, err := inNS(labSE.serverNS, labtool, "garbage", labSE.server+":4500", local, "1", "200"); err != nil {
		t.Fatalf("garbage: %v\n%s", err, out)
	}
	if err := <-done; err != nil {
		t.Fatalf("20 MiB download under garbage: %v", err)
	}
	if out, err := inNS(labSE.clientNS, "ping", "-c", "2", "-W", "2", labSE.service); err != nil {
		t.Fatalf("ping after the garbage: %v\n%s", err, out)
	}
	down := c.disconnect()
	noReconnects(t, c)
	s := down.Stats
	if s == nil || s.ESPAuthFailed == 0 || s.ESPUnknownSPI == 0 || s.RxDropped == 0 {
		t.Fatalf("garbage not counted as dropped: %+v", s)
	}
	t.Logf("dropped %d (esp auth %d, unknown spi %d, invalid %d, malformed %d, keepalives %d)",
		s.RxDropped, s.ESPAuthFailed, s.ESPUnknownSPI, s.ESPInvalid, s.RxMalformed, s.NATKeepalives)
}

func TestStrongSwanSurviveRekeysUnderLoad(t *testing.T) {
	// The server rekeys the child at 45 s, we rekey both SAs at 90 % of
	// 60 s: over 150 s both sides start rekeys of both phases.
	labSW.up(t, "L2V_SW_REKEY=45")
	c := startClient(t, labSW, pskEnv, ipsecArgs("--auth", "chap", "--esp-mode", "tunnel",
		"--ike-lifetime", "60s", "--esp-lifetime", "60s")...)
	c.waitEvent("up", 30*time.Second)
	out, err := inNS(labSW.clientNS, "iperf3", "-c", labSW.service, "-t", "150", "-b", "20M", "-i", "30")
	if err != nil {
		t.Fatalf("150 s TCP stream through rekeys broke: %v\n%s", err, out)
	}
	t.Logf("iperf3:\n%s", tail(strings.TrimSpace(out), 6))
	c.disconnect()
	noReconnects(t, c)
	p1, p2 := 0, 0
	for _, ev := range c.eventsSoFar() {
		switch {
		case ev.Event == "ike.phase1.rekeyed":
			p1++
		case ev.Event == "ike.phase2.up" && ev.Rekey:
			p2++
		}
	}
	t.Logf("phase 1 rekeys %d, phase 2 rekeys %d", p1, p2)
	if p1 < 2 || p2 < 2 {
		t.Errorf("phase 1 rekeys %d, phase 2 rekeys %d; want at least 2 of each", p1, p2)
	}
}

// dnsmasq serves vpn.lab.example -> server in the lab's server namespace at
// 192.0.2.53, the address in the client namespace's resolv.conf, which the
// client reaches by its default route (so a full tunnel covers it).
func dnsmasq(t *testing.T, l lab) string {
	t.Helper()
	if out, err := inNS(l.serverNS, "ip", "addr", "add", "192.0.2.53/32", "dev", "lo"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := inNS(l.clientNS, "ip", "route", "replace", "default", "via", l.server); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { inNS(l.clientNS, "ip", "route", "del", "default", "via", l.server) })
	logFile := filepath.Join(t.TempDir(), "dnsmasq.log")
	cmd := exec.Command("ip", "netns", "exec", l.serverNS, "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--bind-interfaces", "--listen-address=192.0.2.53", "--address=/vpn.lab.example/"+l.server,
		"--log-queries", "--log-facility="+logFile, "--pid-file="+filepath.Join(t.TempDir(), "dnsmasq.pid"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("dnsmasq: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := inNS(l.clientNS, "getent", "ahostsv4", "vpn.lab.example"); err == nil && strings.Contains(out, l.server) {
			return logFile
		}
		if time.Now().After(deadline) {
			t.Fatalf("vpn.lab.example does not resolve through dnsmasq")
		}
		time.Sleep(100 * time.Millisecond) // waiting for dnsmasq to listen
	}
}

func queries(logFile string) int {
	b, _ := os.ReadFile(logFile)
	return strings.Count(string(b), "query[A] vpn.lab.example")
}

func TestSurviveHostNameRestart(t *testing.T) {
	labSE.up(t)
	ns := labSE.clientNS
	dnsLog := dnsmasq(t, labSE)
	p := profile(t, "l2v-hn",
		`server = "vpn.lab.example"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `psk = "file:@PSKFILE@"`,
		`interface = "l2v-hn0"`, `routing = "full"`, `reconnect-delay = "1s"`)
	background(t, ns, p, "l2v-hn", "-v")
	pingOnce(t, ns, labSE.service)
	if r := routeGet(t, ns, "192.0.2.53"); !strings.Contains(r, "dev l2v-hn0") {
		t.Fatalf("full tunnel: the resolver should be routed into the tunnel: %s", r)
	}
	before := queries(dnsLog)
	start := time.Now()
	script(t, nil, "restart-server", "se")
	back := trafficBack(t, ns, "l2v-hn", labSE.service, start)
	t.Logf("traffic flows again %v after the restart began", back.Round(time.Millisecond))
	if after := queries(dnsLog); after <= before {
		t.Errorf("the reconnect did not ask the lab's DNS for vpn.lab.example again (queries %d -> %d)", before, after)
	}
	disconnectOK(t, ns, "l2v-hn")
}

func TestSurviveRoaming(t *testing.T) {
	l := labL2TPNS
	l.up(t)
	ns := l.clientNS
	// A second way out of the client: l2v-rm-c0 192.0.2.82/28 <-> l2v-rm-s0
	// 192.0.2.81/28 in the server namespace.
	for _, args := range [][]string{
		{"ip", "link", "add", "l2v-rm-c0", "netns", ns, "type", "veth", "peer", "name", "l2v-rm-s0", "netns", l.serverNS},
		{"ip", "-n", ns, "addr", "add", "192.0.2.82/28", "dev", "l2v-rm-c0"},
		{"ip", "-n", ns, "link", "set", "l2v-rm-c0", "up"},
		{"ip", "-n", l.serverNS, "addr", "add", "192.0.2.81/28", "dev", "l2v-rm-s0"},
		{"ip", "-n", l.serverNS, "link", "set", "l2v-rm-s0", "up"},
		{"ip", "-n", ns, "route", "replace", "default", "via", l.server, "dev", ns + "0"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "-n", l.serverNS, "link", "del", "l2v-rm-s0").Run() })
	settle(t, ns)
	p := profile(t, "l2v-rm",
		`server = "`+l.server+`"`, `user = "alice"`, `password = "env:L2V_TEST_PASSWORD"`, `ipsec = "off"`, `auth = ["chap"]`,
		`interface = "l2v-rm0"`, `routing = "full"`, `reconnect-delay = "1s"`)
	background(t, ns, p, "l2v-rm", "-v")
	pingOnce(t, ns, l.service)
	if r := routeGet(t, ns, l.server); !strings.Contains(r, "dev "+ns+"0") {
		t.Fatalf("server route before the roam: %s", r)
	}
	// Roam: the first interface loses its address and goes down; the
	// default route now leaves by the second.
	start := time.Now()
	for _, args := range [][]string{
		{"ip", "-n", ns, "addr", "flush", "dev", ns + "0"},
		{"ip", "-n", ns, "link", "set", ns + "0", "down"},
		{"ip", "-n", ns, "route", "replace", "default", "via", "192.0.2.81", "dev", "l2v-rm-c0"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	back := trafficBack(t, ns, "l2v-rm", l.service, start)
	t.Logf("traffic flows again %v after the roam", back.Round(time.Millisecond))
	if r := routeGet(t, ns, l.server); !strings.Contains(r, "via 192.0.2.81 dev l2v-rm-c0") {
		t.Errorf("the server route did not follow the roam: %s", r)
	}
	pinned, _ := exec.Command("ip", "-n", ns, "route", "show", "proto", "76", l.server).CombinedOutput()
	if !strings.Contains(string(pinned), "via 192.0.2.81 dev l2v-rm-c0") {
		t.Errorf("pinned server route after the roam: %q", pinned)
	}
	disconnectOK(t, ns, "l2v-rm")
}

// TestStrongSwanDelegatedFullTunnel is issue 10 defect 8.
func TestStrongSwanDelegatedFullTunnel(t *testing.T) {
	labSW.up(t)
	script(t, nil, "up", "swc")
	t.Cleanup(func() { exec.Command(filepath.Join(root, "scripts", "lab.sh"), "down", "swc").Run() })
	// Full tunnel (the default routing): the server's pinned route
	// must follow the underlay, not charon's table 220 into ipsec0,
	// or charon's own ESP loops into the tunnel right after "up".
	c := startClient(t, labSW, pskEnv, charonArgs("--esp-mode", "tunnel", "--routing", "full", "--name", "l2v-dfull")...)
	c.waitEvent("up", 30*time.Second)
	if r := routeGet(t, labSW.clientNS, labSW.service); !strings.Contains(r, "dev l2v-tun0") {
		t.Fatalf("full tunnel does not route the service into the tunnel: %s", r)
	}
	pinned, _ := exec.Command("ip", "-n", labSW.clientNS, "route", "show", "proto", "76", labSW.server).CombinedOutput()
	if !strings.Contains(string(pinned), "dev l2v-sw-c0") {
		t.Errorf("server route pinned to %q, want the underlay l2v-sw-c0", pinned)
	}
	// Traffic keeps flowing well after "up" (DPD and keepalives pass).
	for i := 0; i < 3; i++ {
		if out, err := inNS(labSW.clientNS, "ping", "-c", "3", "-W", "2", labSW.service); err != nil {
			t.Fatalf("ping %d through the full tunnel: %v\n%s", i, err, out)
		}
	}
	c.disconnect()
	noReconnects(t, c)
	nothingOfOurs(t)
}
