package server

// ESP on several cores. Each data loop has its own workers (package
// datapath); the ESP of a batch runs on them, the rest stays serial and in
// order:
//
//	tunLoop:  route, PPP + L2TP headers (L2TP Ns: serial), inner UDP
//	          [+ IPv4] header, one ESP sequence number per packet taken in
//	          batch order ──► workers: SealSeq ──► runs per client, in
//	          batch order, one WriteBatch each
//	readLoop: workers: ESP open of each datagram on 4500 with a known SPI
//	          ──► serial, in order: the rest of receiveNATT, the LNS,
//	          PPP, the source check ──► one TUN write
//
// A packet keeps its slot in the batch, so each client's packets leave
// with increasing sequence numbers and reach the TUN device in the order
// they came.

import (
	"net/netip"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
)

// sealing is a datagram made ready for sending by prepareSeal: plain, or
// framed for ESP with its sequence number taken, for seal.
type sealing struct {
	buf      []byte
	start, n int // the ESP payload: buf[start:start+n]
	sa       *esp.SA
	seq      uint64
	nh       byte
	k        *sock
	dst      netip.AddrPort
	pkt      []byte // plain: the datagram; ESP: set by seal
	err      error
	c        *client // transmit's: whose bytesOut counts it
	size     int     // transmit's: the IP packet's bytes
}

// prepareSeal is the serial part of seal: for pk's IPsec transport it
// writes the inner UDP (and tunnel mode's IPv4) header before the L2TP
// datagram buf[off:off+n] and takes the SA's next sequence number; for
// plain L2TP the datagram is ready as it is.
func (s *Server) prepareSeal(pk l2tp.PeerKey, buf []byte, off, n int) (sealing, error) {
	if pk.Conn == 0 {
		k := s.sockFor(portL2TP, pk.Addr)
		if k == nil {
			return sealing{}, errNoPlainSocket
		}
		return sealing{pkt: buf[off : off+n], k: k, dst: pk.Addr}, nil
	}
	s.mu.RLock()
	t := s.trans[pk.Conn]
	s.mu.RUnlock()
	if t == nil {
		return sealing{}, errNoTransport
	}
	sa := t.out.Load()
	if sa == nil {
		return sealing{}, errNoOutboundSA
	}
	in := t.framing(pk.Addr.Port())
	start, next, err := in.Frame(buf, off, n)
	if err != nil {
		return sealing{}, err
	}
	seq, err := sa.ReserveSeq(1)
	if err != nil {
		return sealing{}, err
	}
	k := t.sock
	if k == nil {
		k = s.sockFor(portNATT, t.peer)
	}
	return sealing{buf: buf, start: start, n: off + n - start, sa: sa, seq: seq, nh: next, k: k, dst: t.peer}, nil
}

// seal is the parallel part: it encrypts a prepared ESP datagram with its
// sequence number. Safe for concurrent use on different datagrams.
func (p *sealing) seal() {
	if p.sa == nil {
		return
	}
	p.pkt, p.err = p.sa.SealSeq(p.buf, p.start, p.n, p.nh, p.seq)
}

// sealRange seals tx.items[lo:hi], on the workers.
func (tx *txBatch) sealRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		tx.items[i].seal()
	}
}

// openBatch opens one socket read's ESP on the workers ahead of the serial
// pass. One per reader goroutine.
type openBatch struct {
	s     *Server
	work  *datapath.Workers
	views [][]byte
	sizes []int
	res   []opened
	run   func(lo, hi int) // openRange, made once
}

// opened is one datagram's ESP opened by openRange; done is false when
// the datagram is not ESP for an SA we have (receiveNATT handles it then
// as it does alone).
type opened struct {
	done    bool
	in      *inSA
	payload []byte
	next    byte
	err     error
}

func newOpenBatch(s *Server, w *datapath.Workers, n int) *openBatch {
	b := &openBatch{s: s, work: w, res: make([]opened, n)}
	b.run = b.openRange
	return b
}

// open opens the ESP among the n datagrams views[i][:sizes[i]]; result i
// belongs to datagram i, aliases it and is valid until the next call.
func (b *openBatch) open(views [][]byte, sizes []int, n int) []opened {
	if cap(b.res) < n {
		b.res = make([]opened, n)
	}
	b.res = b.res[:n]
	b.views, b.sizes = views, sizes
	b.work.Run(n, b.run)
	b.views, b.sizes = nil, nil
	return b.res
}

func (b *openBatch) openRange(lo, hi int) {
	s := b.s
	for i := lo; i < hi; i++ {
		r := &b.res[i]
		*r = opened{}
		if b.sizes[i] < 0 {
			continue
		}
		d := b.views[i][:b.sizes[i]]
		kind, spi := esp.Classify(d)
		if kind != esp.KindESP {
			continue
		}
		s.mu.RLock()
		in := s.bySPI[spi]
		s.mu.RUnlock()
		if in == nil || in.sa == nil {
			continue
		}
		r.payload, r.next, r.err = in.sa.Open(d)
		r.in, r.done = in, true
	}
}
