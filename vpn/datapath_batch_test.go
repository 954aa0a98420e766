package vpn

// The data path counts per batch: a batch's packets, bytes and errors are
// added to the counters once, and a received batch's before its packets
// reach the device, so whoever sees a packet there sees it counted. Stats
// report what they reported when every packet was counted on its own.

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// statsTUN is a memTUN that records the connection's stats at each write.
type statsTUN struct {
	memTUN
	c    *Conn
	seen []Stats
}

func (s *statsTUN) Write(bufs [][]byte, offset int) (int, error) {
	s.seen = append(s.seen, s.c.Stats())
	return s.memTUN.Write(bufs, offset)
}

// rxBatchOf lays datagrams out as recvmmsg leaves them for rxBatch.
func rxBatchOf(ds [][]byte) (bufs, views [][]byte, sizes []int) {
	for _, d := range ds {
		buf := make([]byte, rxHeadroom+bufSize)
		bufs = append(bufs, buf)
		views = append(views, buf[rxHeadroom:])
		sizes = append(sizes, copy(buf[rxHeadroom:], d))
	}
	return bufs, views, sizes
}

func TestRxBatchCounters(t *testing.T) {
	dev := &statsTUN{}
	c, server := benchConn(t, tun.Wrap(dev, "mem0", nil))
	dev.c = c
	c.tunnel = l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	_, view, size := dataMessage(t, udp4(remote, local, 1372))
	good := view[:size]
	otherSession := bytes.Clone(good)
	otherSession[5]++ // the session id's low byte
	foreign := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), server.Port())

	ds := [][]byte{good, good, {0x00}, good, otherSession, good, good}
	from := []netip.AddrPort{server, server, server, foreign, server, server, server}
	bufs, views, sizes := rxBatchOf(ds)
	sizes[6] = -1 // truncated by the kernel
	c.rxBatch(bufs, views, sizes, from, len(ds), make([][]byte, 0, len(ds)))

	want := Stats{RxPackets: 3, RxBytes: 3 * 1400, RxDropped: 4, RxMalformed: 2, RxForeign: 1, RxWrongSession: 1}
	if st := c.Stats(); st != want {
		t.Fatalf("stats %+v\nwant  %+v", st, want)
	}
	if dev.writes != 3 || len(dev.seen) != 1 {
		t.Fatalf("%d packets in %d device writes, want 3 in 1", dev.writes, len(dev.seen))
	}
	if dev.seen[0].RxPackets != 3 {
		t.Fatalf("the device write saw RxPackets %d, want the batch's 3 already counted", dev.seen[0].RxPackets)
	}

	// One more batch adds to the first; a datagram on its own too.
	bufs, views, sizes = rxBatchOf([][]byte{good, good})
	c.rxBatch(bufs, views, sizes, []netip.AddrPort{server, server}, 2, make([][]byte, 0, 2))
	if p := c.receive(views[0], copy(views[0], good), server); len(p) != 1400 {
		t.Fatalf("receive returned %d bytes", len(p))
	}
	if st := c.Stats(); st.RxPackets != 6 || st.RxBytes != 6*1400 || st.RxDropped != 4 {
		t.Fatalf("after more batches: %+v", st)
	}
}

func TestTransmitBatchCounters(t *testing.T) {
	c, _ := benchConn(t, tun.Wrap(&memTUN{}, "mem0", nil))
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	pkt := udp4(local, remote, 1372)
	bufs := make([][]byte, 5)
	sizes := make([]int, 5)
	for i := range bufs {
		bufs[i] = make([]byte, txHeadroom+bufSize)
		sizes[i] = copy(bufs[i][txHeadroom:], pkt)
	}
	bufs[1][txHeadroom] = 0x20 // neither IPv4 nor IPv6: encap refuses it
	bufs[3][txHeadroom] = 0x20
	out := make([][]byte, 0, 5)
	c.transmit(bufs, sizes, 5, out)
	want := Stats{TxPackets: 3, TxBytes: 3 * 1400, TxErrors: 2}
	if st := c.Stats(); st != want {
		t.Fatalf("stats %+v\nwant  %+v", st, want)
	}
	c.closing.Store(true)
	c.transmit(bufs, sizes, 5, out)
	if st := c.Stats(); st.TxErrors != 7 || st.TxPackets != 3 {
		t.Fatalf("closing: stats %+v, want 5 more errors", st)
	}
}

// ESP: a batch with verified packets marks the IPsec path as having
// opened ESP from the server (once per batch); a forgery alone does not.
func TestRxBatchESPVerified(t *testing.T) {
	sink := newUDPSink(t, false)
	dev := &statsTUN{}
	c, srv := ipsecConns(t, esp.Transport, esp.Transform{Enc: esp.AESGCM16}, sink.addr, tun.Wrap(dev, "mem0", nil))
	dev.c = c
	c.tunnel = l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })
	in := ipv4(remoteHost, clientPPPAddr, 1400, 7)
	sealed := func() []byte { return sealedData(t, srv, in) }
	from := netip.AddrPortFrom(c.ipsec.server, nattPort)

	forged := sealed()
	forged[len(forged)-1] ^= 1
	bufs, views, sizes := rxBatchOf([][]byte{forged})
	c.rxBatch(bufs, views, sizes, []netip.AddrPort{from}, 1, make([][]byte, 0, 1))
	if c.ipsec.opened.Load() || c.ipsec.espAuth.Load() != 1 {
		t.Fatalf("after a forgery: opened %v, espAuth %d", c.ipsec.opened.Load(), c.ipsec.espAuth.Load())
	}

	bufs, views, sizes = rxBatchOf([][]byte{sealed(), sealed(), sealed()})
	fs := []netip.AddrPort{from, from, from}
	c.rxBatch(bufs, views, sizes, fs, 3, make([][]byte, 0, 3))
	if !c.ipsec.opened.Load() {
		t.Fatal("verified ESP did not mark the path opened")
	}
	if st := c.Stats(); st.RxPackets != 3 || st.RxBytes != 3*1400 || st.RxDropped != 1 || dev.writes != 3 {
		t.Fatalf("stats %+v, %d written", st, dev.writes)
	}
}

// sealedData is the IP packet in as srv sends it: in PPP, in an L2TP data
// message of tunnel 11, session 12, sealed by its outbound SA.
func sealedData(t *testing.T, srv *Conn, in []byte) []byte {
	t.Helper()
	msg := append([]byte{0x00, 0x02, 0, 11, 0, 12, 0xff, 0x03, 0x00, 0x21}, in...)
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], msg)
	d, err := srv.seal(buf, txHeadroom, len(msg))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
