package vpn

// Proxy mode's data path costs: our side of the netstack boundary (the
// receive path and the tun.Device wrapper in, the wrapper's Read and
// transmit out) allocates nothing per packet; the gVisor stack behind it
// does, and the end-to-end benchmarks show how much.
//
//	go test -run '^$' -bench Proxy -benchmem ./vpn/

import (
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/netstack"
)

const (
	benchTunnel, benchSession         = 11, 12 // our ids
	benchPeerTunnel, benchPeerSession = 21, 22
	benchPort                         = 7777
)

// stubStack stands in for the netstack device: it takes every write and
// hands out one prepared packet per read, allocating nothing.
type stubStack struct {
	wgtun.Device // nil: only the methods below are called
	pkt          []byte
	writes       int
}

func (s *stubStack) Write(bufs [][]byte, offset int) (int, error) {
	s.writes += len(bufs)
	return len(bufs), nil
}

func (s *stubStack) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	sizes[0] = copy(bufs[0][offset:], s.pkt)
	return 1, nil
}

func (s *stubStack) BatchSize() int { return 1 }
func (s *stubStack) Close() error   { return nil }

// benchConn is a plain-L2TP Conn with its session ids set, sending to a
// loopback socket nobody reads (the kernel drops what does not fit), and
// receiving from the address server.
func benchConn(tb testing.TB, dev *tun.Device) (c *Conn, server netip.AddrPort) {
	tb.Helper()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	drop, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { udp.Close(); drop.Close() })
	sock, err := newBatchConn(udp, udpBatch)
	if err != nil {
		tb.Fatal(err)
	}
	c = &Conn{log: slog.New(slog.DiscardHandler), sock: sock}
	server = drop.LocalAddr().(*net.UDPAddr).AddrPort()
	c.peer.Store(&server)
	c.localTunnel.Store16(benchTunnel)
	c.localSession.Store16(benchSession)
	c.peerTunnel.Store16(benchPeerTunnel)
	c.peerSession.Store16(benchPeerSession)
	c.tunMTU.Store(1400)
	c.dev.Store(dev)
	return c, server
}

// udp4 is an IPv4 UDP packet with a valid header checksum and no UDP
// checksum (allowed over IPv4).
func udp4(src, dst netip.AddrPort, payload int) []byte {
	p := make([]byte, 28+payload)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, 17
	copy(p[12:16], src.Addr().AsSlice())
	copy(p[16:20], dst.Addr().AsSlice())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+payload))
	return p
}

// dataMessage is pkt in an L2TP data message of the bench session, in a
// receive buffer laid out as rxLoop's (rxHeadroom in front).
func dataMessage(tb testing.TB, pkt []byte) (buf, view []byte, size int) {
	buf = make([]byte, rxHeadroom+bufSize)
	off := rxHeadroom + 64
	copy(buf[off:], pkt)
	var seq l2tp.DataSequence
	d, ok := encap(buf, off, len(pkt), benchTunnel, benchSession, &seq)
	if !ok {
		tb.Fatal("encap failed")
	}
	msg := append([]byte(nil), d...) // then moved to where recvmmsg puts it
	view = buf[rxHeadroom:]
	copy(view, msg)
	return buf, view, len(msg)
}

// rxOne is rxLoop's work for one datagram: receive, then the device write
// with tun.WriteHeadroom in front of the IP packet.
func rxOne(c *Conn, buf, view []byte, size int, from netip.AddrPort, out [][]byte) bool {
	p := c.receive(view, size, from)
	if p == nil {
		return false
	}
	off := cap(buf) - cap(p)
	out[0] = buf[off-tun.WriteHeadroom : off+len(p)]
	_, err := c.dev.Load().Write(out, tun.WriteHeadroom)
	return err == nil
}

// txOne is txLoop's work for one packet: the device read, then transmit.
func txOne(c *Conn, dev *tun.Device, bufs [][]byte, sizes []int, out [][]byte) bool {
	n, err := dev.Read(bufs, sizes, txHeadroom)
	if err != nil || n != 1 {
		return false
	}
	c.transmit(bufs, sizes, n, out)
	return true
}

// Our side of the boundary allocates nothing per packet, in and out: the
// receive path with the device wrapper's Write, and the wrapper's Read with
// transmit. (The stack behind the wrapper is a stub here.)
func TestProxyOurSideAllocs(t *testing.T) {
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	stub := &stubStack{pkt: udp4(local, remote, 1372)}
	dev := tun.Wrap(stub, stackDevice, nil)
	c, server := benchConn(t, dev)
	buf, view, size := dataMessage(t, udp4(remote, local, 1372))
	out := make([][]byte, 1)
	bad := 0
	if a := testing.AllocsPerRun(allocRuns, func() {
		if !rxOne(c, buf, view, size, server, out) {
			bad++
		}
	}); a != 0 {
		t.Errorf("receive into the stack allocates %v times per packet, want 0", a)
	}
	bufs, sizes := [][]byte{make([]byte, txHeadroom+bufSize)}, []int{0}
	txOut := make([][]byte, 0, 1)
	if a := testing.AllocsPerRun(allocRuns, func() {
		if !txOne(c, dev, bufs, sizes, txOut) {
			bad++
		}
	}); a != 0 {
		t.Errorf("transmit from the stack allocates %v times per packet, want 0", a)
	}
	if st := c.Stats(); bad != 0 || stub.writes != allocRuns+1 || st.TxPackets != allocRuns+1 || st.TxErrors != 0 {
		t.Errorf("%d packets lost, %d written to the stack; stats %+v", bad, stub.writes, st)
	}
}

// BenchmarkProxyOurSide: our side of the netstack boundary only, both
// directions per op (expect 0 allocs/op).
func BenchmarkProxyOurSide(b *testing.B) {
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	stub := &stubStack{pkt: udp4(local, remote, 1372)}
	dev := tun.Wrap(stub, stackDevice, nil)
	c, server := benchConn(b, dev)
	buf, view, size := dataMessage(b, udp4(remote, local, 1372))
	out := make([][]byte, 1)
	bufs, sizes := [][]byte{make([]byte, txHeadroom+bufSize)}, []int{0}
	txOut := make([][]byte, 0, 1)
	b.SetBytes(2 * 1400)
	b.ReportAllocs()
	for b.Loop() {
		if !rxOne(c, buf, view, size, server, out) || !txOne(c, dev, bufs, sizes, txOut) {
			b.Fatal("packet lost")
		}
	}
}

// benchStack is a real netstack device behind the Conn and a UDP socket
// on it at the tunnel address.
func benchStack(b *testing.B) (*Conn, netip.AddrPort, *tun.Device, net.PacketConn) {
	wdev, n, err := netstack.CreateNetTUN([]netip.Addr{clientPPPAddr}, nil, 1400)
	if err != nil {
		b.Fatal(err)
	}
	dev := tun.Wrap(wdev, stackDevice, nil)
	b.Cleanup(func() { dev.Close() })
	c, server := benchConn(b, dev)
	pc, err := (&Net{n: n, local: clientPPPAddr}).ListenUDP(netip.AddrPortFrom(clientPPPAddr, benchPort))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	return c, server, dev, pc
}

// BenchmarkProxyNetstackIn: a received datagram through our receive path
// into the gVisor stack, up to a UDP socket read (the allocations are the
// stack's: see BenchmarkProxyOurSide).
func BenchmarkProxyNetstackIn(b *testing.B) {
	c, server, _, pc := benchStack(b)
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	buf, view, size := dataMessage(b, udp4(remote, local, 1372))
	out := make([][]byte, 1)
	rbuf := make([]byte, 2048)
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		if !rxOne(c, buf, view, size, server, out) {
			b.Fatal("not delivered")
		}
		if n, _, err := pc.ReadFrom(rbuf); err != nil || n != 1372 {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}

// BenchmarkProxyNetstackOut: UDP socket writes in the gVisor stack, out
// of the device and through transmit to the socket. The stack hands a
// packet over only to a pending Read, so the writes run in a goroutine of
// their own, as the proxy's connections do.
func BenchmarkProxyNetstackOut(b *testing.B) {
	c, _, dev, pc := benchStack(b)
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(remoteHost, benchPort))
	payload := make([]byte, 1372)
	bufs, sizes := [][]byte{make([]byte, txHeadroom+bufSize)}, []int{0}
	txOut := make([][]byte, 0, 1)
	b.SetBytes(1400)
	b.ReportAllocs()
	b.ResetTimer()
	werr := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := pc.WriteTo(payload, dst); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for i := 0; i < b.N; i++ {
		if !txOne(c, dev, bufs, sizes, txOut) || sizes[0] != 1400 {
			b.Fatalf("packet %d not read from the stack (size %d)", i, sizes[0])
		}
	}
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
}
