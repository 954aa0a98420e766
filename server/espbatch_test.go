package server

// ESP on the workers (espbatch.go): a batch keeps its order, each client's
// sequence numbers follow it, and the result, the counters included, is
// what the serial path (no workers) gives.

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
)

func espBatchTransforms() []esp.Transform {
	return []esp.Transform{{Enc: esp.AESGCM16}, {Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}}
}

// A TUN read of 40 distinct packets for the IPsec client leaves as 40 ESP
// datagrams in the order read, numbered 1 to 40, each opening to its own
// packet; the serial path sends the same, and the counters agree.
func TestESPBatchTransmitOrder(t *testing.T) {
	const n = 40
	for _, tr := range espBatchTransforms() {
		t.Run(tr.String(), func(t *testing.T) {
			var inner [2][][]byte
			var stats [2]Stats
			for k, workers := range []int{4, 0} {
				ts := newTestServer(t, tr)
				ts.byAddr = map[netip.Addr]*client{testClientAddr: ts.ipsec}
				bufs, sizes := make([][]byte, n), make([]int, n)
				for i := range bufs {
					sizes[i] = 100 + 31*i
					bufs[i] = ipPacket(testServerIP, testClientAddr, sizes[i])
					bufs[i][txHeadroom+20] = byte(i)
				}
				tx := newTxBatch(n)
				if workers > 0 {
					tx.work = datapath.NewWorkers(workers)
					defer tx.work.Close()
				}
				ts.transmit(tx, bufs, sizes, n)
				stats[k] = ts.Stats()
				keys := tr.KeyLens()
				in, err := esp.NewSA(0x2000, tr, bytes.Repeat([]byte{7}, keys[len(keys)-1]), esp.Transport, nil)
				if err != nil {
					t.Fatal(err)
				}
				ts.sink.SetReadDeadline(time.Now().Add(5 * time.Second))
				for i := range n {
					b := make([]byte, 2048)
					m, err := ts.sink.Read(b)
					if err != nil {
						t.Fatalf("workers %d: datagram %d: %v", workers, i, err)
					}
					if seq := binary.BigEndian.Uint32(b[4:]); seq != uint32(i+1) {
						t.Fatalf("workers %d: datagram %d has sequence number %d, want %d", workers, i, seq, i+1)
					}
					udp, _, err := in.Open(b[:m])
					if err != nil {
						t.Fatalf("workers %d: datagram %d: %v", workers, i, err)
					}
					// UDP, L2TP data header, PPP: the IP packet last.
					if len(udp) < sizes[i] {
						t.Fatalf("workers %d: datagram %d carries %d bytes", workers, i, len(udp))
					}
					ip := udp[len(udp)-sizes[i]:]
					if ip[0] != 0x45 || ip[20] != byte(i) {
						t.Fatalf("workers %d: datagram %d carries %d bytes tagged %d, want packet %d", workers, i, len(ip), ip[20], i)
					}
					inner[k] = append(inner[k], bytes.Clone(ip))
				}
			}
			for i := range inner[0] {
				if !bytes.Equal(inner[0][i], inner[1][i]) {
					t.Fatalf("packet %d differs from the serial path's", i)
				}
			}
			if stats[0] != stats[1] || stats[0].TxPackets != n || stats[0].TxErrors != 0 {
				t.Fatalf("stats with workers %+v\nserially     %+v", stats[0], stats[1])
			}
		})
	}
}

// A socket read of ESP from the client with a forgery, a replay, an
// unknown SPI, a keepalive and a truncated datagram among 36 good ones:
// the good ones reach the TUN device in order, and the counters are the
// serial path's.
func TestESPBatchReceiveOrder(t *testing.T) {
	for _, tr := range espBatchTransforms() {
		t.Run(tr.String(), func(t *testing.T) {
			var got [2][][]byte
			var stats [2]Stats
			for k, workers := range []int{4, 0} {
				ts := newTestServer(t, tr)
				ts.tunDev.record = true
				var k4500 *sock
				for _, x := range ts.socks {
					if x.port == portNATT {
						k4500 = x
					}
				}
				from := ts.ipsec.t.peer
				var ds [][]byte
				add := func(d []byte) { ds = append(ds, bytes.Clone(d)) }
				truncated := -1
				for i := range 36 {
					msg := dataMessage(ts.ipsec.sess, 100+i*37)
					msg[len(msg)-1] = byte(i)
					buf := make([]byte, 64+len(msg)+64)
					copy(buf[64:], msg)
					esp.PutUDP(buf[64-esp.UDPHeaderLen:], from.Port(), portL2TP, len(msg))
					d, err := ts.clientS.Seal(buf, 64-esp.UDPHeaderLen, esp.UDPHeaderLen+len(msg), 17)
					if err != nil {
						t.Fatal(err)
					}
					add(d)
					switch i {
					case 5: // a replay
						add(d)
					case 9: // a forgery
						f := bytes.Clone(d)
						binary.BigEndian.PutUint32(f[4:], 1000)
						f[len(f)-1] ^= 1
						add(f)
					case 14: // an SPI we do not have
						u := bytes.Clone(d)
						binary.BigEndian.PutUint32(u, 0x7777)
						add(u)
					case 20:
						add([]byte{0xff}) // NAT keepalive
					case 30: // truncated by the kernel
						truncated = len(ds)
						add(d)
					}
				}
				bufs, views := make([][]byte, len(ds)), make([][]byte, len(ds))
				sizes, froms := make([]int, len(ds)), make([]netip.AddrPort, len(ds))
				for i, d := range ds {
					bufs[i] = make([]byte, rxHeadroom+rxBufSize)
					views[i] = bufs[i][rxHeadroom:]
					sizes[i], froms[i] = copy(views[i], d), from
				}
				sizes[truncated] = -1
				rx := &rxBatch{out: make([][]byte, 0, len(ds))}
				if workers > 0 {
					w := datapath.NewWorkers(workers)
					defer w.Close()
					rx.esp = newOpenBatch(ts.Server, w, len(ds))
				}
				ts.receiveBatch(rx, k4500, bufs, views, sizes, froms, len(ds))
				got[k], stats[k] = ts.tunDev.got, ts.Stats()
			}
			if len(got[0]) != 36 {
				t.Fatalf("%d packets at the TUN device, want 36", len(got[0]))
			}
			for i, p := range got[0] {
				if len(p) != 100+i*37 || p[len(p)-1] != byte(i) {
					t.Fatalf("packet %d at the TUN device is %d bytes tagged %d, want packet %d", i, len(p), p[len(p)-1], i)
				}
				if !bytes.Equal(p, got[1][i]) {
					t.Fatalf("packet %d differs from the serial path's", i)
				}
			}
			st := stats[0]
			if st != stats[1] || st.RxPackets != 36 || st.RxESPFailed != 2 || st.RxUnknownSPI != 1 || st.RxMalformed != 1 {
				t.Fatalf("stats with workers %+v\nserially     %+v", st, stats[1])
			}
		})
	}
}
