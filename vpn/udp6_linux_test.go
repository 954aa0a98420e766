package vpn

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// loopbackPair6 is loopbackPair over [::1]; it skips where the host has no
// IPv6 loopback.
func loopbackPair6(t testing.TB) (*batchConn, *batchConn) {
	t.Helper()
	lo := &net.UDPAddr{IP: net.IPv6loopback}
	a, err := net.ListenUDP("udp6", lo)
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	b, err := net.ListenUDP("udp6", lo)
	if err != nil {
		a.Close()
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	ba, err := newBatchConn(a, 16)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := newBatchConn(b, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !ba.v6 || !bb.v6 {
		t.Fatal("an AF_INET6 socket not recognised as IPv6")
	}
	return ba, bb
}

func udpAddrPort(b *batchConn) netip.AddrPort {
	return b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestBatchConnIPv6FullBatch sends a full batch over [::1] and checks every
// datagram's length, contents and source (a sockaddr_in6 in every name
// slot), from one sender and from two interleaved ones.
func TestBatchConnIPv6FullBatch(t *testing.T) {
	a, b := loopbackPair6(t)
	c, _ := loopbackPair6(t)
	dst := udpAddrPort(b)
	if !dst.Addr().Is6() || dst.Addr().Is4In6() {
		t.Fatalf("receiver address %v", dst)
	}
	srcs := []netip.AddrPort{udpAddrPort(a), udpAddrPort(c)}
	const batch = 16
	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = make([]byte, 60+i*7)
		for j := range pkts[i] {
			pkts[i][j] = byte(i*29 + j)
		}
	}
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, batch)
	from := make([]netip.AddrPort, batch)
	check := func(name string, src func(int) netip.AddrPort) {
		t.Helper()
		clear(from)
		n, err := b.readBatch(bufs, sizes, from)
		if err != nil {
			t.Fatalf("%s: readBatch: %v", name, err)
		}
		if n != batch {
			t.Fatalf("%s: %d datagrams, want %d", name, n, batch)
		}
		for i := 0; i < n; i++ {
			if sizes[i] != len(pkts[i]) || !bytes.Equal(bufs[i][:sizes[i]], pkts[i]) {
				t.Fatalf("%s: datagram %d: %d bytes, want %d", name, i, sizes[i], len(pkts[i]))
			}
			if from[i] != src(i) {
				t.Fatalf("%s: datagram %d from %v, want %v", name, i, from[i], src(i))
			}
		}
	}
	if n, err := a.writeBatch(pkts, dst); err != nil || n != batch {
		t.Fatalf("writeBatch = %d, %v", n, err)
	}
	check("one sender", func(int) netip.AddrPort { return srcs[0] })
	for i, p := range pkts {
		if _, err := []*batchConn{a, c}[i%2].writeBatch([][]byte{p}, dst); err != nil {
			t.Fatal(err)
		}
	}
	check("two senders", func(i int) netip.AddrPort { return srcs[i%2] })
	// Control messages take the plain path.
	if err := a.writeTo([]byte("ctl"), dst); err != nil {
		t.Fatal(err)
	}
	if n, err := b.readBatch(bufs, sizes, from); err != nil || n != 1 || string(bufs[0][:sizes[0]]) != "ctl" || from[0] != srcs[0] {
		t.Fatalf("writeTo: %d, %v, %q from %v", n, err, bufs[0][:sizes[0]], from[0])
	}
}

// TestBatchConnIPv6Allocs: a batch sent and received over IPv6 allocates
// nothing.
func TestBatchConnIPv6Allocs(t *testing.T) {
	a, b := loopbackPair6(t)
	dst := udpAddrPort(b)
	pkts := [][]byte{make([]byte, 1400), make([]byte, 1400), make([]byte, 1400), make([]byte, 1400)}
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, 16)
	from := make([]netip.AddrPort, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := a.writeBatch(pkts, dst); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(pkts); {
			n, err := b.readBatch(bufs, sizes, from)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Fatalf("a batch of 4 IPv6 datagrams sent and received allocates %v times, want 0", allocs)
	}
}

// TestBatchConnFamilyMismatch: a destination of the other family is refused
// with a clear error, not sent with a garbled name.
func TestBatchConnFamilyMismatch(t *testing.T) {
	a6, _ := loopbackPair6(t)
	a4, _ := loopbackPair(t)
	pkt := [][]byte{{1}}
	if _, err := a6.writeBatch(pkt, netip.MustParseAddrPort("127.0.0.1:1701")); !errors.Is(err, errFamily) {
		t.Errorf("IPv6 socket to an IPv4 address: %v", err)
	}
	if _, err := a6.writeBatch(pkt, netip.MustParseAddrPort("[::ffff:127.0.0.1]:1701")); !errors.Is(err, errFamily) {
		t.Errorf("IPv6 socket to an IPv4-mapped address: %v", err)
	}
	if _, err := a4.writeBatch(pkt, netip.MustParseAddrPort("[::1]:1701")); !errors.Is(err, errFamily) {
		t.Errorf("IPv4 socket to an IPv6 address: %v", err)
	}
	// An IPv4-mapped destination on an IPv4 socket is the IPv4 address.
	if _, err := a4.writeBatch(pkt, netip.MustParseAddrPort("[::ffff:127.0.0.1]:9")); err != nil {
		t.Errorf("IPv4 socket to an IPv4-mapped address: %v", err)
	}
}

// TestListenUDPIPv6 checks the connection's socket for an IPv6 server: an
// AF_INET6 socket with IPV6_V6ONLY set, and an AF_INET one for IPv4.
func TestListenUDPIPv6(t *testing.T) {
	conn, err := listenUDP(netip.MustParseAddr("2001:db8::1"), 0)
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	defer conn.Close()
	b, err := newBatchConn(conn, 4)
	if err != nil {
		t.Fatal(err)
	}
	var v6only int
	var serr error
	b.rc.Control(func(fd uintptr) {
		v6only, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	})
	if serr != nil || v6only != 1 || !b.v6 {
		t.Errorf("IPv6 socket: v6 %v, IPV6_V6ONLY %d (%v)", b.v6, v6only, serr)
	}
	conn4, err := listenUDP(netip.MustParseAddr("192.0.2.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn4.Close()
	b4, err := newBatchConn(conn4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if b4.v6 {
		t.Error("IPv4 socket taken for IPv6")
	}
}

// TestBatchConnIPv6RecvErr: with IPV6_RECVERR on, a datagram to a port
// where nothing listens on [::1] fails the next receive, and the error
// queue names the destination and ECONNREFUSED (ICMPv6 port unreachable).
func TestBatchConnIPv6RecvErr(t *testing.T) {
	a, b := loopbackPair6(t)
	dst := udpAddrPort(b)
	b.conn.Close() // nothing listens there now
	if err := a.setRecvErr(true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.writeBatch([][]byte{[]byte("x")}, dst); err != nil {
		t.Fatal(err)
	}
	bufs := [][]byte{make([]byte, 64)}
	sizes := make([]int, 1)
	from := make([]netip.AddrPort, 1)
	if _, err := a.readBatch(bufs, sizes, from); !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("readBatch after port unreachable: %v, want ECONNREFUSED", err)
	}
	got, errno, ok := a.readErr()
	if !ok || errno != unix.ECONNREFUSED || got != dst {
		t.Fatalf("readErr = %v, %v, %v; want %v, ECONNREFUSED", got, errno, ok, dst)
	}
	if _, _, ok := a.readErr(); ok {
		t.Error("error queue not drained")
	}
}
