package datapath

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func pair(t testing.TB, batch int) (a, b *UDP, dst netip.AddrPort) {
	t.Helper()
	ca, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close(); cb.Close() })
	if a, err = NewUDP(ca, batch); err != nil {
		t.Fatal(err)
	}
	if b, err = NewUDP(cb, batch); err != nil {
		t.Fatal(err)
	}
	b.SetBuffers(4 << 20)
	return a, b, cb.LocalAddr().(*net.UDPAddr).AddrPort()
}

// datagrams of the given sizes, each filled with its index.
func datagrams(sizes ...int) [][]byte {
	var out [][]byte
	for i, n := range sizes {
		out = append(out, bytes.Repeat([]byte{byte(i + 1)}, n))
	}
	return out
}

// receiveAll reads until want datagrams arrived and checks them.
func receiveAll(t *testing.T, b *UDP, want [][]byte) {
	t.Helper()
	bufs := make([][]byte, len(want))
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, len(want))
	from := make([]netip.AddrPort, len(want))
	b.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < len(want); {
		n, err := b.ReadBatch(bufs[got:], sizes[got:], from[got:])
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", got, len(want), err)
		}
		for i := got; i < got+n; i++ {
			if !bytes.Equal(bufs[i][:sizes[i]], want[i]) {
				t.Fatalf("datagram %d: %d bytes %x..., want %d bytes of %x", i, sizes[i], bufs[i][:1], len(want[i]), want[i][0])
			}
		}
		got += n
	}
}

// Runs of equal sizes go as one GSO message; the receiver sees the
// datagrams as they were, boundaries and order kept.
func TestWriteBatchGSO(t *testing.T) {
	a, b, dst := pair(t, 64)
	if !a.GSO() {
		t.Skip("no UDP GSO in this kernel")
	}
	pkts := datagrams(1400, 1400, 1400, 800, 1400, 1400, 60, 1500, 1400)
	n, err := a.WriteBatch(pkts, dst)
	if err != nil || n != len(pkts) {
		t.Fatalf("sent %d of %d: %v", n, len(pkts), err)
	}
	receiveAll(t, b, pkts)
	if !a.GSO() {
		t.Fatal("GSO turned off on a kernel that has it")
	}
}

func TestPackRuns(t *testing.T) {
	a, _, _ := pair(t, 128)
	a.SetGSO(true)
	pkts := datagrams(1400, 1400, 1400, 800, 1400, 1400, 60, 1500, 1400)
	msgs, used := a.pack(pkts)
	// 1400×3 + 800 | 1400×2 + 60 | 1500 + 1400
	if want := []int{4, 3, 2}; msgs != len(want) || used != len(pkts) || !equalInts(a.spkts[:msgs], want) {
		t.Fatalf("%d messages of %v datagrams (%d used), want %v", msgs, a.spkts[:msgs], used, want)
	}
	a.SetGSO(false)
	if msgs, used := a.pack(pkts); msgs != len(pkts) || used != len(pkts) {
		t.Fatalf("without GSO: %d messages for %d datagrams", msgs, used)
	}
	// The kernel's limits: 64 segments and one IP packet per message.
	a.SetGSO(true)
	many := datagrams(make([]int, 100)...)
	for i := range many {
		many[i] = make([]byte, 500)
	}
	if msgs, _ := a.pack(many); msgs != 2 || a.spkts[0] != maxGSOSegments {
		t.Fatalf("100 small datagrams: %d messages, first of %d", msgs, a.spkts[0])
	}
	big := datagrams(make([]int, 60)...)
	for i := range big {
		big[i] = make([]byte, 1400)
	}
	if msgs, _ := a.pack(big); msgs != 2 || a.spkts[0]*1400 > maxGSOBytes {
		t.Fatalf("60 datagrams of 1400: %d messages, first of %d", msgs, a.spkts[0])
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A kernel that refuses a GSO message (here: UDP_SEGMENT needs checksums,
// and SO_NO_CHECK turns them off, so the kernel answers EINVAL as it
// answers EIO for a device that cannot checksum) turns GSO off for the
// socket; the batch is still delivered whole, one datagram per message.
func TestWriteBatchGSOFallback(t *testing.T) {
	a, b, dst := pair(t, 64)
	if !a.GSO() {
		t.Skip("no UDP GSO in this kernel")
	}
	var serr error
	a.RawConn().Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	})
	if serr != nil {
		t.Skip("SO_NO_CHECK:", serr)
	}
	pkts := datagrams(1400, 1400, 1400, 1400, 700)
	n, err := a.WriteBatch(pkts, dst)
	if err != nil || n != len(pkts) {
		t.Fatalf("sent %d of %d: %v", n, len(pkts), err)
	}
	if a.GSO() {
		t.Fatal("GSO still on after the kernel refused it")
	}
	receiveAll(t, b, pkts)
}

// A steady-state batch allocates nothing, GSO or not.
func TestUDPAllocs(t *testing.T) {
	a, b, dst := pair(t, 64)
	pkts := datagrams(1400, 1400, 1400, 1400, 1400, 1400, 1400, 800)
	bufs := make([][]byte, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, 64)
	from := make([]netip.AddrPort, 64)
	b.EnableGRO()
	for _, gso := range []bool{true, false} {
		a.SetGSO(gso && a.GSO())
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := a.WriteBatch(pkts, dst); err != nil || n != len(pkts) {
				t.Fatalf("sent %d: %v", n, err)
			}
			for got := 0; got < len(pkts); {
				n, err := b.ReadBatch(bufs, sizes, from)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		})
		if allocs != 0 {
			t.Errorf("gso %v: %v allocations per batch, want 0", gso, allocs)
		}
	}
}

// A GSO sender's runs reach a GRO receiver as runs (one slot each) and
// come out of ReadBatch one datagram per buffer, as they were sent, also
// when a run is longer than the caller's batch.
func TestReadBatchGRO(t *testing.T) {
	a, b, dst := pair(t, 64)
	if !a.GSO() || !b.EnableGRO() {
		t.Skip("no UDP GSO or GRO in this kernel")
	}
	var sizes []int
	for range 40 {
		sizes = append(sizes, 1400)
	}
	sizes = append(sizes, 900, 1400, 1400, 1400, 100)
	pkts := datagrams(sizes...)
	if n, err := a.WriteBatch(pkts, dst); err != nil || n != len(pkts) {
		t.Fatalf("sent %d of %d: %v", n, len(pkts), err)
	}
	// In batches of 16: runs are handed out across calls.
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	got, size, from := 0, make([]int, 16), make([]netip.AddrPort, 16)
	coalesced := false
	b.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
	for got < len(pkts) {
		n, err := b.ReadBatch(bufs, size, from)
		if err != nil {
			t.Fatalf("after %d of %d: %v", got, len(pkts), err)
		}
		for i := range n {
			if !bytes.Equal(bufs[i][:size[i]], pkts[got+i]) || from[i] != a.Conn().LocalAddr().(*net.UDPAddr).AddrPort() {
				t.Fatalf("datagram %d: %d bytes from %v, want %d", got+i, size[i], from[i], len(pkts[got+i]))
			}
		}
		for _, s := range b.gro.seg[:b.gro.n] {
			coalesced = coalesced || s > 0
		}
		got += n
	}
	if !coalesced {
		t.Error("no read returned a run: GRO did nothing")
	}
}

func TestGROSize(t *testing.T) {
	ctl := make([]byte, unix.CmsgSpace(4)+unix.CmsgSpace(12))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
	h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
	h.SetLen(unix.CmsgLen(12))
	next := ctl[unix.CmsgSpace(12):]
	h = (*unix.Cmsghdr)(unsafe.Pointer(&next[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_GRO
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(next[unix.CmsgLen(0):], 1452)
	if got := groSize(ctl); got != 1452 {
		t.Fatalf("groSize %d, want 1452", got)
	}
	if got := groSize(ctl[:unix.CmsgSpace(12)]); got != 0 {
		t.Fatalf("without UDP_GRO: %d", got)
	}
	for i := range ctl { // every prefix parses without a panic
		groSize(ctl[:i])
	}
}
