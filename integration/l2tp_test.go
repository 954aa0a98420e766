//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const transferSize = 10 << 20 // 10 MiB each way

// session runs the whole acceptance sequence for one server and method:
// up event, ping through the tunnel, 10 MiB each way verified, clean
// disconnect, the server's session list empty, host state unchanged.
func session(t *testing.T, l lab, auth string, extraEnv []string, args ...string) []event {
	before := hostState(t, l.clientNS)
	xfer := l.transferServer(t)

	c := startClient(t, l, extraEnv, append([]string{"--auth", auth}, args...)...)
	tun := c.waitEvent("l2tp.tunnel.up", 30*time.Second)
	c.waitEvent("l2tp.session.up", 15*time.Second)
	authEv := c.waitEvent("ppp.auth.ok", 20*time.Second)
	if want := strings.Split(auth, ",")[0]; authEv.Auth != want {
		t.Errorf("authenticated with %q, want %q", authEv.Auth, want)
	}
	ipEv := c.waitEvent("ppp.ip.up", 20*time.Second)
	up := c.waitEvent("up", 10*time.Second)
	t.Logf("%s/%s: up after %d ms (server vendor %q, ip %s, peer %s, dns %v, mtu %d)",
		l.name, auth, up.ElapsedMS, tun.PeerVendor, ipEv.IP, ipEv.Peer, ipEv.DNS, up.MTU)
	if up.Interface != "l2v-tun0" || up.IP == "" || up.MTU < 576 {
		t.Fatalf("bad up event: %+v", up)
	}

	// The interface exists with the negotiated address.
	if out, err := inNS(l.clientNS, "ip", "-o", "addr", "show", "dev", "l2v-tun0"); err != nil || !strings.Contains(out, up.IP+" ") && !strings.Contains(out, up.IP+"/") {
		t.Fatalf("l2v-tun0 does not carry %s: %v\n%s", up.IP, err, out)
	}
	if n := len(l.sessions(t)); n == 0 {
		t.Errorf("server lists no session while the client is up")
	}

	// Ping the service address through the tunnel.
	if out, err := inNS(l.clientNS, "ping", "-c", "3", "-W", "3", "-I", "l2v-tun0", l.service); err != nil {
		t.Fatalf("ping %s through the tunnel: %v\n%s", l.service, err, out)
	}
	// 10 MiB down and up, verified byte for byte.
	for _, mode := range []string{"get", "put"} {
		out, err := inNS(l.clientNS, labtool, mode, xfer, fmt.Sprint(transferSize), "42")
		if err != nil {
			// The client's own counters say where the packets went.
			d := c.disconnect()
			if d.Stats != nil {
				t.Logf("client counters: %+v", *d.Stats)
			}
			t.Fatalf("%s 10 MiB through the tunnel: %v\n%s", mode, err, out)
		}
		t.Logf("%s/%s: %s", l.name, auth, strings.TrimSpace(out))
	}

	down := c.disconnect()
	if down.Reason != "none" || down.Error != "" {
		t.Errorf("down event: reason %q error %q, want a clean disconnect", down.Reason, down.Error)
	}
	if down.Stats == nil || down.Stats.TxPackets < 1000 || down.Stats.RxPackets < 1000 {
		t.Errorf("down stats too low for a 20 MiB transfer: %+v", down.Stats)
	}
	waitNoSessions(t, l)
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host state changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	return c.eventsSoFar()
}

// waitNoSessions polls the server's session list: the server removes the
// session when it processes our CDN/StopCCN, which it acknowledged already.
func waitNoSessions(t *testing.T, l lab) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := l.sessions(t)
		if s == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still lists sessions 10 s after a clean disconnect:\n%s", s)
		}
		time.Sleep(250 * time.Millisecond) // polling an external server's state
	}
}

func TestSoftEther(t *testing.T) {
	labSE.up(t)
	t.Run("PAP", func(t *testing.T) { session(t, labSE, "pap", nil) })
	t.Run("MSCHAPv2", func(t *testing.T) { session(t, labSE, "mschapv2", nil) })
	t.Run("WrongPassword", func(t *testing.T) { wrongPassword(t, labSE, "mschapv2") })
	t.Run("Garbage", func(t *testing.T) { garbageDuringSession(t, labSE) })
}

func TestL2TPNS(t *testing.T) {
	labL2TPNS.up(t)
	t.Run("PAP", func(t *testing.T) { session(t, labL2TPNS, "pap", nil) })
	t.Run("CHAP", func(t *testing.T) { session(t, labL2TPNS, "chap", nil) })
	t.Run("WrongPassword", func(t *testing.T) { wrongPassword(t, labL2TPNS, "chap") })
}

func TestL2TPNSTunnelSecret(t *testing.T) {
	const secret = "l2v-tunnel-secret"
	labL2TPNS.up(t, "L2V_L2TP_SECRET="+secret)
	t.Run("CHAP", func(t *testing.T) {
		session(t, labL2TPNS, "chap", []string{"L2V_TEST_SECRET=" + secret}, "--l2tp-secret-env", "L2V_TEST_SECRET")
	})
	t.Run("WrongSecret", func(t *testing.T) {
		before := hostState(t, labL2TPNS.clientNS)
		c := startClient(t, labL2TPNS, []string{"L2V_TEST_SECRET=not-the-secret"}, "--l2tp-secret-env", "L2V_TEST_SECRET")
		if code := c.wait(); code != 4 {
			t.Fatalf("exit code %d with a wrong tunnel secret, want 4 (refused)", code)
		}
		if ev := c.last("down"); !strings.Contains(ev.Error, "secret") {
			t.Errorf("error does not point at the tunnel secret: %q", ev.Error)
		}
		if after := hostState(t, labL2TPNS.clientNS); after != before {
			t.Errorf("host state changed")
		}
	})
}

func wrongPassword(t *testing.T, l lab, auth string) {
	before := hostState(t, l.clientNS)
	start := time.Now()
	c := startClient(t, l, []string{"L2V_TEST_PASSWORD=wrong-password"}, "--auth", auth)
	code := c.wait()
	took := time.Since(start)
	t.Logf("%s/%s wrong password: exit %d after %v", l.name, auth, code, took.Round(time.Millisecond))
	if code != 5 {
		t.Fatalf("exit code %d, want 5 (authentication failed)", code)
	}
	if took > 10*time.Second {
		t.Errorf("took %v to report the failure, want under 10 s", took)
	}
	down := c.last("down")
	if down.Reason != "auth" || !strings.Contains(down.Error, "authentication") {
		t.Errorf("down event does not say authentication failed: %+v", down)
	}
	if strings.Contains(c.stderr.String(), "wrong-password") || strings.Contains(down.Error, "wrong-password") {
		t.Errorf("the password appears in the output")
	}
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host state changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	waitNoSessions(t, l)
}

// TestServerNotRunning aims at an address where nothing serves L2TP: the
// client must give up with the unreachable exit code within the documented
// retry time (1+2+4+8+8 = 23 s by default).
func TestServerNotRunning(t *testing.T) {
	labSE.up(t)
	labL2TPNS.up(t)
	se := labSE
	before := hostState(t, se.clientNS)
	fails := func(t *testing.T, l lab, env []string, want, hint string, args ...string) time.Duration {
		t.Helper()
		start := time.Now()
		c := startClient(t, l, env, args...)
		code := c.wait()
		took := time.Since(start)
		ev := c.last("down")
		t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), ev.Error)
		if code != 3 || ev.Reason != "unreachable" || !strings.Contains(ev.Error, want) {
			t.Fatalf("exit %d, down %+v; want exit 3, unreachable, %q", code, ev, want)
		}
		if hint != "" && !strings.Contains(c.stderr.String()+ev.Error, hint) {
			t.Errorf("the hint %q is not shown:\n%s", hint, c.stderr.String())
		}
		return took
	}
	t.Run("NothingListens", func(t *testing.T) {
		// SoftEther's host answers port unreachable on 1702 and speaks
		// IKE on 500: said within a second.
		l := lab{clientNS: se.clientNS, server: se.server + ":1702", service: se.service}
		if d := fails(t, l, nil, "nothing listens on UDP 1702", "this server speaks IKE"); d > 2*time.Second {
			t.Errorf("took %v, want under 2 s", d)
		}
	})
	t.Run("IPsecAgainstPlainServer", func(t *testing.T) {
		if d := fails(t, labL2TPNS, pskEnv, "nothing listens on UDP 500", "--ipsec off", ipsecArgs()...); d > 2*time.Second {
			t.Errorf("took %v, want under 2 s", d)
		}
	})
	t.Run("NoRoute", func(t *testing.T) {
		l := lab{clientNS: se.clientNS, server: "203.0.113.99", service: se.service}
		if d := fails(t, l, nil, "no route to 203.0.113.99", ""); d > 2*time.Second {
			t.Errorf("took %v, want under 2 s", d)
		}
	})
	t.Run("Filtered", func(t *testing.T) {
		// A firewall drops the datagrams: no ICMP, so the retransmissions
		// run out, after the documented 23 s: 25.5 s with local-port auto
		// (2.5 s from an ephemeral port, then 23 s from 1701).
		nftTable(t, se.clientNS, "l2v-filter", `
	chain out {
		type filter hook output priority 0;
		udp dport 1702 drop
	}`)
		l := lab{clientNS: se.clientNS, server: se.server + ":1702", service: se.service}
		if d := fails(t, l, nil, "no answer", ""); d < 22*time.Second || d > 29*time.Second {
			t.Errorf("gave up after %v, want the documented 25.5 s", d)
		}
	})
	if after := hostState(t, se.clientNS); after != before {
		t.Errorf("host state changed")
	}
}

// garbageDuringSession fires malformed datagrams from the server's address
// and port at the client's socket while a session is up; they must be
// dropped and counted, and the session must keep working.
func garbageDuringSession(t *testing.T, l lab) {
	const n = 200
	c := startClient(t, l, nil, "--auth", "mschapv2", "-v")
	tun := c.waitEvent("l2tp.tunnel.up", 30*time.Second)
	c.waitEvent("up", 30*time.Second)
	port := tun.Local[strings.LastIndexByte(tun.Local, ':')+1:]
	out, err := inNS(l.serverNS, labtool, "garbage", l.server+":1701", l.client+":"+port, fmt.Sprint(tun.TunnelID), fmt.Sprint(n))
	if err != nil {
		t.Fatalf("labtool garbage: %v\n%s", err, out)
	}
	if out, err := inNS(l.clientNS, "ping", "-c", "3", "-W", "3", "-I", "l2v-tun0", l.service); err != nil {
		t.Fatalf("ping after the garbage: %v\n%s", err, out)
	}
	down := c.disconnect()
	// The run had the debug log on: every control message logged, no secret.
	if log := c.stderr.String(); !strings.Contains(log, "SCCRP") || strings.Contains(log, password) {
		t.Errorf("debug log: has SCCRP line %v, contains the password %v", strings.Contains(log, "SCCRP"), strings.Contains(log, password))
	}
	s := down.Stats
	if s == nil {
		t.Fatal("down event has no stats")
	}
	dropped := s.RxMalformed + s.RxWrong + s.L2TPMalformed + s.PPPMalformed
	t.Logf("garbage: sent %d, counted rx_malformed=%d rx_wrong_session=%d l2tp_malformed=%d ppp_malformed=%d rx_dropped=%d",
		n, s.RxMalformed, s.RxWrong, s.L2TPMalformed, s.PPPMalformed, s.RxDropped)
	if dropped < n-1 { // the empty datagram may not count as one on every kernel path
		t.Errorf("only %d of %d malformed datagrams were counted as dropped", dropped, n)
	}
	waitNoSessions(t, l)
}
