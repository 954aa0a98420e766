package vpn

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
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

// The C layouts the kernel reads and writes, per GOARCH (linux, <sys/socket.h>,
// <bits/uio.h>, <netinet/in.h>): struct msghdr, struct mmsghdr (msghdr plus an
// unsigned int, padded to the pointer alignment), struct iovec and struct
// sockaddr_in. Every GOARCH Go supports on linux is listed, so a new port fails
// here until someone checks its layout.
var cLayouts = map[string]struct{ msghdr, mmsghdr, iovec uintptr }{
	"386":      {28, 32, 8},
	"arm":      {28, 32, 8},
	"mips":     {28, 32, 8},
	"mipsle":   {28, 32, 8},
	"amd64":    {56, 64, 16},
	"arm64":    {56, 64, 16},
	"loong64":  {56, 64, 16},
	"mips64":   {56, 64, 16},
	"mips64le": {56, 64, 16},
	"ppc64":    {56, 64, 16},
	"ppc64le":  {56, 64, 16},
	"riscv64":  {56, 64, 16},
	"s390x":    {56, 64, 16},
}

// TestMmsghdrLayout checks the structs handed to recvmmsg/sendmmsg against the
// C sizes. A wrong mmsghdr size shifts every header after the first one (the
// kernel strides through the array by its own size), which corrupts memory.
func TestMmsghdrLayout(t *testing.T) {
	want, ok := cLayouts[runtime.GOARCH]
	if !ok {
		t.Fatalf("no C layout recorded for GOARCH=%s: add it to cLayouts after checking <sys/socket.h>", runtime.GOARCH)
	}
	var m mmsghdr
	ptr := unsafe.Sizeof(uintptr(0))
	if got := unsafe.Sizeof(m.Hdr); got != want.msghdr {
		t.Errorf("sizeof(msghdr) = %d, want %d", got, want.msghdr)
	}
	if got := unsafe.Offsetof(m.Len); got != want.msghdr {
		t.Errorf("offsetof(mmsghdr.msg_len) = %d, want %d (right after the msghdr)", got, want.msghdr)
	}
	// sizeof(struct mmsghdr) = sizeof(struct msghdr) + 4, rounded up to the
	// pointer alignment.
	if got, rounded := unsafe.Sizeof(m), (want.msghdr+4+ptr-1)/ptr*ptr; got != want.mmsghdr || got != rounded {
		t.Errorf("sizeof(mmsghdr) = %d, want %d", got, want.mmsghdr)
	}
	if got := unsafe.Sizeof([2]mmsghdr{}); got != 2*want.mmsghdr {
		t.Errorf("array stride %d, want %d", got/2, want.mmsghdr)
	}
	if got := unsafe.Sizeof(unix.Iovec{}); got != want.iovec {
		t.Errorf("sizeof(iovec) = %d, want %d", got, want.iovec)
	}
	if got := unsafe.Sizeof(unix.RawSockaddrInet4{}); got != 16 {
		t.Errorf("sizeof(sockaddr_in) = %d, want 16", got)
	}
	// The name buffers are sockaddr_in6 and also hold a sockaddr_in: the
	// family field is the first two bytes of both.
	var sa6 unix.RawSockaddrInet6
	if got := unsafe.Sizeof(sa6); got != 28 || unix.SizeofSockaddrInet6 != 28 {
		t.Errorf("sizeof(sockaddr_in6) = %d, want 28", got)
	}
	if unsafe.Offsetof(sa6.Family) != 0 || unsafe.Offsetof(sa6.Port) != 2 || unsafe.Offsetof(sa6.Addr) != 8 ||
		unsafe.Offsetof(unix.RawSockaddrInet4{}.Port) != 2 || unsafe.Offsetof(unix.RawSockaddrInet4{}.Addr) != 4 {
		t.Error("sockaddr_in/sockaddr_in6 field offsets differ from <netinet/in.h>")
	}
	// The length setters must fill the whole C field (size_t on 64-bit).
	var iov unix.Iovec
	iov.SetLen(0x1234)
	if iov.Len != 0x1234 {
		t.Errorf("iovec.SetLen: %#x", iov.Len)
	}
	m.Hdr.SetIovlen(1)
	if m.Hdr.Iovlen != 1 {
		t.Errorf("msghdr.SetIovlen: %d", m.Hdr.Iovlen)
	}
}

// TestBatchConnFullBatch fills the receive batch: every mmsghdr of the array
// is used, so a header stride that differs from the kernel's shows as wrong
// lengths, wrong sources or a fault. Two senders interleave so each
// datagram's source is checked against its own sockaddr slot.
func TestBatchConnFullBatch(t *testing.T) {
	a, b := loopbackPair(t)
	c, _ := loopbackPair(t)
	dst := b.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	srcs := []netip.AddrPort{
		a.conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		c.conn.LocalAddr().(*net.UDPAddr).AddrPort(),
	}
	const batch = 16 // loopbackPair's batch size
	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = make([]byte, 60+i*7)
		for j := range pkts[i] {
			pkts[i][j] = byte(i*31 + j)
		}
	}
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, batch)
	from := make([]netip.AddrPort, batch)
	check := func(name string, src func(i int) netip.AddrPort) {
		t.Helper()
		clear(sizes)
		clear(from)
		// Loopback delivery completes inside the send call, so all datagrams
		// are queued and one recvmmsg returns the whole batch.
		n, err := b.readBatch(bufs, sizes, from)
		if err != nil {
			t.Fatalf("%s: readBatch: %v", name, err)
		}
		if n != batch {
			t.Fatalf("%s: readBatch returned %d datagrams, want the full batch of %d", name, n, batch)
		}
		for i := 0; i < n; i++ {
			if sizes[i] != len(pkts[i]) || !bytes.Equal(bufs[i][:len(pkts[i])], pkts[i]) {
				t.Fatalf("%s: datagram %d: %d bytes, want %d (contents equal: %v)", name, i, sizes[i], len(pkts[i]),
					sizes[i] == len(pkts[i]) && bytes.Equal(bufs[i][:sizes[i]], pkts[i]))
			}
			if from[i] != src(i) {
				t.Fatalf("%s: datagram %d from %v, want %v", name, i, from[i], src(i))
			}
		}
	}

	// One sendmmsg with every header of the send array in use.
	if n, err := a.writeBatch(pkts, dst); err != nil || n != batch {
		t.Fatalf("writeBatch = %d, %v; want %d", n, err, batch)
	}
	check("one sender", func(int) netip.AddrPort { return srcs[0] })

	// Alternating senders, one datagram each.
	for i, p := range pkts {
		if _, err := []*batchConn{a, c}[i%2].writeBatch([][]byte{p}, dst); err != nil {
			t.Fatal(err)
		}
	}
	check("two senders", func(i int) netip.AddrPort { return srcs[i%2] })
}
