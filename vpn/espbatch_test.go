package vpn

// ESP on the workers (espbatch.go): a batch keeps its order, its sequence
// numbers follow that order, and the result, the counters included, is
// what the serial path (no workers) gives.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// recordTUN is a memTUN that keeps a copy of every packet written.
type recordTUN struct {
	memTUN
	got [][]byte
}

func (r *recordTUN) Write(bufs [][]byte, offset int) (int, error) {
	for _, b := range bufs {
		r.got = append(r.got, bytes.Clone(b[offset:]))
	}
	return r.memTUN.Write(bufs, offset)
}

// espBatchConns is ipsecConns with a recording device and workers of the
// given size (0: none, the serial path).
func espBatchConns(t *testing.T, mode esp.Mode, tr esp.Transform, sink netip.AddrPort, workers int) (c, srv *Conn, dev *recordTUN) {
	dev = &recordTUN{}
	c, srv = ipsecConns(t, mode, tr, sink, tun.Wrap(dev, "mem0", nil))
	c.ipsec.work.Close()
	c.ipsec.work = nil
	if workers > 0 {
		w := datapath.NewWorkers(workers)
		t.Cleanup(w.Close)
		c.ipsec.startWorkers(w)
	}
	c.tunnel = l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })
	c.tunMTU.Store(1400)
	return c, srv, dev
}

func espBatchCases() (cases []struct {
	name string
	mode esp.Mode
	tr   esp.Transform
}) {
	for _, mode := range []esp.Mode{esp.Transport, esp.Tunnel} {
		for _, tr := range []esp.Transform{{Enc: esp.AESGCM16}, {Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}} {
			cases = append(cases, struct {
				name string
				mode esp.Mode
				tr   esp.Transform
			}{mode.String() + "/" + tr.String(), mode, tr})
		}
	}
	return cases
}

// A TUN batch of 40 distinct packets leaves as 40 ESP packets in the order
// read, with sequence numbers 1 to 40, each opening to its own packet;
// with AES-GCM the bytes on the wire are the serial path's. The counters
// are the serial path's.
func TestESPBatchTransmitOrder(t *testing.T) {
	const n = 40
	for _, tc := range espBatchCases() {
		t.Run(tc.name, func(t *testing.T) {
			var wires [2][][]byte
			var stats [2]Stats
			pkts := make([][]byte, n)
			for i := range pkts {
				pkts[i] = ipv4(clientPPPAddr, remoteHost, 200+i*29, byte(i))
			}
			for k, workers := range []int{4, 0} {
				keep := newUDPSink(t, true)
				c, srv, _ := espBatchConns(t, tc.mode, tc.tr, keep.addr, workers)
				bufs, sizes := make([][]byte, n), make([]int, n)
				for i := range bufs {
					bufs[i] = make([]byte, txHeadroom+bufSize)
					sizes[i] = copy(bufs[i][txHeadroom:], pkts[i])
				}
				c.transmit(bufs, sizes, n, make([][]byte, 0, n))
				stats[k] = c.Stats()
				from := netip.AddrPortFrom(c.ipsec.local, nattPort)
				for i := range n { // all of them first: the sink blocks on a full kept
					select {
					case wire := <-keep.kept:
						wires[k] = append(wires[k], wire)
					case <-time.After(waitTimeout):
						t.Fatalf("workers %d: %d of %d packets arrived", workers, i, n)
					}
				}
				for i, wire := range wires[k] {
					wire = bytes.Clone(wire) // receive opens it in place
					if seq := binary.BigEndian.Uint32(wire[4:]); seq != uint32(i+1) {
						t.Fatalf("workers %d: packet %d has sequence number %d, want %d", workers, i, seq, i+1)
					}
					if got := srv.receive(wire, len(wire), from); !bytes.Equal(got, pkts[i]) {
						t.Fatalf("workers %d: packet %d opened to %d bytes, want packet %d (%d bytes)", workers, i, len(got), i, len(pkts[i]))
					}
				}
			}
			if stats[0] != stats[1] || stats[0].TxPackets != n || stats[0].TxErrors != 0 {
				t.Fatalf("stats with workers %+v\nserial %+v", stats[0], stats[1])
			}
			if tc.tr.Enc == esp.AESGCM16 {
				for i := range wires[0] {
					if !bytes.Equal(wires[0][i], wires[1][i]) {
						t.Fatalf("packet %d differs from the serial path's", i)
					}
				}
			}
		})
	}
}

// A received batch of ESP from the server, with a forgery, a replay, an
// unknown SPI, a keepalive, a datagram from a stranger and a truncated one
// among 36 good packets: the good ones reach the device in order, and the
// stats and ESP counters are what the serial path counts.
func TestESPBatchReceiveOrder(t *testing.T) {
	for _, tc := range espBatchCases() {
		t.Run(tc.name, func(t *testing.T) {
			sink := newUDPSink(t, false)
			// The server's side of a pair seals the batch once; both
			// connections (same keys) receive a copy.
			_, srv, _ := espBatchConns(t, tc.mode, tc.tr, sink.addr, 0)
			var want [][]byte
			var ds [][]byte
			server := srv.ipsec.local
			from := netip.AddrPortFrom(server, nattPort)
			froms := []netip.AddrPort{}
			truncated := -1
			add := func(d []byte, f netip.AddrPort) {
				ds = append(ds, bytes.Clone(d))
				froms = append(froms, f)
			}
			sealed := func(i int) []byte {
				in := ipv4(remoteHost, clientPPPAddr, 100+i*37, byte(i))
				want = append(want, in)
				return sealedData(t, srv, in)
			}
			for i := range 36 {
				d := sealed(i)
				add(d, from)
				switch i {
				case 5: // a replay of the packet before
					add(d, from)
				case 9: // a forgery
					f := bytes.Clone(ds[len(ds)-1])
					binary.BigEndian.PutUint32(f[4:], 1000)
					f[len(f)-1] ^= 1
					add(f, from)
				case 14: // an SPI we do not have
					u := bytes.Clone(d)
					binary.BigEndian.PutUint32(u, 0x7777)
					add(u, from)
				case 20:
					add([]byte{0xff}, from) // NAT keepalive
				case 25: // from a stranger
					add(d, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), nattPort))
				case 30: // truncated by the kernel
					truncated = len(ds)
					add(d, from)
				}
			}
			type result struct {
				got                               [][]byte
				st                                Stats
				auth, replay, unknown, keepalives uint64
			}
			var res [2]result
			for k, workers := range []int{4, 0} {
				c, _, dev := espBatchConns(t, tc.mode, tc.tr, sink.addr, workers)
				bufs, views, sizes := rxBatchOf(ds)
				sizes[truncated] = -1
				c.rxBatch(bufs, views, sizes, froms, len(ds), make([][]byte, 0, len(ds)))
				p := c.ipsec
				res[k] = result{dev.got, c.Stats(), p.espAuth.Load(), p.espReplay.Load(), p.espUnknownSPI.Load(), p.keepalives.Load()}
			}
			if !equalPackets(res[0].got, want) {
				t.Fatalf("with workers the device got %s, want the 36 packets in order", describe(res[0].got))
			}
			if !equalPackets(res[1].got, want) {
				t.Fatalf("serially the device got %s, want the 36 packets in order", describe(res[1].got))
			}
			r := res[0]
			if r.st != res[1].st || r.auth != res[1].auth || r.replay != res[1].replay || r.unknown != res[1].unknown || r.keepalives != res[1].keepalives {
				t.Fatalf("with workers %+v\nserially     %+v", r, res[1])
			}
			if r.st.RxPackets != 36 || r.auth != 1 || r.replay != 1 || r.unknown != 1 || r.keepalives != 1 || r.st.RxForeign != 1 || r.st.RxMalformed != 1 {
				t.Fatalf("counters %+v", r)
			}
		})
	}
}

func equalPackets(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func describe(ps [][]byte) string {
	s := fmt.Sprintf("%d packets:", len(ps))
	for _, p := range ps {
		s += fmt.Sprintf(" %d", len(p))
	}
	return s
}
