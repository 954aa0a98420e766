package vpn

// ESP on several cores. A batch's ESP work runs on the connection's
// workers (package datapath), everything else stays serial and in order:
//
//	transmit: encap (L2TP Ns, MSS clamp, MPPE: serial) ──► reserve one
//	          block of ESP sequence numbers ──► workers: inner UDP [+ IP]
//	          header and SealSeq, packet k with first+k ──► one writeBatch
//	          in batch order
//	rxBatch:  workers: ESP open of each datagram that is ESP from the
//	          server ──► serial, in order: classify, L2TP sequencing,
//	          counters ──► one TUN write
//
// A packet keeps its slot in the batch, so the order on the wire and into
// the TUN device is the order read. The state of each direction is owned
// by its loop (transmit runs on the TUN reader, rxBatch on the socket
// reader); nothing is allocated per packet once the slices have grown to
// the batch size.

import (
	"errors"
	"net/netip"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// sealBatch is one transmit's packets waiting for ESP.
type sealBatch struct {
	p     *ipsecPath
	sa    *esp.SA
	first uint64 // the sequence number of item 0
	items []sealItem
	run   func(lo, hi int) // sealRange, made once
}

// sealItem is one L2TP datagram, buf[off:off+n], and what became of it.
type sealItem struct {
	buf    []byte
	off, n int
	size   int    // the IP packet's bytes, for the counters
	pkt    []byte // the ESP packet; nil when sealing failed
	err    error
}

func (b *sealBatch) init(p *ipsecPath) {
	b.p = p
	b.run = b.sealRange
}

// add queues the L2TP datagram buf[off:off+n], which carries an IP packet
// of size bytes.
func (b *sealBatch) add(buf []byte, off, n, size int) {
	b.items = append(b.items, sealItem{buf: buf, off: off, n: n, size: size})
}

// seal seals the queued datagrams on the workers and appends the ESP
// packets to out in the order they were added. It returns out, the bytes
// of the IP packets sealed, and the number that failed.
func (b *sealBatch) seal(out [][]byte) (_ [][]byte, bytes, errs uint64) {
	n := len(b.items)
	if n == 0 {
		return out, 0, 0
	}
	defer b.reset()
	b.sa = b.p.out.Load()
	if b.sa == nil {
		return out, 0, uint64(n) // errNoSA
	}
	var err error
	if b.first, err = b.sa.ReserveSeq(n); err != nil {
		b.p.session.Rekey() // ErrSeqExhausted, as seal
		return out, 0, uint64(n)
	}
	b.p.work.Run(n, b.run)
	exhausted := false
	for i := range b.items {
		it := &b.items[i]
		if it.pkt == nil {
			errs++
			exhausted = exhausted || errors.Is(it.err, esp.ErrSeqExhausted)
			continue
		}
		bytes += uint64(it.size)
		out = append(out, it.pkt)
	}
	if exhausted {
		b.p.session.Rekey()
	}
	return out, bytes, errs
}

// sealRange seals items [lo, hi): on the workers, each item in its own
// buffer with its own sequence number.
func (b *sealBatch) sealRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		it := &b.items[i]
		start, nh, err := b.p.frame(it.buf, it.off, it.n)
		if err == nil {
			it.pkt, err = b.sa.SealSeq(it.buf, start, it.off+it.n-start, nh, b.first+uint64(i))
		}
		it.err = err
	}
}

// reset drops the batch's references to the buffers.
func (b *sealBatch) reset() {
	clear(b.items)
	b.items = b.items[:0]
	b.sa = nil
}

// openBatch is one received batch's ESP opened ahead of the serial pass.
type openBatch struct {
	p     *ipsecPath
	peer  netip.Addr // the server
	views [][]byte
	sizes []int
	from  []netip.AddrPort
	res   []opened
	run   func(lo, hi int) // openRange, made once
}

// opened is the result of opening one datagram of a batch; done is false
// when the datagram is not ESP from the server with a known SPI, which the
// serial pass then handles as it does alone.
type opened struct {
	done    bool
	sa      *esp.SA
	payload []byte
	next    byte
	err     error
}

func (b *openBatch) init(p *ipsecPath) {
	b.p = p
	b.run = b.openRange
}

// open opens the ESP packets among the n datagrams of a receive on the
// workers; result i belongs to datagram i. The results alias views and
// are valid until the next call.
func (b *openBatch) open(peer netip.Addr, views [][]byte, sizes []int, from []netip.AddrPort, n int) []opened {
	if cap(b.res) < n {
		b.res = make([]opened, n)
	}
	b.res = b.res[:n]
	b.peer, b.views, b.sizes, b.from = peer, views, sizes, from
	b.p.work.Run(n, b.run)
	b.views, b.sizes, b.from = nil, nil, nil
	return b.res
}

// openRange opens datagrams [lo, hi) that receiveBatched would open:
// ESP from the server's port 4500 for one of our inbound SAs.
func (b *openBatch) openRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		r := &b.res[i]
		*r = opened{}
		size := b.sizes[i]
		if size < 0 || b.from[i].Addr() != b.peer || b.from[i].Port() != nattPort {
			continue
		}
		d := b.views[i][:size]
		kind, spi := esp.Classify(d)
		if kind != esp.KindESP {
			continue
		}
		sa := b.p.inbound(spi)
		if sa == nil {
			continue
		}
		r.payload, r.next, r.err = sa.Open(d)
		r.sa, r.done = sa, true
	}
}
