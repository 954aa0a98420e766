package vpn

// Zero allocations per packet over the real data path: (*Conn).transmit
// (encap, [seal,] sendmmsg) and (*Conn).receive (source check, [ESP open,]
// classify), not only over their parts. testing.AllocsPerRun counts every
// goroutine's allocations, so the peers are allocation-free sinks while it
// runs and the connection's control loops are idle (no keepalives).

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

const allocRuns = 200

// awaitSunk waits for one datagram at a sink without allocating; tm is a
// stopped timer owned by the caller.
func awaitSunk(sunk <-chan struct{}, tm *time.Timer) bool {
	tm.Reset(2 * time.Second)
	defer tm.Stop()
	select {
	case <-sunk:
		return true
	case <-tm.C:
		return false
	}
}

func stoppedTestTimer() *time.Timer {
	tm := time.NewTimer(time.Hour)
	tm.Stop()
	return tm
}

// Plain L2TP: a Conn connected to the fake LNS.
func TestDataPathAllocsPlain(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	c := mustDial(t, lns, testConfig(t, lns), f)
	lns.sink.Store(true)
	defer func() {
		lns.sink.Store(false) // for the goodbyes
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	tm := stoppedTestTimer()

	pkt := ipv4(clientPPPAddr, remoteHost, 1400, 3)
	bufs := [][]byte{make([]byte, txHeadroom+bufSize)}
	copy(bufs[0][txHeadroom:], pkt)
	sizes := []int{len(pkt)}
	out := make([][]byte, 0, 1)
	lost := 0
	allocs := testing.AllocsPerRun(allocRuns, func() {
		copy(bufs[0][txHeadroom:], pkt) // as the device's read does
		c.transmit(bufs, sizes, 1, out)
		if lost == 0 && !awaitSunk(lns.sunk, tm) {
			lost++
		}
	})
	if allocs != 0 {
		t.Errorf("transmit allocates %v times per packet, want 0", allocs)
	}
	if st := c.Stats(); lost != 0 || st.TxPackets != allocRuns+1 || st.TxErrors != 0 {
		t.Errorf("packets did not reach the server (%d); stats %+v", lost, st)
	}

	d := lns.dataMessage(ipv4(remoteHost, clientPPPAddr, 1400, 4))
	view := make([]byte, rxHeadroom+bufSize)[rxHeadroom:]
	copy(view, d)
	bad := 0
	allocs = testing.AllocsPerRun(allocRuns, func() {
		if p := c.receive(view, len(d), lns.addr); len(p) != 1400 {
			bad++
		}
	})
	if allocs != 0 {
		t.Errorf("receive allocates %v times per packet, want 0", allocs)
	}
	if st := c.Stats(); bad != 0 || st.RxPackets != allocRuns+1 || st.RxDropped != 0 {
		t.Errorf("%d packets not delivered; stats %+v", bad, st)
	}
}

// udpSink is a loopback socket that signals every datagram on sunk, or,
// while keep is set, hands a copy to kept.
type udpSink struct {
	addr netip.AddrPort
	sunk chan struct{}
	kept chan []byte
	keep bool // set before traffic starts
}

func newUDPSink(t *testing.T, keep bool) *udpSink {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &udpSink{addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), sunk: make(chan struct{}, 4096),
		kept: make(chan []byte, 16), keep: keep}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if s.keep {
				s.kept <- bytes.Clone(buf[:n])
				continue
			}
			select {
			case s.sunk <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// ipsecPair builds a connection with built-in IPsec whose SAs are made
// from fixed keys (no IKE runs), sending to sink, and its mirror image:
// the server's side, whose seal makes what the server would send us and
// whose receive opens what we send.
func ipsecPair(t *testing.T, mode esp.Mode, tr esp.Transform, sink netip.AddrPort) (c, srv *Conn, f *fakeTUN) {
	t.Helper()
	f = newFakeTUN(t)
	c, srv = ipsecConns(t, mode, tr, sink, f.dev)
	return c, srv, f
}

// ipsecConns is ipsecPair with the TUN device given (benchmarks use one
// that allocates nothing).
func ipsecConns(t testing.TB, mode esp.Mode, tr esp.Transform, sink netip.AddrPort, dev *tun.Device) (c, srv *Conn) {
	t.Helper()
	keys := tr.KeyLens()
	if keys == nil {
		t.Fatalf("%v: no key length", tr)
	}
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, keys[len(keys)-1]) }
	sa := func(spi uint32, k byte) *esp.SA {
		s, err := esp.NewSA(spi, tr, key(k), mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	local, server := netip.MustParseAddr("127.0.0.1"), sink.Addr()
	build := func(local, server netip.Addr, in, out *esp.SA, sendTo netip.AddrPort, ids [4]uint16) *Conn {
		session, err := ike.NewSession(ike.Config{PSK: secret.FromString("unused"), IKE: ike.DefaultIKEProposals(),
			ESP: ike.DefaultESPProposals(), Local: local, Remote: server, Send: func([]byte, bool) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		p := newIPsecPath(local, server, mode)
		p.session, p.nattAddr = session, sendTo
		p.out.Store(out)
		p.startWorkers(datapath.NewWorkers(0)) // as newIPsec does
		t.Cleanup(p.work.Close)
		inbound := []*esp.SA{in}
		p.in.Store(&inbound)
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		sock, err := newBatchConn(udp, udpBatch)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { udp.Close() })
		c := &Conn{log: slog.New(slog.DiscardHandler), sock: sock, ipsec: p}
		peer := netip.AddrPortFrom(server, l2tpPort)
		c.peer.Store(&peer)
		c.localTunnel.Store16(ids[0])
		c.localSession.Store16(ids[1])
		c.peerTunnel.Store16(ids[2])
		c.peerSession.Store16(ids[3])
		c.dev.Store(dev)
		return c
	}
	// SPI 0x1001 carries server → client, 0x2002 client → server.
	c = build(local, server, sa(0x1001, 1), sa(0x2002, 2), sink, [4]uint16{11, 12, 21, 22})
	srv = build(server, local, sa(0x2002, 2), sa(0x1001, 1), netip.AddrPortFrom(local, 1), [4]uint16{21, 22, 11, 12})
	return c, srv
}

// IPsec, transport and tunnel mode, AEAD and CBC+HMAC: the SAs are built
// directly from keys, so the path is the real one minus IKE.
func TestDataPathAllocsIPsec(t *testing.T) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		for _, tr := range []esp.Transform{{Enc: esp.AESGCM16}, {Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}} {
			t.Run(mode.String()+"/"+tr.String(), func(t *testing.T) {
				testIPsecAllocs(t, mode, tr)
			})
		}
	}
}

func testIPsecAllocs(t *testing.T, mode esp.Mode, tr esp.Transform) {
	// First a functional check: what transmit sends, the server's side
	// opens into the packet we sent, and what the server's side seals,
	// receive opens into the server's packet.
	keep := newUDPSink(t, true)
	c, srv, _ := ipsecPair(t, mode, tr, keep.addr)
	pkt := ipv4(clientPPPAddr, remoteHost, 1400, 5)
	bufs := [][]byte{make([]byte, txHeadroom+bufSize)}
	copy(bufs[0][txHeadroom:], pkt)
	c.transmit(bufs, []int{len(pkt)}, 1, make([][]byte, 0, 1))
	var wire []byte
	select {
	case wire = <-keep.kept:
	case <-time.After(waitTimeout):
		t.Fatal("transmit sent nothing")
	}
	from := netip.AddrPortFrom(c.ipsec.local, nattPort)
	if got := srv.receive(wire, len(wire), from); !bytes.Equal(got, pkt) {
		t.Fatalf("the server's side opened % x, want the packet sent", got)
	}

	// Now the allocation counts, with a sink that only counts.
	sink := newUDPSink(t, false)
	c, srv, _ = ipsecPair(t, mode, tr, sink.addr)
	tm := stoppedTestTimer()
	lost := 0
	sizes, out := []int{len(pkt)}, make([][]byte, 0, 1)
	allocs := testing.AllocsPerRun(allocRuns, func() {
		copy(bufs[0][txHeadroom:], pkt) // seal encrypted the last one in place
		c.transmit(bufs, sizes, 1, out)
		if lost == 0 && !awaitSunk(sink.sunk, tm) {
			lost++
		}
	})
	if allocs != 0 {
		t.Errorf("transmit allocates %v times per packet, want 0", allocs)
	}
	if st := c.Stats(); lost != 0 || st.TxPackets != allocRuns+1 || st.TxErrors != 0 {
		t.Errorf("packets lost (%d); stats %+v", lost, st)
	}

	// The server's datagrams, sealed afresh each time (the replay window
	// refuses a repeat): an L2TP data message of our session.
	in := ipv4(remoteHost, clientPPPAddr, 1400, 6)
	msg := make([]byte, 0, 1500)
	msg = append(msg, 0x00, 0x02, 0, 11, 0, 12, 0xff, 0x03, 0x00, 0x21)
	msg = append(msg, in...)
	buf := make([]byte, txHeadroom+bufSize)
	from = netip.AddrPortFrom(c.ipsec.server, nattPort)
	bad := 0
	allocs = testing.AllocsPerRun(allocRuns, func() {
		copy(buf[txHeadroom:], msg)
		d, err := srv.seal(buf, txHeadroom, len(msg))
		if err != nil {
			bad++
			return
		}
		if p := c.receive(d, len(d), from); !bytes.Equal(p, in) {
			bad++
		}
	})
	if allocs != 0 {
		t.Errorf("seal + receive allocates %v times per packet, want 0", allocs)
	}
	if st := c.Stats(); bad != 0 || st.RxPackets != allocRuns+1 || st.RxDropped != 0 {
		t.Errorf("%d packets not delivered; stats %+v", bad, st)
	}
}
