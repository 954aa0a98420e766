package vpn

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

func loopbackPair(t testing.TB) (*batchConn, *batchConn) {
	t.Helper()
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
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
	return ba, bb
}

func TestBatchConnRoundTrip(t *testing.T) {
	a, b := loopbackPair(t)
	dst := b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	src := a.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	pkts := make([][]byte, 10)
	for i := range pkts {
		pkts[i] = bytes.Repeat([]byte{byte(i)}, 100+i)
	}
	if n, err := a.writeBatch(pkts, dst); err != nil || n != len(pkts) {
		t.Fatalf("writeBatch = %d, %v", n, err)
	}
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, 16)
	from := make([]netip.AddrPort, 16)
	got := 0
	for got < len(pkts) {
		n, err := b.readBatch(bufs, sizes, from)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if !bytes.Equal(bufs[i][:sizes[i]], pkts[got]) {
				t.Fatalf("datagram %d differs", got)
			}
			if from[i] != src {
				t.Fatalf("source %v, want %v", from[i], src)
			}
			got++
		}
	}
}

// More datagrams than the socket's batch size go out in several sendmmsg calls.
func TestBatchConnWriteLargerThanBatch(t *testing.T) {
	a, b := loopbackPair(t) // batch size 16
	dst := b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	pkts := make([][]byte, 40)
	for i := range pkts {
		pkts[i] = []byte{byte(i)}
	}
	if n, err := a.writeBatch(pkts, dst); err != nil || n != 40 {
		t.Fatalf("writeBatch = %d, %v; want 40", n, err)
	}
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 64)
	}
	sizes := make([]int, 16)
	from := make([]netip.AddrPort, 16)
	for got := 0; got < 40; {
		n, err := b.readBatch(bufs, sizes, from)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if sizes[i] != 1 || bufs[i][0] != byte(got) {
				t.Fatalf("datagram %d: % x", got, bufs[i][:sizes[i]])
			}
			got++
		}
	}
}

func TestBatchConnTruncated(t *testing.T) {
	a, b := loopbackPair(t)
	dst := b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if _, err := a.writeBatch([][]byte{make([]byte, 3000)}, dst); err != nil {
		t.Fatal(err)
	}
	bufs := [][]byte{make([]byte, 2048)}
	sizes := make([]int, 1)
	from := make([]netip.AddrPort, 1)
	if _, err := b.readBatch(bufs, sizes, from); err != nil {
		t.Fatal(err)
	}
	if sizes[0] != -1 {
		t.Fatalf("oversized datagram reported as %d bytes, want -1 (dropped)", sizes[0])
	}
}

func TestBatchConnAllocs(t *testing.T) {
	a, b := loopbackPair(t)
	dst := b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
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
		t.Fatalf("a batch of 4 datagrams sent and received allocates %v times, want 0", allocs)
	}
}

func BenchmarkBatchConn1400x16(b *testing.B) {
	x, y := loopbackPair(b)
	// Loopback drops datagrams when the receive buffer overflows; a deadline
	// turns a lost datagram into the end of the batch instead of a hang.
	y.conn.SetReadBuffer(4 << 20)
	dst := y.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	pkts := make([][]byte, 16)
	for i := range pkts {
		pkts[i] = make([]byte, 1400)
	}
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, 16)
	from := make([]netip.AddrPort, 16)
	b.SetBytes(16 * 1400)
	b.ReportAllocs()
	for b.Loop() {
		x.writeBatch(pkts, dst)
		y.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for got := 0; got < len(pkts); {
			n, err := y.readBatch(bufs, sizes, from)
			if err != nil {
				break
			}
			got += n
		}
	}
}
