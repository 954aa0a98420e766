package vpn

// Conn against the fake LNS (fakelns_test.go) with a fake TUN device
// (wireguard's tuntest.ChannelTUN behind tun.Wrap): the data path end to
// end, the counters, teardown order, and how a connection ends when the
// server clears it or goes silent.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// testConfig is a plain-L2TP configuration for the fake: CHAP-MD5, no
// keepalives, quick retransmissions.
func testConfig(t *testing.T, lns *fakeLNS) Config {
	return Config{
		Server: lns.addr.String(), User: "user", Password: secret.FromString("pass"),
		Auth:          []ppp.AuthMethod{ppp.AuthCHAPMD5},
		HelloInterval: -1, EchoInterval: -1,
		RetransmitTimeout: 50 * time.Millisecond, MaxRetransmits: 4,
		StateDir: t.TempDir(),
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// fakeTUN is the TUN device of a test: packets the host "routes into the
// tunnel" go in through ch.Outbound, what the connection delivers comes
// out of ch.Inbound.
type fakeTUN struct {
	ch  *tuntest.ChannelTUN
	dev *tun.Device
}

func newFakeTUN(t *testing.T) *fakeTUN {
	ch := tuntest.NewChannelTUN()
	f := &fakeTUN{ch: ch, dev: tun.Wrap(ch.TUN(), "fake0", nil)}
	t.Cleanup(func() { f.dev.Close() })
	return f
}

// attach is the attachFunc of a Conn test.
func (f *fakeTUN) attach(*Conn, ppp.IPInfo, netip.Addr, netip.Addr) (*tun.Device, error) {
	return f.dev, nil
}

// transmit runs one turn of a transmit loop: the device reads pkt and c
// sends it.
func (f *fakeTUN) transmit(t *testing.T, c *Conn, pkt []byte) {
	t.Helper()
	go func() { f.ch.Outbound <- pkt }()
	bufs := [][]byte{make([]byte, txHeadroom+bufSize)}
	sizes := make([]int, 1)
	n, err := f.dev.Read(bufs, sizes, txHeadroom)
	if err != nil || n != 1 {
		t.Fatalf("fake TUN read: %d, %v", n, err)
	}
	c.transmit(bufs, sizes, n, make([][]byte, 0, 1))
}

// inject hands the device a packet from the host (for a client's
// transmit loop to pick up).
func (f *fakeTUN) inject(t *testing.T, pkt []byte) {
	t.Helper()
	select {
	case f.ch.Outbound <- pkt:
	case <-time.After(waitTimeout):
		t.Fatal("nobody read the fake TUN device")
	}
}

// next returns the next packet written to the device.
func (f *fakeTUN) next(t *testing.T) []byte {
	t.Helper()
	select {
	case p := <-f.ch.Inbound:
		return p
	case <-time.After(waitTimeout):
		t.Fatal("no packet came out of the fake TUN device")
		return nil
	}
}

// dialLNS connects to the fake.
func dialLNS(t *testing.T, lns *fakeLNS, cfg Config, f *fakeTUN) (*Conn, error) {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return dial(ctx, cfg, lns.addr, f.attach)
}

func mustDial(t *testing.T, lns *fakeLNS, cfg Config, f *fakeTUN) *Conn {
	t.Helper()
	c, err := dialLNS(t, lns, cfg, f)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

// waitEnd waits for c to end by itself and returns why.
func waitEnd(t *testing.T, c *Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Wait()
	case <-time.After(waitTimeout):
		t.Fatal("the connection did not end")
		return nil
	}
}

// checkGoroutines waits until no more goroutines run than base, the count
// before the test started its connection.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the test, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
}

// awaitStats polls c's counters until cond holds.
func awaitStats(t *testing.T, c *Conn, what string, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond(c.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %+v", waitTimeout, what, c.Stats())
		}
		<-tick.C
	}
}

var remoteHost = netip.MustParseAddr("192.0.2.7") // a host behind the server

// IP packets read from the device reach the server encapsulated for its
// session, its answers come out of the device, and every counter is
// exact, including the drops of datagrams that are malformed, for another
// session or from a foreign address or port.
func TestConnDataRoundTripAndCounters(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, testConfig(t, lns), f)

	info := c.Info()
	if info.IP != clientPPPAddr || info.Peer != lnsPPPAddr || !slices.Equal(info.DNS, []netip.Addr{lnsDNS}) ||
		info.Auth != ppp.AuthCHAPMD5 || info.Interface != "fake0" || info.Tunnel.PeerID != lnsTunnelID ||
		info.Session.PeerID != lnsSessionID || info.Server != lns.addr {
		t.Fatalf("info %+v", info)
	}

	var sent [][]byte
	var bytesSent uint64
	roundTrip := func(n int, tag byte) {
		t.Helper()
		pkt := ipv4(clientPPPAddr, remoteHost, n, tag)
		f.transmit(t, c, pkt)
		if got, want := f.next(t), swapIPv4(pkt); !bytes.Equal(got, want) {
			t.Fatalf("%d-byte packet: the echo came back as % x, want % x", n, got[:min(len(got), 32)], want[:32])
		}
		sent = append(sent, pkt)
		bytesSent += uint64(n)
	}
	for i, n := range []int{20, 100, 1400} {
		roundTrip(n, byte(i))
	}
	got, hdrs := lns.received()
	if len(got) != len(sent) {
		t.Fatalf("the server got %d packets, want %d", len(got), len(sent))
	}
	for i := range got {
		if !bytes.Equal(got[i], sent[i]) {
			t.Errorf("packet %d arrived changed", i)
		}
		if h := hdrs[i]; h.TunnelID != lnsTunnelID || h.SessionID != lnsSessionID || h.HasSequence || h.Control {
			t.Errorf("packet %d: L2TP header %+v", i, h)
		}
	}

	// Neither IPv4 nor IPv6: counted as a transmit error, not sent.
	bad := make([]byte, 40)
	bad[0] = 0x20
	f.transmit(t, c, bad)

	// From the server's address and port: not L2TP at all, an L2TP
	// version 3 header, data for another session of our tunnel.
	lns.inject([]byte{1, 2, 3})
	lns.inject([]byte{0x00, 0x03, 0, 1, 0, 2, 0xff, 0x03, 0x00, 0x21, 0x45})
	other := make([]byte, l2tp.DataHeaderLen+ppp.HeaderLen+20)
	l2tp.PutDataHeader(other, info.Tunnel.LocalID, info.Session.LocalID+1)
	ppp.PutHeader(other[l2tp.DataHeaderLen:], ppp.ProtoIPv4)
	copy(other[l2tp.DataHeaderLen+ppp.HeaderLen:], ipv4(remoteHost, clientPPPAddr, 20, 9))
	lns.inject(other)
	// A well-formed data message of our session from another address, and
	// from the server's address but another port.
	data := lns.dataMessage(ipv4(remoteHost, clientPPPAddr, 60, 7))
	for _, src := range []string{"127.0.0.2", "127.0.0.1"} {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.WriteToUDPAddrPort(data, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), info.Local.Port())); err != nil {
			t.Fatal(err)
		}
		u.Close()
	}
	awaitStats(t, c, "5 drops", func(s Stats) bool { return s.RxDropped >= 5 })
	// Once more through both directions: everything before it has been
	// counted, and nothing more was.
	roundTrip(576, 4)

	want := Stats{
		TxPackets: 4, TxBytes: bytesSent, TxErrors: 1,
		RxPackets: 4, RxBytes: bytesSent,
		RxDropped: 5, RxMalformed: 2, RxForeign: 2, RxWrongSession: 1,
	}
	if st := c.Stats(); st != want {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkGoroutines(t, base)
}

// Close says goodbye in reverse order of set-up: LCP Terminate-Request,
// then the session's CDN, then the tunnel's StopCCN. It is idempotent and
// leaves no goroutine behind.
func TestConnCloseTeardownOrder(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, testConfig(t, lns), f)
	upTo := len(lns.log())
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	evs := lns.log()[upTo:]
	order := []string{"LCP Terminate-Request", "CDN", "StopCCN"}
	var got []string
	for _, e := range evs {
		if slices.Contains(order, e) {
			got = append(got, e)
		}
	}
	if !slices.Equal(got, order) {
		t.Fatalf("teardown sent %q (all: %q), want %q", got, evs, order)
	}
	for i := 0; i < 2; i++ {
		if err := c.Close(); err != nil {
			t.Fatalf("Close again: %v", err)
		}
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("Wait after Close: %v", err)
	}
	if n := len(lns.log()); n != upTo+len(evs) {
		t.Errorf("a second Close sent more: %q", lns.log()[upTo+len(evs):])
	}
	checkGoroutines(t, base)
}

// The server clears the tunnel: the connection ends as lost with the
// server's StopCCN as the cause, and sends no goodbyes of its own into a
// tunnel that is gone.
func TestConnPeerStopCCN(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, testConfig(t, lns), f)
	upTo := len(lns.log())
	lns.stopCCN()
	err := waitEnd(t, c)
	var re *l2tp.ResultError
	if ReasonOf(err) != ReasonLinkLost || !errors.As(err, &re) || re.Message != l2tp.StopCCN {
		t.Fatalf("after the server's StopCCN: %v (reason %v), want link-lost from a StopCCN", err, ReasonOf(err))
	}
	if err2 := c.Close(); err2 != err {
		t.Errorf("Close after the loss returned %v, want Wait's %v", err2, err)
	}
	for _, e := range lns.log()[upTo:] {
		if e == "StopCCN" || e == "CDN" || e == "LCP Terminate-Request" {
			t.Errorf("sent %s into a tunnel the server had cleared", e)
		}
	}
	checkGoroutines(t, base)
}

// The server disconnects the session: the connection ends as lost and
// clears the tunnel, which is still up (StopCCN), without a CDN or an LCP
// Terminate-Request for the session that is gone.
func TestConnPeerCDN(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, testConfig(t, lns), f)
	upTo := len(lns.log())
	lns.cdn()
	err := waitEnd(t, c)
	var re *l2tp.ResultError
	if ReasonOf(err) != ReasonLinkLost || !errors.As(err, &re) || re.Message != l2tp.CDN {
		t.Fatalf("after the server's CDN: %v (reason %v), want link-lost from a CDN", err, ReasonOf(err))
	}
	evs := lns.log()[upTo:]
	if count(evs, "StopCCN") != 1 || count(evs, "CDN") != 0 || count(evs, "LCP Terminate-Request") != 0 {
		t.Errorf("after the server's CDN the client sent %q, want one StopCCN only", evs)
	}
	checkGoroutines(t, base)
}

// A server that stops answering is found by the L2TP HELLO keepalive.
func TestConnSilentPeerHello(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	cfg := testConfig(t, lns)
	cfg.HelloInterval, cfg.MaxRetransmits = 100*time.Millisecond, 2
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, cfg, f)
	upTo := lns.setSilent(true) // an answered HELLO may come before
	err := waitEnd(t, c)
	if ReasonOf(err) != ReasonLinkLost || !errors.Is(err, l2tp.ErrTimeout) {
		t.Fatalf("silent server: %v (reason %v), want link-lost by an L2TP timeout", err, ReasonOf(err))
	}
	if n := count(lns.log()[upTo:], "HELLO"); n != 3 {
		t.Errorf("%d HELLOs, want 3 (one and %d retransmissions)", n, cfg.MaxRetransmits)
	}
	checkGoroutines(t, base)
}

// A server that stops answering is found by the LCP echo keepalive.
func TestConnSilentPeerEcho(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	cfg := testConfig(t, lns)
	cfg.EchoInterval, cfg.EchoFailures, cfg.MaxRetransmits = 50*time.Millisecond, 2, 2
	base := runtime.NumGoroutine()
	c := mustDial(t, lns, cfg, f)
	// The echoes are answered while the server talks.
	lns.awaitCount("LCP Echo-Request", 2)
	if err := c.link.Err(); err != nil {
		t.Fatalf("link failed while the server answered its echoes: %v", err)
	}
	lns.setSilent(true)
	err := waitEnd(t, c)
	var ee *ppp.EchoTimeoutError
	if ReasonOf(err) != ReasonLinkLost || !errors.As(err, &ee) || ee.Count != cfg.EchoFailures {
		t.Fatalf("silent server: %v (reason %v), want link-lost after %d unanswered echoes", err, ReasonOf(err), cfg.EchoFailures)
	}
	checkGoroutines(t, base)
}

// A failed set-up says which phase failed and leaves nothing running.
func TestDialFailureUndoesEverything(t *testing.T) {
	for _, tc := range []struct {
		silentFrom string
		reason     Reason
		phase      string
	}{
		{"SCCRQ", ReasonUnreachable, "l2tp tunnel"},
		{"ICRQ", ReasonLinkLost, "l2tp session"},
	} {
		t.Run(tc.silentFrom, func(t *testing.T) {
			lns := newFakeLNS(t)
			lns.setDropAfter(tc.silentFrom)
			f := newFakeTUN(t)
			cfg := testConfig(t, lns)
			cfg.MaxRetransmits = 2
			base := runtime.NumGoroutine()
			c, err := dialLNS(t, lns, cfg, f)
			var e *Error
			if c != nil || !errors.As(err, &e) || e.Reason != tc.reason || e.Phase != tc.phase || !errors.Is(err, l2tp.ErrTimeout) {
				t.Fatalf("server silent from %s: %v, %v; want %s failing with %v", tc.silentFrom, c, err, tc.phase, tc.reason)
			}
			checkGoroutines(t, base)
		})
	}
}
