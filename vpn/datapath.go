package vpn

// The data path. Two goroutines, one per direction, each with its own
// buffers allocated once:
//
//	txLoop: TUN batch read ──► encap (L2TP + PPP headers written into the
//	        headroom in front of each IP packet) ──► [ESP seal of the batch
//	        on the workers, espbatch.go] ──► sendmmsg
//	rxLoop: recvmmsg ──► [ESP open of the batch on the workers] ──► source
//	        check ──► l2tp.ParseHeader ──► control: to the
//	        tunnel's loop (copied, non-blocking) │ data: ids checked ──►
//	        ppp.ParseFrame ──► IPv4/IPv6: TUN batch write in place │ other
//	        PPP protocols: to the PPP loop (copied, non-blocking)
//
// Nothing is copied between layers and nothing is allocated per packet.

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

const (
	// txHeadroom is the space kept in front of each IP packet read from the
	// TUN device: enough for every header we prepend, including the ESP,
	// IV and UDP headers the IPsec path adds.
	txHeadroom = 128
	// rxHeadroom is kept in front of each received datagram so the IP packet
	// inside always has tun.WriteHeadroom bytes before it.
	rxHeadroom = 32
	// bufSize bounds one packet: an MTU-sized IP packet plus headers.
	bufSize = 2048
	// rxBufSize is the size of each receive buffer after its headroom. A
	// datagram needs bufSize, but the TUN device's Write coalesces the TCP
	// segments of a batch (GRO, with the virtio header of an offloading
	// device) only into a packet whose buffer has room for the whole
	// coalesced segment, up to 64 KiB, after it: with bufSize-sized
	// buffers every segment costs the kernel a write of its own.
	rxBufSize = 64<<10 + 512
	// udpBatch is the number of datagrams per recvmmsg/sendmmsg.
	udpBatch = 64
)

// encap turns the IP packet at buf[off:off+n] into an L2TP data message by
// writing the PPP and L2TP headers into the headroom before it; the L2TP
// header carries the session's next Ns while seq says it is sequenced (RFC
// 2661 5.4). It returns the datagram (aliasing buf), or false if the packet is
// not IPv4 or IPv6 or the headroom is shorter than the longest headers.
func encap(buf []byte, off, n int, tunnelID, sessionID uint16, seq *l2tp.DataSequence) ([]byte, bool) {
	if n < 1 || off < l2tp.DataHeaderSeqLen+ppp.HeaderLen || off+n > len(buf) {
		return nil, false
	}
	proto, ok := ipProto(buf[off])
	if !ok {
		return nil, false
	}
	frame := off - ppp.HeaderLen
	start := seq.PutHeader(buf, frame, tunnelID, sessionID)
	if start < 0 {
		return nil, false
	}
	ppp.PutHeader(buf[frame:], proto)
	return buf[start : off+n], true
}

// ipProto is the PPP protocol of an IP packet from its first byte: IPv4 or
// IPv6, else false.
func ipProto(first byte) (ppp.Protocol, bool) {
	switch first >> 4 {
	case 4:
		return ppp.ProtoIPv4, true
	case 6:
		return ppp.ProtoIPv6, true
	}
	return 0, false
}

// rxKind says what a received datagram is.
type rxKind uint8

const (
	rxMalformed rxKind = iota
	rxWrongSession
	rxControl // an L2TP control message
	rxIP      // an IPv4 or IPv6 packet: proto and payload are set
	rxPPP     // another PPP protocol: proto and payload are set
	rxLate    // sequenced data older than the newest received (RFC 2661 5.4)
)

// classify decodes one datagram from the server. localTunnel and
// localSession are our ids; localSession 0 means the session is still being
// set up, and then any session id of our tunnel is accepted. A data message
// of our session goes through seq, which follows the server's sequencing and
// turns away late messages (RFC 2661 5.4). payload aliases d.
func classify(d []byte, localTunnel, localSession uint16, seq *l2tp.DataSequence) (rxKind, ppp.Protocol, []byte) {
	h, payload, err := l2tp.ParseHeader(d)
	if err != nil {
		return rxMalformed, 0, nil
	}
	if h.Control {
		return rxControl, 0, nil
	}
	if h.TunnelID != localTunnel || (localSession != 0 && h.SessionID != localSession) {
		return rxWrongSession, 0, nil
	}
	if !seq.Received(&h) {
		return rxLate, 0, nil
	}
	proto, info, err := ppp.ParseFrame(payload)
	if err != nil {
		return rxMalformed, 0, nil
	}
	if proto == ppp.ProtoIPv4 || proto == ppp.ProtoIPv6 {
		if len(info) == 0 {
			return rxMalformed, 0, nil
		}
		return rxIP, proto, info
	}
	return rxPPP, proto, info
}

// rxLoop reads datagrams until the socket is closed.
func (c *Conn) rxLoop() {
	defer c.wg.Done()
	bufs := make([][]byte, udpBatch)
	views := make([][]byte, udpBatch)
	for i := range bufs {
		bufs[i] = make([]byte, rxHeadroom+rxBufSize)
		views[i] = bufs[i][rxHeadroom:]
	}
	sizes := make([]int, udpBatch)
	from := make([]netip.AddrPort, udpBatch)
	out := make([][]byte, 0, udpBatch)
	var rxErr rxErrors
	for {
		n, err := c.sock.readBatch(views, sizes, from)
		if err != nil {
			if c.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if isICMPError(err) { // an ICMP error for something we sent
				c.drainICMP()
				continue
			}
			c.stats.rxErrors.Add(1)
			if fatal := rxErr.failed(err, time.Now(), c.log); fatal != nil {
				c.fail(fatal)
				return
			}
			if !c.sleep(rxErr.backoff) {
				return
			}
			continue
		}
		rxErr.ok()
		c.rxBatch(bufs, views, sizes, from, n, out)
	}
}

// rxBatch handles the n datagrams a receive put into views[:n] (each
// views[i] is bufs[i] after rxHeadroom bytes) and writes the IP packets
// among them to the TUN device in one batch. out is scratch space with room
// for n slices. The batch's counters are added once, before the write.
// Each out slice keeps the capacity of its buffer after the packet, which
// the device's write needs to coalesce TCP segments into it (see
// rxBufSize); the write may grow out's slices, never bufs.
func (c *Conn) rxBatch(bufs, views [][]byte, sizes []int, from []netip.AddrPort, n int, out [][]byte) {
	out = out[:0]
	var t rxTally
	var pre []opened // the batch's ESP, opened on the workers
	if p := c.ipsec; p != nil && p.work != nil {
		pre = p.rx.open(c.peer.Load().Addr(), views, sizes, from, n)
	}
	for i := 0; i < n; i++ {
		var o *opened
		if pre != nil {
			o = &pre[i]
		}
		if p := c.receiveBatched(&t, views[i], sizes[i], from[i], o); p != nil {
			off := cap(bufs[i]) - cap(p)
			out = append(out, bufs[i][off-tun.WriteHeadroom:off+len(p)])
		}
	}
	c.flushRx(&t)
	if len(out) > 0 {
		c.tunnel.DataReceived() // data keeps the HELLO keepalive quiet
		if c.link != nil {
			c.link.DataReceived() // and answers for a server that ignores LCP echo
		}
		if dev := c.dev.Load(); dev != nil {
			if _, err := dev.Write(out, tun.WriteHeadroom); err != nil && !c.closing.Load() {
				c.stats.txErrors.Add(1)
				c.log.Debug("tun write failed", "err", err)
			}
		}
	}
}

// flushRx adds a batch's tally to the counters and, if ESP from the server
// verified, tells the IPsec layer once.
func (c *Conn) flushRx(t *rxTally) {
	c.stats.addRx(t)
	if t.espVerified {
		c.ipsec.verified()
	}
}

// receive handles one datagram on its own and returns the IP packet to
// write to the TUN device, or nil.
func (c *Conn) receive(view []byte, size int, from netip.AddrPort) []byte {
	var t rxTally
	p := c.receiveBatched(&t, view, size, from, nil)
	c.flushRx(&t)
	return p
}

// receiveBatched is receive for one datagram of a batch: the counters it
// moves for every packet go to t. pre, when not nil, is the datagram's ESP
// opened already (see decapBatched).
func (c *Conn) receiveBatched(t *rxTally, view []byte, size int, from netip.AddrPort, pre *opened) []byte {
	st := &c.stats
	if size < 0 {
		st.drop(&st.rxMalformed)
		return nil
	}
	d := view[:size]
	peer := *c.peer.Load()
	if from.Addr() != peer.Addr() {
		st.drop(&st.rxForeign)
		return nil
	}
	if c.ipsec != nil {
		switch from.Port() {
		case ikePort:
			c.ipsec.session.Input(d, false)
			return nil
		case nattPort:
		default:
			st.drop(&st.rxForeign)
			return nil
		}
		var sport uint16
		if d, sport = c.decapBatched(t, d, pre); d == nil {
			return nil
		}
		// From here on the datagram is what the server's L2TP sent.
		from = netip.AddrPortFrom(from.Addr(), sport)
	}
	kind, proto, payload := classify(d, c.localTunnel.Load16(), c.localSession.Load16(), &c.seq)
	switch kind {
	case rxMalformed:
		st.drop(&st.rxMalformed)
	case rxWrongSession:
		st.drop(&st.rxWrongSession)
	case rxLate:
		st.rxDropped.Add(1) // by reason: c.seq.Late()
	case rxControl:
		if from.Port() != peer.Port() {
			// RFC 2661 8.1: the server may answer the SCCRQ from another
			// port; everything after goes there. Only a well-formed SCCRP
			// moves us, and only before the tunnel is up.
			if c.tunnelUp.Load() || !isSCCRP(d) {
				st.drop(&st.rxForeign)
				return nil
			}
			// A copy: storing &from would move the parameter to the
			// heap on every call, one allocation per datagram.
			moved := from
			c.peer.Store(&moved)
		}
		if !c.tunnel.Input(d) {
			st.drop(&st.rxQueueFull)
		}
	case rxIP:
		if from != peer {
			st.drop(&st.rxForeign)
			return nil
		}
		if c.dhcpInput(proto, payload) {
			return nil
		}
		if c.dev.Load() == nil {
			st.drop(&st.rxNotReady)
			return nil
		}
		if c.crypt != nil && c.crypt.MPPEBlocked() { // RFC 3078: no plaintext once MPPE is on
			st.drop(&st.rxMPPE)
			return nil
		}
		t.packets++
		t.bytes += uint64(len(payload))
		c.clamp(payload)
		return payload
	case rxPPP:
		if from != peer {
			st.drop(&st.rxForeign)
			return nil
		}
		if !c.tunnelUp.Load() { // no session yet, and no link to give it to
			st.drop(&st.rxNotReady)
			return nil
		}
		if proto == ppp.ProtoMPPE {
			return c.rxMPPE(payload, from, peer)
		}
		if !c.link.Input(proto, payload) {
			st.drop(&st.rxQueueFull)
		}
	}
	return nil
}

// clamp lowers the MSS of a TCP SYN in either direction so that its
// segments fit the tunnel's MTU (what pppd and strongSwan users do by hand
// with iptables TCPMSS): hosts behind us and servers that ignore our MRU
// would otherwise send segments that do not fit.
func (c *Conn) clamp(pkt []byte) {
	mtu := int(c.tunMTU.Load())
	if mtu == 0 || len(pkt) == 0 {
		return
	}
	hdr := 40 // IPv4 + TCP
	if pkt[0]>>4 == 6 {
		hdr = 60
	}
	if clampMSS(pkt, uint16(mtu-hdr)) {
		c.stats.mssClamped.Add(1)
	}
}

// isSCCRP says whether d is a well-formed SCCRP (control path only: it
// allocates).
func isSCCRP(d []byte) bool {
	m, err := l2tp.ParseMessage(d, nil)
	return err == nil && m.Type == l2tp.SCCRP && m.Header.TunnelID != 0
}

// transmit encapsulates the batch of IP packets read from the TUN device
// (bufs[i][txHeadroom:txHeadroom+sizes[i]], i < n) in place and sends it.
// out is scratch space with room for n slices.
func (c *Conn) transmit(bufs [][]byte, sizes []int, n int, out [][]byte) {
	if c.closing.Load() {
		c.stats.addTx(0, 0, uint64(n), 0)
		return
	}
	peerTunnel, peerSession := c.peerTunnel.Load16(), c.peerSession.Load16()
	dest := *c.peer.Load()
	if c.ipsec != nil {
		dest = c.ipsec.nattAddr
	}
	out = out[:0]
	var bytes, errs, mppeBlocked uint64 // added to the counters once
	mppe, blocked := c.txCipher()
	// With workers, ESP is sealed after the loop, on several cores.
	batch := c.ipsec != nil && c.ipsec.work != nil
	for i := 0; i < n; i++ {
		if blocked { // MPPE required or being negotiated: nothing in the clear
			mppeBlocked++
			errs++
			continue
		}
		c.clamp(bufs[i][txHeadroom : txHeadroom+sizes[i]])
		d, ok := encap(bufs[i], txHeadroom, sizes[i], peerTunnel, peerSession, &c.seq)
		if mppe != nil {
			d, ok = encapMPPE(bufs[i], txHeadroom, sizes[i], peerTunnel, peerSession, &c.seq, mppe)
		}
		if !ok {
			errs++
			continue
		}
		if batch {
			c.ipsec.tx.add(bufs[i], cap(bufs[i])-cap(d), len(d), sizes[i])
			continue
		}
		if c.ipsec != nil {
			var err error
			if d, err = c.seal(bufs[i], cap(bufs[i])-cap(d), len(d)); err != nil {
				errs++
				continue
			}
		}
		bytes += uint64(sizes[i])
		out = append(out, d)
	}
	if batch {
		var b, e uint64
		out, b, e = c.ipsec.tx.seal(out)
		bytes, errs = bytes+b, errs+e
	}
	sent := 0
	if len(out) > 0 {
		var err error
		sent, err = c.sock.writeBatch(out, dest)
		if err != nil {
			errs += uint64(len(out) - sent)
		}
	}
	c.stats.addTx(uint64(sent), bytes, errs, mppeBlocked)
}

// txLoop moves packets from the TUN device into the current connection
// until the device is closed. Between connections (while reconnecting) the
// packets are dropped and counted.
func (cl *Client) txLoop(dev *tun.Device) {
	defer cl.wg.Done()
	batch := dev.BatchSize()
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, txHeadroom+bufSize)
	}
	sizes := make([]int, batch)
	out := make([][]byte, 0, batch)
	for {
		n, err := dev.Read(bufs, sizes, txHeadroom)
		if err != nil {
			if cl.closing.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, wgtun.ErrTooManySegments) {
				cl.txDropped.Add(1)
				continue
			}
			cl.deviceFailed(err)
			return
		}
		c := cl.cur.Load()
		if c == nil {
			cl.txDropped.Add(uint64(n))
			continue
		}
		c.transmit(bufs, sizes, n, out)
	}
}
