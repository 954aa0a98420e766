//go:build integration

package integration

// The underlay over IPv6: the server reachable only at an IPv6 address.
// The labs' veths get documentation addresses (2001:db8::/32, nodad so
// they are usable at once) for the test's duration; the client is given
// the IPv6 address as --server. Nothing else changes: the service behind
// the tunnel and the PPP addresses stay IPv4.
//
// SoftEther opens its L2TP (1701) and IPsec (500, 4500) ports on every
// address of the host, IPv6 ones included, and re-reads the address list
// every second (Mayaqua's UdpListenerThread, UDPLISTENER_CHECK_INTERVAL;
// Proto_IKE.c does transport mode over IPv6, computing the IPv6 UDP
// checksum), so both L2TP/IPsec and plain L2TP work over IPv6 against it.
// (Its tunnel mode carries only EtherIP and L2TPv3, in either family.) In the sw lab strongSwan speaks
// IKE and ESP over IPv6, but l2tpns behind it binds its L2TP socket to an
// IPv4 address only (initudp: AF_INET, bind_address): the IPsec half comes
// up over IPv6, and the L2TP inside the tunnel (to the server's IPv6
// address, the traffic selectors being the endpoints) finds no listener.
// With L2V_SW_LNS=softether the sw lab has SoftEther's raw L2TP behind
// charon instead, listening on IPv6 too, and the whole session works.

import (
	"strings"
	"testing"
	"time"
)

// addIPv6 puts addr (with its prefix length) on dev in ns and removes it
// when the test ends.
func addIPv6(t *testing.T, ns, dev, addr string) {
	t.Helper()
	if out, err := inNS(ns, "ip", "-6", "addr", "add", addr, "dev", dev, "nodad"); err != nil {
		t.Fatalf("add %s to %s in %s: %v\n%s", addr, dev, ns, err, out)
	}
	t.Cleanup(func() { inNS(ns, "ip", "-6", "addr", "del", addr, "dev", dev) })
}

// ipv6Lab is l with the IPv6 underlay addresses added to its veths.
func ipv6Lab(t *testing.T, l lab, sveth, cveth, prefix string) lab {
	t.Helper()
	addIPv6(t, l.serverNS, sveth, prefix+"1/64")
	addIPv6(t, l.clientNS, cveth, prefix+"2/64")
	l.server, l.client = prefix+"1", prefix+"2"
	settle(t, l.clientNS)
	return l
}

// waitUDPListen waits until something in ns listens on UDP [addr]:port or
// on the IPv6 wildcard at port.
func waitUDPListen(t *testing.T, ns, addr string, ports ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := inNS(ns, "ss", "-Hlun")
		missing := ""
		for _, p := range ports {
			if !strings.Contains(out, "["+addr+"]:"+p+" ") && !strings.Contains(out, "[::]:"+p+" ") &&
				!strings.Contains(out, "*:"+p+" ") {
				missing = p
				break
			}
		}
		if err == nil && missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on UDP [%s]:%s in %s after 15 s: %v\n%s", addr, missing, ns, err, out)
		}
		time.Sleep(200 * time.Millisecond) // polling an external server's sockets
	}
}

// checkLocalIPv6 checks that the connection's events show the IPv6
// source address in the bracketed [address]:port form.
func checkLocalIPv6(t *testing.T, evs []event, client string) {
	t.Helper()
	for _, ev := range evs {
		if ev.Event == "connecting" {
			if !strings.HasPrefix(ev.Local, "["+client+"]:") {
				t.Errorf("connecting from %q, want [%s]:PORT", ev.Local, client)
			}
			return
		}
	}
	t.Error("no connecting event")
}

func TestIPv6SoftEther(t *testing.T) {
	labSE.up(t, "L2V_SE_IPV6=1") // SoftEther's ListenIP "::": by default it binds IPv4 only
	l := ipv6Lab(t, labSE, "l2v-se-s0", "l2v-se-c0", "2001:db8:5e::")
	waitUDPListen(t, l.serverNS, l.server, "500", "4500", "1701")

	t.Run("IPsec", func(t *testing.T) {
		evs := session(t, l, "mschapv2", pskEnv, ipsecArgs()...)
		ikeEvents(t, evs, "transport")
		checkLocalIPv6(t, evs, l.client)
	})
	t.Run("PlainL2TP", func(t *testing.T) {
		evs := session(t, l, "mschapv2", nil)
		checkLocalIPv6(t, evs, l.client)
	})
	// Full tunnel: the server's IPv6 address is pinned with a /128 on the
	// underlay (the tunnel's ::/1 and 8000::/1 are blocked without IPV6CP
	// and would otherwise capture it), and the pin goes at exit.
	t.Run("FullTunnel", func(t *testing.T) {
		before := hostState(t, l.clientNS)
		c := startClient(t, l, pskEnv, ipsecArgs("--routing", "full", "--auth", "mschapv2")...)
		c.waitEvent("up", 60*time.Second)
		out, err := inNS(l.clientNS, "ip", "-6", "route", "show", l.server+"/128")
		if err != nil || !strings.Contains(out, "dev l2v-se-c0") || !strings.Contains(out, "proto 76") {
			t.Errorf("no pinned /128 to the server on the underlay: %v\n%s", err, out)
		}
		if out, err := inNS(l.clientNS, "ping", "-c", "3", "-W", "3", l.service); err != nil {
			t.Fatalf("ping %s through the full tunnel: %v\n%s", l.service, err, out)
		}
		if d := c.disconnect(); d.Reason != "none" {
			t.Errorf("down reason %q", d.Reason)
		}
		waitNoSessions(t, l)
		if after := hostState(t, l.clientNS); after != before {
			t.Errorf("host state changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// TestIPv6StrongSwan: charon negotiates IKE and a tunnel-mode child over
// IPv6 with us; l2tpns behind it has no IPv6 L2TP socket, so the L2TP
// tunnel set-up then fails inside IPsec, and the client says so.
func TestIPv6StrongSwan(t *testing.T) {
	labSW.up(t)
	l := ipv6Lab(t, labSW, "l2v-sw-s0", "l2v-sw-c0", "2001:db8:5c::")
	before := hostState(t, l.clientNS)
	c := startClient(t, l, pskEnv, ipsecArgs("--esp-mode", "tunnel", "--auth", "chap")...)
	p2 := c.waitEvent("ike.phase2.up", 30*time.Second)
	if p2.Mode != "tunnel" {
		t.Errorf("phase 2 mode %q, want tunnel", p2.Mode)
	}
	got := c.wait()
	d := c.last("down")
	t.Logf("exit %d: %s", got, d.Error)
	if got == 0 || !strings.HasPrefix(d.Error, "l2tp") {
		t.Errorf("exit %d, error %q: want the L2TP set-up to fail (l2tpns has no IPv6 socket)", got, d.Error)
	}
	evs := c.eventsSoFar()
	ikeEvents(t, evs, "tunnel")
	checkLocalIPv6(t, evs, l.client)
	if after := hostState(t, l.clientNS); after != before {
		t.Errorf("host state changed")
	}
}

// labSWSoftEther is the sw lab brought up with L2V_SW_LNS=softether: charon
// in front of SoftEther's raw L2TP (no IPsec of its own) instead of
// l2tpns. The service address is the sw lab's 203.0.113.30 all the same:
// it is a local address of the server namespace, and SecureNAT's user-mode
// NAT (the PPP client's gateway 198.51.100.113) reaches it with the
// namespace's own sockets, as the se lab's SecureNAT reaches 203.0.113.10.
var labSWSoftEther = lab{"sw", "l2v-sw-s", "l2v-sw-c", "192.0.2.33", "192.0.2.34", "203.0.113.30"}

// TestIPv6StrongSwanSoftEtherLNS: L2TP/IPsec in tunnel mode over IPv6 end
// to end. charon negotiates IKE and the tunnel-mode child with us over
// IPv6, our L2TP to [server]:1701 comes out of its ipsec0 and reaches
// SoftEther's IPv6 socket, and the session goes up, pings and carries the
// verified transfer. session() also requires a live session in the
// server's list, which is SoftEther's here ("lab.sh sessions sw" asks the
// LNS the lab runs); none of our L2TP came to the server in the clear.
func TestIPv6StrongSwanSoftEtherLNS(t *testing.T) {
	labSWSoftEther.up(t, "L2V_SW_LNS=softether")
	l := ipv6Lab(t, labSWSoftEther, "l2v-sw-s0", "l2v-sw-c0", "2001:db8:5c::")
	waitUDPListen(t, l.serverNS, l.server, "500", "4500", "1701")
	evs := session(t, l, "mschapv2", pskEnv, ipsecArgs("--esp-mode", "tunnel")...)
	ikeEvents(t, evs, "tunnel")
	checkLocalIPv6(t, evs, l.client)
	if n := clearL2TP(t); n != 0 {
		t.Errorf("the server dropped %d L2TP datagrams that came in the clear", n)
	}
}
