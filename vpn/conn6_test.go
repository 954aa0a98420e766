package vpn

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// newFakeLNS6 is newFakeLNS on [::1]; it skips where the host has no IPv6
// loopback.
func newFakeLNS6(t *testing.T) *fakeLNS {
	t.Helper()
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	p := &fakeLNS{t: t, conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{}),
		sunk: make(chan struct{}, 4096), password: "pass", changed: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() {
		conn.Close()
		<-p.done
	})
	return p
}

// TestConnPlainL2TPOverIPv6 connects to an L2TP server at [::1] given as
// "[::1]:PORT": the tunnel, session and PPP come up over an IPv6 socket,
// packets go both ways, and the addresses reported have the bracketed
// form.
func TestConnPlainL2TPOverIPv6(t *testing.T) {
	lns := newFakeLNS6(t)
	f := newFakeTUN(t)
	cfg := testConfig(t, lns)
	if !strings.HasPrefix(cfg.Server, "[::1]:") {
		t.Fatalf("server %q", cfg.Server)
	}
	c := mustDial(t, lns, cfg, f)
	info := c.Info()
	if info.Server != lns.addr || !info.Local.Addr().Is6() || !strings.HasPrefix(info.Local.String(), "[::1]:") {
		t.Fatalf("info: server %v local %v", info.Server, info.Local)
	}
	if !c.sock.v6 {
		t.Fatal("the connection's socket is not AF_INET6")
	}
	if got := info.Server.String(); got != cfg.Server { // as status and events show it
		t.Errorf("server shown as %q, want %q", got, cfg.Server)
	}
	for i, n := range []int{20, 1000} {
		pkt := ipv4(clientPPPAddr, remoteHost, n, byte(i))
		f.transmit(t, c, pkt)
		if got, want := f.next(t), swapIPv4(pkt); !bytes.Equal(got, want) {
			t.Fatalf("%d-byte packet: the echo differs", n)
		}
	}
	if got, _ := lns.received(); len(got) != 2 {
		t.Fatalf("the server got %d packets, want 2", len(got))
	}
	// The MRU counts the 40-byte IPv6 header: 20 bytes less than over IPv4.
	if m := c.maxPayload(); m != min(pathMTU(info.Server.Addr()), 1500)-plainOverhead-20 {
		t.Errorf("max payload %d over IPv6", m)
	}
	c.Close()
}
