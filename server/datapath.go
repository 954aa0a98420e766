package server

// The data path: PPP frames from clients to the TUN device, IP packets from
// the TUN device to clients. Headers are written into headroom and crypto
// is in place, a batch's ESP on several cores (espbatch.go); nothing is
// allocated per packet.

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// txHeadroom is kept in front of each packet read from the TUN device:
// PPP, L2TP, UDP, ESP and IV headers, and tunnel mode's inner IPv4 header.
const txHeadroom = 128

// rxBatch collects the IP packets of one socket read for the TUN device:
// they go in one Write, which coalesces the TCP segments among them (GRO)
// when each packet's buffer has room for it after the packet (rxBufSize).
// One per reader goroutine.
type rxBatch struct {
	out     [][]byte // each with tun.WriteHeadroom before the packet
	packets uint64
	esp     *openBatch // ESP opened on several cores; nil: one by one
}

// receive adds one PPP frame of the client's session to rx; frame aliases
// buf (the reader's buffer, with headroom before the datagram).
func (c *client) receive(rx *rxBatch, buf, frame []byte) {
	s := c.s
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil {
		s.stats.rxMalformed.Add(1)
		return
	}
	if proto != ppp.ProtoIPv4 {
		c.link.DataReceived()
		if proto == ppp.ProtoIPv6 {
			s.stats.rxNoSession.Add(1) // no IPv6 on the server's device yet
			return
		}
		if !c.link.Input(proto, info) {
			s.stats.rxMalformed.Add(1)
		}
		return
	}
	c.link.DataReceived()
	// The source must be the client's own address: no spoofing of others.
	if len(info) < 20 || info[0]>>4 != 4 || binary.BigEndian.Uint32(info[12:16]) != c.inner.Load() || c.inner.Load() == 0 {
		s.stats.rxSpoofed.Add(1)
		return
	}
	off := cap(buf) - cap(info)
	if off < tun.WriteHeadroom {
		s.stats.rxMalformed.Add(1)
		return
	}
	rx.out = append(rx.out, buf[off-tun.WriteHeadroom:off+len(info)])
	rx.packets++
	c.bytesIn.Add(uint64(len(info)))
}

// flushRx writes a batch's packets to the TUN device in one Write and
// counts them once.
func (s *Server) flushRx(rx *rxBatch) {
	if len(rx.out) == 0 {
		return
	}
	s.tunWrite.Lock()
	_, err := s.dev.Write(rx.out, tun.WriteHeadroom)
	s.tunWrite.Unlock()
	if err != nil {
		s.stats.txErrors.Add(1)
	}
	s.stats.rxPackets.Add(rx.packets)
	rx.out, rx.packets = rx.out[:0], 0
}

// tunLoop moves packets from the TUN device to their clients until the
// device is closed.
func (s *Server) tunLoop() {
	defer s.wg.Done()
	batch := s.dev.BatchSize()
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, txHeadroom+bufSize)
	}
	sizes := make([]int, batch)
	tx := newTxBatch(batch)
	tx.work = datapath.NewCryptoWorkers() // ESP sealed on several cores, from 4 cores on; nil: inline
	defer tx.work.Close()
	for {
		n, err := s.dev.Read(bufs, sizes, txHeadroom)
		if err != nil {
			if s.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, wgtun.ErrTooManySegments) {
				s.stats.txErrors.Add(1)
				continue
			}
			s.log.Warn("reading the TUN device", "err", err)
			return
		}
		s.transmit(tx, bufs, sizes, n)
	}
}

// txBatch is the send side of one TUN read: the ESP of its packets is
// sealed on the workers (espbatch.go), then consecutive datagrams for one
// socket and destination go out in one WriteBatch (sendmmsg, UDP GSO).
type txBatch struct {
	items []sealing // the read's packets, framed, in order
	work  *datapath.Workers
	seal  func(lo, hi int) // sealRange, made once
	run   [][]byte
	sock  *sock
	dst   netip.AddrPort
}

func newTxBatch(n int) *txBatch {
	tx := &txBatch{items: make([]sealing, 0, n), run: make([][]byte, 0, n)}
	tx.seal = tx.sealRange
	return tx
}

// transmit sends the IP packets bufs[i][txHeadroom:txHeadroom+sizes[i]],
// i < n, each to the client it is addressed to.
func (s *Server) transmit(tx *txBatch, bufs [][]byte, sizes []int, n int) {
	sealed := 0
	for i := 0; i < n; i++ {
		if p, ok := s.encap(bufs[i], sizes[i]); ok {
			tx.items = append(tx.items, p)
			if p.sa != nil {
				sealed++
			}
		}
	}
	if sealed > 0 { // plain L2TP has nothing to seal
		tx.work.Run(len(tx.items), tx.seal)
	}
	for i := range tx.items {
		p := &tx.items[i]
		if p.err != nil {
			s.stats.txErrors.Add(1)
			continue
		}
		p.c.bytesOut.Add(uint64(p.size))
		if len(tx.run) > 0 && (p.k != tx.sock || p.dst != tx.dst) {
			s.flushTx(tx)
		}
		tx.run = append(tx.run, p.pkt)
		tx.sock, tx.dst = p.k, p.dst
	}
	clear(tx.items)
	tx.items = tx.items[:0]
	s.flushTx(tx)
}

func (s *Server) flushTx(tx *txBatch) {
	if len(tx.run) == 0 {
		return
	}
	sent, _ := tx.sock.udp.WriteBatch(tx.run, tx.dst)
	s.stats.txPackets.Add(uint64(sent))
	if sent < len(tx.run) {
		s.stats.txErrors.Add(uint64(len(tx.run) - sent))
	}
	clear(tx.run)
	tx.run, tx.sock = tx.run[:0], nil
}

// encap frames the IP packet buf[txHeadroom:txHeadroom+n] for the client
// it is addressed to and prepares it for its IPsec transport (seal then
// encrypts it): the datagram (aliasing buf), the socket to send it from
// and where to.
func (s *Server) encap(buf []byte, n int) (sealing, bool) {
	pkt := buf[txHeadroom : txHeadroom+n]
	if n < 20 || pkt[0]>>4 != 4 {
		s.stats.txNoClient.Add(1)
		return sealing{}, false
	}
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	s.mu.RLock()
	c := s.byAddr[dst]
	s.mu.RUnlock()
	if c == nil {
		s.stats.txNoClient.Add(1)
		return sealing{}, false
	}
	frame := txHeadroom - ppp.HeaderLen
	ppp.PutHeader(buf[frame:], ppp.ProtoIPv4)
	start := c.sess.PutHeader(buf, frame)
	if start < 0 {
		s.stats.txErrors.Add(1)
		return sealing{}, false
	}
	p, err := s.prepareSeal(c.sess.Peer(), buf, start, txHeadroom+n-start)
	if err != nil {
		s.stats.txErrors.Add(1)
		return sealing{}, false
	}
	p.c, p.size = c, n
	return p, true
}
