package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// countTUN is the server's TUN device in these tests: it counts writes.
type countTUN struct {
	writes int // packets
	calls  int // Write calls
	last   []byte
	record bool     // keep a copy of every packet in got (it allocates)
	got    [][]byte // while record is set
}

func (f *countTUN) File() *os.File                         { return nil }
func (f *countTUN) Read([][]byte, []int, int) (int, error) { return 0, io.EOF }
func (f *countTUN) Write(bufs [][]byte, off int) (int, error) {
	f.writes += len(bufs)
	f.calls++
	f.last = bufs[0][off:]
	if f.record {
		for _, b := range bufs {
			f.got = append(f.got, bytes.Clone(b[off:]))
		}
	}
	return len(bufs), nil
}
func (f *countTUN) MTU() (int, error)          { return 1400, nil }
func (f *countTUN) Name() (string, error)      { return "fake", nil }
func (f *countTUN) Events() <-chan wgtun.Event { return nil }
func (f *countTUN) Close() error               { return nil }
func (f *countTUN) BatchSize() int             { return 1 }

var (
	testClientAddr = netip.MustParseAddr("198.51.100.7")
	testServerIP   = netip.MustParseAddr("198.51.100.1")
)

// testServer is a Server without New: a fake TUN, one UDP socket on
// loopback per port it sends from, an LNS with one session per transport
// (our own LAC opened it in-process), and a client routed at
// testClientAddr on each.
type testServer struct {
	*Server
	tunDev  *countTUN
	sink    *net.UDPConn // where the server's datagrams go
	plain   *client
	ipsec   *client
	clientS *esp.SA // the client's outbound SA (the server's inbound)
	serverS *esp.SA // the server's outbound SA
}

func newTestServer(t testing.TB, tr esp.Transform) *testServer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ft := &countTUN{}
	s := &Server{opt: Options{MTU: 1400}, log: log, bySPI: map[uint32]*inSA{}, trans: map[uint64]*transport{},
		byPeer: map[netip.AddrPort]*transport{}, bySess: map[*l2tp.LNSSession]*client{}, byAddr: map[netip.Addr]*client{},
		via: map[netip.AddrPort]*sock{}, dev: tun.Wrap(ft, "fake", log)}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	for _, p := range []uint16{portL2TP, portNATT} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		u, err := datapath.NewUDP(c, udpBatch)
		if err != nil {
			t.Fatal(err)
		}
		s.socks = append(s.socks, &sock{conn: c, udp: u, local: c.LocalAddr().(*net.UDPAddr).AddrPort(), port: p})
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sessions := make(chan *l2tp.LNSSession, 2)
	var lac [2]*l2tp.Tunnel
	s.lns = l2tp.NewLNS(l2tp.LNSConfig{Config: l2tp.Config{Logger: log},
		Send: func(pk l2tp.PeerKey, b []byte) error {
			lac[pk.Conn].Input(bytes.Clone(b))
			return nil
		},
		OnSession: func(ls *l2tp.LNSSession) { sessions <- ls }})
	go s.lns.Run(ctx)
	sinkAddr := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	ts := &testServer{Server: s, tunDev: ft, sink: sink}
	for i := range lac {
		pk := l2tp.PeerKey{Addr: sinkAddr, Conn: uint64(i)}
		lac[i] = l2tp.NewTunnel(l2tp.Config{Logger: log}, func(b []byte) error { s.lns.Input(pk, bytes.Clone(b)); return nil })
		go lac[i].Run(ctx)
		if _, err := lac[i].Establish(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := lac[i].OpenSession(ctx); err != nil {
			t.Fatal(err)
		}
		var ls *l2tp.LNSSession
		select {
		case ls = <-sessions:
		case <-time.After(5 * time.Second):
			t.Fatal("no session")
		}
		c := &client{s: s, sess: ls, outer: sinkAddr, done: make(chan struct{}),
			link: ppp.NewServerLink(ppp.ServerConfig{Logger: log}, func([]byte) error { return nil })}
		c.inner.Store(binary.BigEndian.Uint32(testClientAddr.AsSlice()))
		s.bySess[ls] = c
		if i == 0 {
			ts.plain = c
			continue
		}
		keys := tr.KeyLens()
		key := bytes.Repeat([]byte{7}, keys[len(keys)-1])
		if ts.clientS, err = esp.NewSA(0x1000, tr, key, esp.Transport, nil); err != nil {
			t.Fatal(err)
		}
		in, _ := esp.NewSA(0x1000, tr, key, esp.Transport, nil)
		if ts.serverS, err = esp.NewSA(0x2000, tr, key, esp.Transport, nil); err != nil {
			t.Fatal(err)
		}
		tp := &transport{id: 1, peer: sinkAddr, local: netip.MustParseAddr("127.0.0.1"), mode: esp.Transport}
		tp.out.Store(ts.serverS)
		s.trans[1], s.byPeer[sinkAddr] = tp, tp
		s.bySPI[0x1000] = &inSA{sa: in, t: tp}
		c.t = tp
		ts.ipsec = c
	}
	return ts
}

// ipPacket is a minimal IPv4 packet from src to dst in a buffer with
// txHeadroom before it.
func ipPacket(src, dst netip.Addr, n int) []byte {
	buf := make([]byte, txHeadroom+bufSize)
	p := buf[txHeadroom : txHeadroom+n]
	p[0], p[9] = 0x45, 17
	binary.BigEndian.PutUint16(p[2:], uint16(n))
	copy(p[12:16], src.AsSlice())
	copy(p[16:20], dst.AsSlice())
	return buf
}

// dataMessage frames an IPv4 packet from the client as the client's L2TP
// data message for session ls (the LAC's view: the LNS's ids), with
// rxHeadroom before it in a fresh buffer.
func dataMessage(ls *l2tp.LNSSession, n int) []byte {
	b := make([]byte, 0, 256+n)
	b = binary.BigEndian.AppendUint16(b, 0x0002) // data, version 2
	b = binary.BigEndian.AppendUint16(b, ls.TunnelID)
	b = binary.BigEndian.AppendUint16(b, ls.SessionID)
	b = append(b, 0xff, 0x03, 0x00, 0x21)
	pkt := make([]byte, n)
	pkt[0], pkt[9] = 0x45, 17
	binary.BigEndian.PutUint16(pkt[2:], uint16(n))
	copy(pkt[12:16], testClientAddr.AsSlice())
	copy(pkt[16:20], testServerIP.AsSlice())
	return append(b, pkt...)
}

// The data path allocates nothing per packet, either way, plain or
// through ESP (AES-GCM and AES-CBC with HMAC-SHA1), and each packet
// arrives: the IP packet at the TUN device, the datagram at the client's
// socket.
func TestDataPathAllocs(t *testing.T) {
	for _, tr := range []esp.Transform{{Enc: esp.AESGCM16}, {Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}} {
		t.Run(tr.String(), func(t *testing.T) {
			ts := newTestServer(t, tr)
			s := ts.Server
			for _, c := range []*client{ts.plain, ts.ipsec} {
				s.byAddr = map[netip.Addr]*client{testClientAddr: c}
				tmpl := ipPacket(testServerIP, testClientAddr, 1400)
				buf := make([]byte, len(tmpl))
				tx, bufs, sizes := newTxBatch(1), [][]byte{buf}, []int{1400}
				tx.work = datapath.NewWorkers(0) // as tunLoop's
				defer tx.work.Close()
				before := s.stats.txPackets.Load()
				if a := testing.AllocsPerRun(200, func() {
					copy(buf, tmpl) // ESP encrypts it in place
					s.transmit(tx, bufs, sizes, 1)
				}); a != 0 {
					t.Errorf("transmit (ipsec %v): %.1f allocs per packet", c.t != nil, a)
				}
				if got := s.stats.txPackets.Load() - before; got != 201 {
					t.Errorf("transmit (ipsec %v): %d packets sent, want 201 (errors %d)", c.t != nil, got, s.stats.txErrors.Load())
				}
			}

			// Plain: the L2TP data message straight in.
			msg := dataMessage(ts.plain.sess, 1400)
			buf := make([]byte, rxHeadroom+rxBufSize)
			pk := ts.plain.sess.Peer()
			writes := ts.tunDev.writes
			rx := &rxBatch{out: make([][]byte, 0, 1)}
			if a := testing.AllocsPerRun(200, func() {
				d := buf[rxHeadroom : rxHeadroom+len(msg)]
				copy(d, msg)
				s.receiveL2TP(rx, buf, d, pk, nil)
				s.flushRx(rx)
			}); a != 0 {
				t.Errorf("receive (plain): %.1f allocs per packet", a)
			}
			if got := ts.tunDev.writes - writes; got != 201 || len(ts.tunDev.last) != 1400 {
				t.Errorf("receive (plain): %d packets at the TUN device (last %d bytes), want 201 of 1400 (drops %+v)", got, len(ts.tunDev.last), s.Stats())
			}

			// ESP: sealed by the client's SA, in through the 4500 path,
			// its SA found among thousands, with a responder to tell that
			// the client is alive (at most once a second, off the
			// per-packet path).
			r, err := ike.NewResponder(ike.ResponderConfig{PSK: secret.FromString("unused"),
				Send: func(netip.AddrPort, bool, []byte) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			s.ike = r
			for spi := uint32(0x10000); spi < 0x10000+5000; spi++ {
				s.bySPI[spi] = &inSA{t: ts.ipsec.t}
			}
			msg = dataMessage(ts.ipsec.sess, 1400)
			off := rxHeadroom + 64 // the ESP header, IV and UDP header go before
			from := ts.ipsec.t.peer
			var k *sock
			for _, x := range s.socks {
				if x.port == portNATT {
					k = x
				}
			}
			writes = ts.tunDev.writes
			if a := testing.AllocsPerRun(200, func() {
				copy(buf[off:], msg)
				esp.PutUDP(buf[off-esp.UDPHeaderLen:], from.Port(), portL2TP, len(msg))
				pkt, err := ts.clientS.Seal(buf, off-esp.UDPHeaderLen, esp.UDPHeaderLen+len(msg), 17)
				if err != nil {
					t.Fatal(err)
				}
				s.receiveNATT(rx, buf, pkt, from, k, nil)
				s.flushRx(rx)
			}); a != 0 {
				t.Errorf("receive (esp): %.1f allocs per packet", a)
			}
			if got := ts.tunDev.writes - writes; got != 201 {
				t.Errorf("receive (esp): %d packets at the TUN device, want 201 (drops %+v)", got, s.Stats())
			}
		})
	}
}

// A packet whose source is not the client's own address is dropped and
// counted, never written to the TUN device.
func TestDataPathSpoofedSource(t *testing.T) {
	ts := newTestServer(t, esp.Transform{Enc: esp.AESGCM16})
	msg := dataMessage(ts.plain.sess, 100)
	copy(msg[6+4+12:], netip.MustParseAddr("198.51.100.99").AsSlice()) // another client's address
	buf := make([]byte, rxHeadroom+bufSize)
	d := buf[rxHeadroom : rxHeadroom+len(msg)]
	copy(d, msg)
	rx := &rxBatch{}
	ts.receiveL2TP(rx, buf, d, ts.plain.sess.Peer(), nil)
	ts.flushRx(rx)
	if ts.tunDev.writes != 0 || ts.Stats().RxSpoofed != 1 {
		t.Errorf("spoofed source: %d writes, stats %+v", ts.tunDev.writes, ts.Stats())
	}
}

// A batch read from a socket reaches the TUN device in one Write, each
// packet with room after it for the device to coalesce segments (GRO); a
// batch read from the TUN device leaves in one WriteBatch (sendmmsg, with
// UDP GSO where the kernel has it) and arrives whole.
func TestDataPathBatches(t *testing.T) {
	const n = 8
	ts := newTestServer(t, esp.Transform{Enc: esp.AESGCM16})
	msg := dataMessage(ts.plain.sess, 1400)
	rx := &rxBatch{out: make([][]byte, 0, n)}
	for range n {
		buf := make([]byte, rxHeadroom+rxBufSize)
		copy(buf[rxHeadroom:], msg)
		ts.receiveL2TP(rx, buf, buf[rxHeadroom:rxHeadroom+len(msg)], ts.plain.sess.Peer(), nil)
	}
	for _, p := range rx.out {
		if room := cap(p) - tun.WriteHeadroom; room < 1<<16 {
			t.Fatalf("a packet for the TUN device has %d bytes of room, want 64 KiB to coalesce into", room)
		}
	}
	ts.flushRx(rx)
	if ts.tunDev.calls != 1 || ts.tunDev.writes != n || ts.Stats().RxPackets != n {
		t.Fatalf("%d packets in %d TUN writes (stats %+v), want %d in 1", ts.tunDev.writes, ts.tunDev.calls, ts.Stats(), n)
	}

	for _, c := range []*client{ts.plain, ts.ipsec} {
		ts.byAddr = map[netip.Addr]*client{testClientAddr: c}
		bufs, sizes := make([][]byte, n), make([]int, n)
		for i := range bufs {
			bufs[i], sizes[i] = ipPacket(testServerIP, testClientAddr, 1400), 1400
		}
		before := ts.Stats().TxPackets
		ts.transmit(newTxBatch(n), bufs, sizes, n)
		if got := ts.Stats().TxPackets - before; got != n {
			t.Fatalf("ipsec %v: %d of %d sent (stats %+v)", c.t != nil, got, n, ts.Stats())
		}
		ts.sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 2048)
		for i := range n {
			m, err := ts.sink.Read(b)
			if err != nil {
				t.Fatalf("ipsec %v: datagram %d: %v", c.t != nil, i, err)
			}
			if want := 1400 + 10; m < want { // L2TP + PPP headers, and ESP's when sealed
				t.Fatalf("ipsec %v: datagram %d of %d bytes", c.t != nil, i, m)
			}
		}
	}
}

// The server's per-packet cost, each way, plain and ESP (AES-GCM), with
// the real sockets (loopback) and a counting TUN device.
func BenchmarkDataPath(b *testing.B) {
	for _, tc := range []struct {
		name  string
		ipsec bool
		tr    esp.Transform
	}{
		{"plain", false, esp.Transform{Enc: esp.AESGCM16}},
		{"esp-aesgcm", true, esp.Transform{Enc: esp.AESGCM16}},
		{"esp-aescbc-sha1", true, esp.Transform{Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}},
	} {
		b.Run("transmit-"+tc.name, func(b *testing.B) {
			ts := newTestServer(b, tc.tr)
			c := ts.plain
			if tc.ipsec {
				c = ts.ipsec
			}
			ts.byAddr = map[netip.Addr]*client{testClientAddr: c}
			tmpl := ipPacket(testServerIP, testClientAddr, 1400)
			const burst = 16 // as a TUN read hands them over
			bufs, sizes := make([][]byte, burst), make([]int, burst)
			for i := range bufs {
				bufs[i], sizes[i] = make([]byte, len(tmpl)), 1400
			}
			tx := newTxBatch(burst)
			tx.work = datapath.NewWorkers(0) // as tunLoop's
			defer tx.work.Close()
			b.SetBytes(1400)
			b.ReportAllocs()
			for done := 0; done < b.N; done += burst {
				for _, buf := range bufs {
					copy(buf[txHeadroom:txHeadroom+20], tmpl[txHeadroom:txHeadroom+20])
				}
				ts.transmit(tx, bufs, sizes, min(burst, b.N-done))
			}
		})
		b.Run("receive-"+tc.name, func(b *testing.B) {
			ts := newTestServer(b, tc.tr)
			c := ts.plain
			if tc.ipsec {
				c = ts.ipsec
			}
			msg := dataMessage(c.sess, 1400)
			const burst = 16       // datagrams per socket read
			off := rxHeadroom + 64 // the ESP header, IV and UDP header go before
			bufs := make([][]byte, burst)
			for i := range bufs {
				bufs[i] = make([]byte, rxHeadroom+rxBufSize)
			}
			var k *sock
			for _, x := range ts.socks {
				if x.port == portNATT {
					k = x
				}
			}
			rx := &rxBatch{out: make([][]byte, 0, burst)}
			if tc.ipsec { // a batch as readLoop reads it, opened on the workers
				w := datapath.NewWorkers(0)
				defer w.Close()
				rx.esp = newOpenBatch(ts.Server, w, burst)
			}
			views, sizes, from := make([][]byte, burst), make([]int, burst), make([]netip.AddrPort, burst)
			b.SetBytes(1400)
			b.ReportAllocs()
			for done := 0; done < b.N; done += burst {
				n := min(burst, b.N-done)
				if tc.ipsec { // sealing is the client's work: not timed
					b.StopTimer()
					for i, buf := range bufs[:n] {
						copy(buf[off:], msg)
						esp.PutUDP(buf[off-esp.UDPHeaderLen:], c.t.peer.Port(), portL2TP, len(msg))
						pkt, err := ts.clientS.Seal(buf, off-esp.UDPHeaderLen, esp.UDPHeaderLen+len(msg), 17)
						if err != nil {
							b.Fatal(err)
						}
						views[i], sizes[i], from[i] = buf[cap(buf)-cap(pkt):], len(pkt), c.t.peer
					}
					b.StartTimer()
					ts.receiveBatch(rx, k, bufs, views, sizes, from, n)
					continue
				}
				for _, buf := range bufs[:n] {
					d := buf[rxHeadroom : rxHeadroom+len(msg)]
					copy(d, msg)
					ts.receiveL2TP(rx, buf, d, c.sess.Peer(), nil)
				}
				ts.flushRx(rx)
			}
			b.StopTimer()
			if got := ts.Stats().RxPackets; got != uint64(b.N) {
				b.Fatalf("%d of %d packets at the TUN device (stats %+v)", got, b.N, ts.Stats())
			}
		})
	}
}
