package vpn

// Proxy mode against the fake LNS: the packets go to an in-process network
// stack, never to tun.Open or tun.ApplyHost, and a UDP socket opened
// through the stack's Net gets the fake's echo back.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// netLog records what Config.OnNet was given.
type netLog struct {
	mu   sync.Mutex
	nets []*Net
}

func (l *netLog) add(n *Net) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nets = append(l.nets, n)
}

func (l *netLog) all() []*Net {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.nets)
}

// proxyConfig is clientConfig in proxy mode, with the host seam failing
// the test: proxy mode must not open a TUN or change the host.
func proxyConfig(t *testing.T, lns *fakeLNS, d *fakeDevices, ev *eventLog, nets *netLog) Config {
	cfg := clientConfig(t, lns, d, ev)
	cfg.Mode, cfg.ProxyListen, cfg.OnNet = ModeProxy, "127.0.0.1:1080", nets.add
	cfg.openDevice = func(*Conn, ppp.IPInfo, netip.Addr, netip.Addr, int) (*tun.Device, hostConfigurer, error) {
		t.Error("proxy mode opened the host's device (tun.Open, tun.ApplyHost)")
		return nil, nil, errors.New("no host in proxy mode")
	}
	cfg.readdress = func(netip.Addr, netip.Addr, int) error {
		t.Error("proxy mode readdressed the host's device")
		return nil
	}
	return cfg
}

// udpEcho sends a datagram from the tunnel address through n and waits for
// the fake's echo (addresses swapped, ports kept: both ends use port).
func udpEcho(t *testing.T, n *Net, port uint16, tag byte) {
	t.Helper()
	pc, err := n.ListenUDP(netip.AddrPortFrom(clientPPPAddr, port))
	if err != nil {
		t.Fatalf("ListenUDP: %v", err)
	}
	defer pc.Close()
	msg := bytes.Repeat([]byte{tag}, 64)
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(remoteHost, port))
	if _, err := pc.WriteTo(msg, dst); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	pc.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 1500)
	m, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no echo through the network stack: %v", err)
	}
	if !bytes.Equal(buf[:m], msg) || from.String() != dst.String() {
		t.Fatalf("echo %q from %v, want %q from %v", buf[:m], from, msg, dst)
	}
}

// Proxy mode comes up without the host (no TUN, routes or DNS: the seam
// for them fails the test), hands the stack to OnNet before the up event,
// which names the mode and the proxy's address, and carries UDP both ways.
func TestProxyModeDataThroughNetstack(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	nets := &netLog{}
	cfg := proxyConfig(t, lns, d, ev, nets)
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	up := ev.await(EventUp, 1)
	if up.Routing != "proxy" || up.Proxy != "127.0.0.1:1080" || up.Interface != stackDevice || len(up.Routes) != 0 {
		t.Errorf("up event: routing %q proxy %q interface %q routes %v", up.Routing, up.Proxy, up.Interface, up.Routes)
	}
	got := nets.all()
	if len(got) != 1 || got[0] == nil || cl.Net() != got[0] {
		t.Fatalf("OnNet calls %v, Net() %v; want the one stack", got, cl.Net())
	}
	n := got[0]
	if n.LocalAddr() != clientPPPAddr || !slices.Equal(n.DNS(), []netip.Addr{lnsDNS}) {
		t.Errorf("stack address %v DNS %v, want %v and %v", n.LocalAddr(), n.DNS(), clientPPPAddr, lnsDNS)
	}
	udpEcho(t, n, 7777, 'a')
	// The fake turns our echo request back at us; the stack answers it,
	// and the fake turns that reply back too: Ping sees it.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Ping(ctx, remoteHost); err != nil {
		t.Errorf("Ping through the stack: %v", err)
	}
	if st := cl.Status(); st.Mode != "proxy" || st.Proxy != "127.0.0.1:1080" || st.Routing != "proxy" || !slices.Equal(st.DNS, []string{lnsDNS.String()}) {
		t.Errorf("status: mode %q proxy %q routing %q dns %v", st.Mode, st.Proxy, st.Routing, st.DNS)
	}
	if st := cl.Stats(); st.RxPackets < 1 || st.TxPackets < 1 {
		t.Errorf("stats %+v, want packets both ways", st)
	}
	if err := closeWithin(t, cl, waitTimeout); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := nets.all(); len(got) != 2 || got[1] != nil {
		t.Errorf("OnNet after Close: %v, want the stack then nil", got)
	}
	checkGoroutines(t, base)
}

// After a reconnect with the same address, DNS and MTU the stack stays
// (its sockets survive); when they changed, a new stack replaces it, the
// old one's sockets fail, and traffic flows through the new one.
func TestProxyModeReconnect(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	nets := &netLog{}
	cfg := proxyConfig(t, lns, d, ev, nets)
	cfg.HelloInterval, cfg.MaxRetransmits = 100*time.Millisecond, 2
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	ev.await(EventUp, 1)
	first := cl.Net()
	kept, err := first.ListenUDP(netip.AddrPortFrom(clientPPPAddr, 9999))
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()

	lns.setSilent(true)
	ev.await(EventReconnecting, 1)
	lns.setSilent(false)
	ev.await(EventUp, 2)
	if cl.Net() != first {
		t.Fatal("a reconnect with the same address replaced the stack")
	}
	udpEcho(t, first, 7777, 'b')

	// Pretend the stack was made for another MTU: the next reconnect must
	// replace it.
	cl.mu.Lock()
	cl.net.mtu--
	cl.mu.Unlock()
	lns.setSilent(true)
	ev.await(EventReconnecting, 2)
	lns.setSilent(false)
	ev.await(EventUp, 3)
	second := cl.Net()
	if second == nil || second == first {
		t.Fatalf("after a changed reconnect Net() = %p, the first was %p; want a new stack", second, first)
	}
	if _, err := kept.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(remoteHost, 9999))); err == nil {
		t.Error("a socket of the replaced stack still sends")
	}
	udpEcho(t, second, 7777, 'c')
	got := nets.all()
	if want := []*Net{first, second}; !slices.Equal(got, want) { // the kept stack is not announced again
		t.Errorf("OnNet calls %v, want %v", got, want)
	}
	if err := closeWithin(t, cl, waitTimeout); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := nets.all(); got[len(got)-1] != nil {
		t.Errorf("OnNet after Close: %v, want nil last", got)
	}
	kept.Close()
	checkGoroutines(t, base)
}

// A ready check runs through the new stack before up; its failure ends
// Connect with ReasonReadyCheck and nothing announced up.
func TestProxyModeReadyCheck(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	nets := &netLog{}
	cfg := proxyConfig(t, lns, d, ev, nets)
	var checked *Net
	cfg.ReadyChecks = []func(context.Context, ReadyNet) error{
		func(ctx context.Context, n ReadyNet) error { checked = n.(*Net); return n.Ping(ctx, remoteHost) },
		func(context.Context, ReadyNet) error { return errors.New("tcp 10.9.9.9:443: connection refused") },
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cl, err := Connect(ctx, cfg)
	if err == nil {
		cl.Close()
		t.Fatal("Connect succeeded with a failing ready check")
	}
	if ReasonOf(err) != ReasonReadyCheck || checked == nil || !strings.Contains(err.Error(), "check 2 failed") {
		t.Fatalf("Connect: %v (reason %v), first check saw %v; want ready-check", err, ReasonOf(err), checked)
	}
	if names := ev.names(EventUp); len(names) != 0 {
		t.Errorf("up announced despite the failed ready check")
	}
	if got := nets.all(); len(got) != 0 {
		t.Errorf("OnNet called although the connection never came up: %v", got)
	}
}

// Delegated IPsec needs root (kernel ESP): proxy mode refuses it.
func TestProxyModeRejectsStrongswan(t *testing.T) {
	cfg := Config{Server: "192.0.2.1", User: "u", Password: secret.FromString("x"), Mode: ModeProxy,
		IPsec: true, Strongswan: true, PSK: secret.FromString("x")}
	if err := cfg.validate(); ReasonOf(err) != ReasonConfig {
		t.Fatalf("validate: %v, want a config error", err)
	}
	if m, err := ParseMode("proxy"); m != ModeProxy || err != nil {
		t.Errorf("ParseMode(proxy) = %v, %v", m, err)
	}
	if _, err := ParseMode("socks"); err == nil {
		t.Error("ParseMode(socks) succeeded")
	}
}
