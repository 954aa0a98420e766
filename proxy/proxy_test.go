package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNet is a Net on the host's loopback stack. Its dials accept IP
// literals only, and names resolve only through its map, so a test fails
// if the proxy ever resolves a name some other way.
type fakeNet struct {
	names map[string][]netip.Addr
	ping  map[netip.Addr]bool
	noV6  bool // dials to IPv6 fail as in a stack without an IPv6 address

	mu    sync.Mutex
	bound map[uint16]bool     // tunnel ports with an open ListenTCP listener
	lnCh  chan net.Listener   // each ListenTCP's listener, for tests
	udpCh chan net.PacketConn // each ListenUDP's socket, for tests
}

// fakeListener frees its tunnel port on Close, like a real stack.
type fakeListener struct {
	net.Listener
	f    *fakeNet
	port uint16
	once sync.Once
}

func (l *fakeListener) Close() error {
	l.once.Do(func() {
		l.f.mu.Lock()
		delete(l.f.bound, l.port)
		l.f.mu.Unlock()
	})
	return l.Listener.Close()
}

func newFakeNet() *fakeNet {
	return &fakeNet{
		names: map[string][]netip.Addr{},
		ping:  map[netip.Addr]bool{},
		bound: map[uint16]bool{},
		lnCh:  make(chan net.Listener, 8),
		udpCh: make(chan net.PacketConn, 8),
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")

func (f *fakeNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, errors.New("fakenet: dial of a non-literal address " + address)
	}
	if ap, _ := netip.ParseAddrPort(address); f.noV6 && ap.Addr().Is6() {
		return nil, errors.New("fakenet: no IPv6 address")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// ListenTCP listens on an ephemeral loopback port (the tunnel port of the
// request would clash between tests) and hands the listener to lnCh.
func (f *fakeNet) ListenTCP(addr netip.AddrPort) (net.Listener, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bound[addr.Port()] {
		return nil, errors.New("fakenet: port in use")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.bound[addr.Port()] = true
	ln := &fakeListener{Listener: l, f: f, port: addr.Port()}
	f.lnCh <- ln
	return ln, nil
}

func (f *fakeNet) ListenUDP(addr netip.AddrPort) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(addr.Addr(), 0).String())
	if err == nil {
		select {
		case f.udpCh <- pc:
		default:
		}
	}
	return pc, err
}

func (f *fakeNet) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, ok := f.names[host]; ok {
		return a, nil
	}
	return nil, errors.New("fakenet: no such host")
}

func (f *fakeNet) Ping(ctx context.Context, addr netip.Addr) error {
	if f.ping[addr] {
		return nil
	}
	return context.DeadlineExceeded
}

func (f *fakeNet) LocalAddr() netip.Addr { return loopback }

// startProxy runs a proxy with cfg (Listen defaults to a loopback port)
// on n until the test ends.
func startProxy(t *testing.T, cfg Config, n Net) *Proxy {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n != nil {
		p.SetNet(n)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(context.Background()) }()
	t.Cleanup(func() {
		p.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return p
}

// tcpEcho starts a TCP echo server on loopback.
func tcpEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// udpEcho starts a UDP echo server on loopback.
func udpEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// closedPort is a loopback TCP port nobody listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// echoRoundTrip writes msg on c and requires it back.
func echoRoundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
	_ = c.SetDeadline(time.Time{})
}

// waitClosed reads c until the proxy closes it; it fails the test if
// that takes longer than limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	if isTimeout(err) {
		t.Fatalf("connection still open after %v", limit)
	}
}

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestNewNamesTheSettingOfABadListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	if _, err := New(Config{Listen: busy}); err == nil || !strings.Contains(err.Error(), `listen "`+busy+`"`) {
		t.Errorf("busy listen port: err = %v", err)
	}
	f, err := ParseForward("tcp:" + busy + "=10.1.2.3:5432")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Forwards: []Forward{f}}); err == nil || !strings.Contains(err.Error(), `forward "tcp:`+busy) {
		t.Errorf("busy forward port: err = %v", err)
	}
}

func TestRefusalCountedAndLoggedOncePerReason(t *testing.T) {
	var logs syncBuffer
	p := startProxy(t, Config{Logger: testLogger(&logs)}, nil)
	for range 3 {
		c, err := net.Dial("tcp", p.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// SOCKS5 greeting and CONNECT 127.0.0.1:9 while not connected.
		_, _ = c.Write([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 9})
		reply := make([]byte, 12)
		if _, err := io.ReadFull(c, reply); err != nil {
			t.Fatal(err)
		}
		if reply[3] != repNetworkUnreachable {
			t.Errorf("reply code %#x, want network unreachable", reply[3])
		}
		c.Close()
	}
	if got := p.Stats().Refused[ReasonNotConnected]; got != 3 {
		t.Errorf("refused %q = %d, want 3", ReasonNotConnected, got)
	}
	if n := strings.Count(logs.String(), "request refused"); n != 1 {
		t.Errorf("%d refusal log lines, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("refusal not logged at info:\n%s", logs.String())
	}
}

func TestCloseIsIdempotentAndEndsServe(t *testing.T) {
	p, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(context.Background()) }()
	p.Close()
	p.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve after Close = %v, want nil", err)
	}
	if _, err := net.Dial("tcp", p.Addr().String()); err == nil {
		t.Error("listener still accepts after Close")
	}
}

func TestNoGoroutineLeftAfterClose(t *testing.T) {
	echo := tcpEcho(t)
	uecho := udpEcho(t)
	before := runtime.NumGoroutine()

	fu, _ := ParseForward("udp:127.0.0.1:0=" + uecho.String())
	ft, _ := ParseForward("tcp:127.0.0.1:0=" + echo.String())
	rv, _ := ParseReverse("tcp:8080=" + echo.String())
	n := newFakeNet()
	p, err := New(Config{Listen: "127.0.0.1:0", Forwards: []Forward{fu, ft}, Reverses: []Reverse{rv}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetNet(n)
	done := make(chan error, 1)
	go func() { done <- p.Serve(context.Background()) }()
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for _, addr := range []string{p.fwdTCP[0].Addr().String(), (<-n.lnCh).Addr().String()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		echoRoundTrip(t, c, "x")
		open = append(open, c)
	}
	u, err := net.Dial("udp", p.fwdUDP[0].LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, u, "u")
	open = append(open, u)
	c, err := socksDial(t, p, nil, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "s")
	open = append(open, c)
	h, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(h, "CONNECT "+echo.String()+" HTTP/1.1\r\n\r\n")
	_ = h.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(h, make([]byte, len("HTTP/1.1 200 Connection established\r\n\r\n"))); err != nil {
		t.Fatal(err)
	}
	open = append(open, h)

	p.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Close waited for the proxy's goroutines; the echo servers' ones end
	// as the proxy's connections to them close.
	for _, c := range open[:2] {
		waitClosed(t, c, 10*time.Second)
	}
	waitClosed(t, open[3], 10*time.Second)
	waitClosed(t, open[4], 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		<-time.After(5 * time.Millisecond)
	}
}
