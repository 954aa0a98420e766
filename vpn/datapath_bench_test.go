package vpn

// BenchmarkDataPath: the data path per packet over the real code, each
// direction on its own, for plain L2TP and for built-in IPsec with AES-GCM
// and with AES-CBC + HMAC-SHA1-96 (transport mode, SAs made from fixed keys:
// no IKE runs). The TUN device is in memory (memTUN: reads hand out a
// prepared packet, writes are counted), the network a loopback socket pair
// between the connection and the server's side:
//
//	tx: device read (a batch of txBurst) ──► transmit (clamp, encap, [seal,]
//	    sendmmsg)
//	rx: recvmmsg (a batch of udpBatch) ──► rxBatch (source check, [ESP open,]
//	    classify, counters) ──► device write
//
// The server's datagrams are made and sent with the timer stopped, so rx
// measures our receive side only. Expect 0 allocs/op everywhere.
//
//	go test -run '^$' -bench DataPath -benchmem ./vpn/

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// txBurst is how many packets one device read hands to transmit.
const txBurst = 16

// memTUN is an in-memory TUN device: every read fills the whole batch with
// pkt, every write is counted; neither allocates.
type memTUN struct {
	wgtun.Device // nil: only the methods below are called
	pkt          []byte
	writes       int
}

func (m *memTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	for i := range bufs {
		sizes[i] = copy(bufs[i][offset:], m.pkt)
	}
	return len(bufs), nil
}

func (m *memTUN) Write(bufs [][]byte, offset int) (int, error) {
	m.writes += len(bufs)
	return len(bufs), nil
}

func (m *memTUN) BatchSize() int { return txBurst }
func (m *memTUN) Close() error   { return nil }

// dataPathBench is a connection, its device, and the server's end of the
// socket pair.
type dataPathBench struct {
	c    *Conn
	dev  *tun.Device
	mem  *memTUN
	peer *batchConn     // the server's socket
	to   netip.AddrPort // the connection's socket
	natt bool           // IPsec: the server sends from port 4500
	// next writes the server's next datagram for us into buf and returns
	// it (aliasing buf).
	next func(tb testing.TB, buf []byte) []byte
}

// newDataPathBench builds the connection: plain L2TP when tr is nil.
func newDataPathBench(tb testing.TB, tr *esp.Transform) *dataPathBench {
	tb.Helper()
	remote, local := netip.AddrPortFrom(remoteHost, benchPort), netip.AddrPortFrom(clientPPPAddr, benchPort)
	d := &dataPathBench{mem: &memTUN{pkt: udp4(local, remote, 1372)}}
	d.dev = tun.Wrap(d.mem, "mem0", nil)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { udp.Close() })
	if d.peer, err = newBatchConn(udp, udpBatch); err != nil {
		tb.Fatal(err)
	}
	peerAddr := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	in := udp4(remote, local, 1372)

	if tr == nil {
		c, _ := benchConn(tb, d.dev)
		c.peer.Store(&peerAddr)
		d.c = c
		_, view, size := dataMessage(tb, in)
		msg := append([]byte(nil), view[:size]...)
		d.next = func(_ testing.TB, buf []byte) []byte { return buf[:copy(buf, msg)] }
	} else {
		// Our datagrams go to the server's socket, which nobody reads (the
		// kernel drops what does not fit); its SAs seal what it sends us.
		var srv *Conn
		d.c, srv = ipsecConns(tb, esp.Transport, *tr, peerAddr, d.dev)
		d.c.tunMTU.Store(1400)
		d.natt = true
		// An L2TP data message of our session (tunnel 11, session 12).
		msg := append([]byte{0x00, 0x02, 0, 11, 0, 12, 0xff, 0x03, 0x00, 0x21}, in...)
		d.next = func(tb testing.TB, buf []byte) []byte {
			copy(buf[txHeadroom:], msg)
			pkt, err := srv.seal(buf, txHeadroom, len(msg))
			if err != nil {
				tb.Fatal(err)
			}
			return pkt
		}
	}
	d.c.tunnel = l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })
	d.c.sock.conn.SetReadBuffer(1 << 20) // a whole burst waits in it
	d.to = d.c.sock.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return d
}

func dataPathCases() []struct {
	name string
	tr   *esp.Transform
} {
	return []struct {
		name string
		tr   *esp.Transform
	}{
		{"plain", nil},
		{"aes-gcm-128", &esp.Transform{Enc: esp.AESGCM16}},
		{"aes-cbc-128-hmac-sha1", &esp.Transform{Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}},
	}
}

func BenchmarkDataPath(b *testing.B) {
	for _, tc := range dataPathCases() {
		b.Run(tc.name+"/tx", func(b *testing.B) { benchTx(b, newDataPathBench(b, tc.tr)) })
		b.Run(tc.name+"/rx", func(b *testing.B) { benchRx(b, newDataPathBench(b, tc.tr)) })
	}
}

// benchTx: b.N packets read from the device and transmitted, txBurst at a
// time.
func benchTx(b *testing.B, d *dataPathBench) {
	bufs := make([][]byte, txBurst)
	for i := range bufs {
		bufs[i] = make([]byte, txHeadroom+bufSize)
	}
	sizes := make([]int, txBurst)
	out := make([][]byte, 0, txBurst)
	b.SetBytes(1400)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(txBurst, b.N-done)
		n, err := d.dev.Read(bufs[:k], sizes, txHeadroom)
		if err != nil || n != k {
			b.Fatalf("device read: %d, %v", n, err)
		}
		d.c.transmit(bufs, sizes, n, out)
		done += n
	}
	b.StopTimer()
	if st := d.c.Stats(); st.TxPackets != uint64(b.N) || st.TxErrors != 0 || st.TxBytes != uint64(b.N)*1400 {
		b.Fatalf("%d packets: stats %+v", b.N, st)
	}
}

// benchRx: b.N datagrams from the server received and written to the
// device, in batches of up to udpBatch as rxLoop reads them.
func benchRx(b *testing.B, d *dataPathBench) {
	bufs, views := make([][]byte, udpBatch), make([][]byte, udpBatch)
	sent := make([][]byte, udpBatch) // the server's buffers
	for i := range bufs {
		bufs[i] = make([]byte, rxHeadroom+rxBufSize) // as rxLoop's
		views[i] = bufs[i][rxHeadroom:]
		sent[i] = make([]byte, txHeadroom+bufSize)
	}
	pkts := make([][]byte, udpBatch)
	sizes, from := make([]int, udpBatch), make([]netip.AddrPort, udpBatch)
	out := make([][]byte, 0, udpBatch)
	b.SetBytes(1400)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(udpBatch, b.N-done)
		b.StopTimer()
		for i := range k {
			pkts[i] = d.next(b, sent[i])
		}
		if n, err := d.peer.writeBatch(pkts[:k], d.to); err != nil || n != k {
			b.Fatalf("server sent %d of %d: %v", n, k, err)
		}
		d.c.sock.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		b.StartTimer()
		for got := 0; got < k; {
			n, err := d.c.sock.readBatch(views[:k-got], sizes, from)
			if err != nil {
				b.Fatalf("received %d of %d: %v", got, k, err)
			}
			if d.natt {
				// The server's NAT-T port: binding 4500 here could clash
				// with whatever else runs on this host.
				for i := range n {
					from[i] = netip.AddrPortFrom(from[i].Addr(), nattPort)
				}
			}
			d.c.rxBatch(bufs, views, sizes, from, n, out)
			got += n
		}
		done += k
	}
	b.StopTimer()
	if st := d.c.Stats(); st.RxPackets != uint64(b.N) || st.RxDropped != 0 || d.mem.writes != b.N {
		b.Fatalf("%d datagrams, %d written to the device: stats %+v", b.N, d.mem.writes, st)
	}
}
