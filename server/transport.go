package server

// Sockets, IPsec transports and the receive path up to the LNS.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/l2tpvpn/l2tpvpn/datapath"
	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"golang.org/x/sys/unix"
)

const (
	portIKE  = 500
	portNATT = 4500
	portL2TP = 1701

	rxHeadroom = 64   // before each received datagram: room for the TUN's virtio header
	bufSize    = 2048 // one datagram or IP packet with every header
	// rxBufSize is each data socket's receive buffer after its headroom:
	// the TUN device's Write coalesces TCP segments into a packet only
	// when its buffer has room for the whole coalesced segment (up to 64
	// KiB) after it.
	rxBufSize = 64<<10 + 512
	// udpBatch is the number of datagrams per recvmmsg/sendmmsg.
	udpBatch = 64
	// sockBuffer is each socket's receive and send buffer.
	sockBuffer = 4 << 20
)

// sock is one bound UDP socket.
type sock struct {
	conn  *net.UDPConn
	udp   *datapath.UDP  // batches: the socket's reader and the TUN loop
	local netip.AddrPort // the bound address; an unspecified address: see pktinfo
	port  uint16
}

// listen binds 500 and 4500 (with IPsec) and 1701 (plain L2TP allowed) on
// every listen address, with IP_PKTINFO so IKE learns the address a
// client sent to.
func (s *Server) listen() error {
	var ports []uint16
	if !s.opt.PSK.IsZero() {
		ports = append(ports, portIKE, portNATT)
	}
	if s.opt.AllowPlain {
		ports = append(ports, portL2TP)
	}
	for _, a := range s.opt.Listen {
		for _, p := range ports {
			ap := netip.AddrPortFrom(a, p)
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
			if err != nil {
				return fmt.Errorf("server: listen on %s: %w", ap, err)
			}
			if rc, err := c.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1) })
			}
			u, err := datapath.NewUDP(c, udpBatch)
			if err != nil {
				c.Close()
				return fmt.Errorf("server: listen on %s: %w", ap, err)
			}
			u.SetBuffers(sockBuffer)
			if p != portIKE {
				u.EnableGRO() // where the kernel has it: a client's GSO runs arrive as runs
			}
			s.socks = append(s.socks, &sock{conn: c, udp: u, local: ap, port: p})
		}
	}
	return nil
}

func (s *Server) closeSockets() {
	for _, k := range s.socks {
		k.conn.Close()
	}
}

// sockFor is the socket of port that sends to peer: the one its datagrams
// came in on (with several listen addresses each client hears back from
// the address it sent to), else the first listen address's.
func (s *Server) sockFor(port uint16, peer netip.AddrPort) *sock {
	s.mu.RLock()
	k := s.via[peer]
	s.mu.RUnlock()
	if k != nil && k.port == port {
		return k
	}
	for _, k := range s.socks {
		if k.port == port {
			return k
		}
	}
	return nil
}

// maxVia bounds the table of heard peers.
const maxVia = 1 << 16

// heard records the socket a peer's datagram came in on (control
// datagrams only: IKE and L2TP control).
func (s *Server) heard(k *sock, peer netip.AddrPort) {
	if len(s.opt.Listen) == 1 { // nothing to choose
		return
	}
	s.mu.RLock()
	same := s.via[peer] == k
	s.mu.RUnlock()
	if !same {
		s.mu.Lock()
		if len(s.via) >= maxVia { // bounded: forget and learn again
			clear(s.via)
		}
		s.via[peer] = k
		s.mu.Unlock()
	}
}

// readLoop reads one socket until it is closed, a batch (recvmmsg) at a
// time; the batch's IP packets go to the TUN device in one write.
func (s *Server) readLoop(k *sock) {
	defer s.wg.Done()
	size := rxBufSize
	if k.port == portIKE { // IKE only: no data
		size = bufSize
	}
	bufs, views := make([][]byte, udpBatch), make([][]byte, udpBatch)
	for i := range bufs {
		bufs[i] = make([]byte, rxHeadroom+size)
		views[i] = bufs[i][rxHeadroom:]
	}
	sizes, from := make([]int, udpBatch), make([]netip.AddrPort, udpBatch)
	rx := &rxBatch{out: make([][]byte, 0, udpBatch)}
	if k.port == portNATT { // ESP: opened on several cores, when there are workers
		if w := datapath.NewCryptoWorkers(); w != nil {
			defer w.Close()
			rx.esp = newOpenBatch(s, w, udpBatch)
		}
	}
	for {
		n, err := k.udp.ReadBatch(views, sizes, from)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.receiveBatch(rx, k, bufs, views, sizes, from, n)
	}
}

// receiveBatch handles the n datagrams of one read from k (views[i] is
// bufs[i] after rxHeadroom) and writes their IP packets to the TUN device
// in one batch.
func (s *Server) receiveBatch(rx *rxBatch, k *sock, bufs, views [][]byte, sizes []int, from []netip.AddrPort, n int) {
	var pre []opened
	if rx.esp != nil {
		pre = rx.esp.open(views, sizes, n)
	}
	for i := 0; i < n; i++ {
		if sizes[i] < 0 { // larger than the buffer
			s.stats.rxMalformed.Add(1)
			continue
		}
		var o *opened
		if pre != nil {
			o = &pre[i]
		}
		s.receiveDatagram(rx, k, bufs[i], views[i][:sizes[i]], from[i], k.udp.Control(i), o)
	}
	s.flushRx(rx)
}

// receiveDatagram handles one datagram d (aliasing buf, after its
// headroom) that came in on k; oob is its control messages, pre its ESP
// opened already (nil: not).
func (s *Server) receiveDatagram(rx *rxBatch, k *sock, buf, d []byte, from netip.AddrPort, oob []byte, pre *opened) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	switch k.port {
	case portIKE:
		s.heard(k, from)
		s.ike.Input(from, k.dest(oob), false, bytes.Clone(d))
	case portNATT:
		s.receiveESP(rx, buf, d, from, k, oob, pre)
	case portL2TP:
		if len(d) > 0 && d[0]&0x80 != 0 {
			s.heard(k, from)
		}
		s.receiveL2TP(rx, buf, d, l2tp.PeerKey{Addr: from}, nil)
	}
}

// dest is the address the datagram was sent to: the bound one, or from
// IP_PKTINFO when bound to 0.0.0.0 (control path: it may allocate).
func (k *sock) dest(oob []byte) netip.AddrPort {
	if !k.local.Addr().IsUnspecified() {
		return k.local
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return k.local
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo {
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&m.Data[0]))
			return netip.AddrPortFrom(netip.AddrFrom4(pi.Addr), k.port)
		}
	}
	return k.local
}

// transport is one IPsec peer (a client's IKE address and port): its
// current outbound SA and how to frame for it. Its id is the LNS PeerKey's
// Conn, stable across rekeys.
type transport struct {
	id    uint64
	peer  netip.AddrPort // where ESP goes (UDP-encapsulated, port 4500)
	local netip.Addr     // our address as the client sees it
	out   atomic.Pointer[esp.SA]
	mode  esp.Mode
	inner netip.Addr // tunnel mode: the client's inner address
	alg   string
	sock  *sock        // the 4500 socket the client's IKE came in on (nil: the first)
	seen  atomic.Int64 // unix ns of the last Alive told to the responder
}

// framing is how the L2TP datagrams to and from this client sit in ESP:
// UDP between 1701 and the client's port peerPort, and in tunnel mode an
// inner IPv4 header between our address and the client's inner one.
func (t *transport) framing(peerPort uint16) esp.Inner {
	return esp.Inner{Mode: t.mode, Local: t.local, Peer: t.inner, LocalPort: portL2TP, PeerPort: peerPort}
}

// aliveEvery bounds how often the data path tells the responder a client
// is alive: once a second is plenty for DPD (30 s by default), and the
// responder's mutex stays off the per-packet path.
const aliveEvery = int64(time.Second)

// alive tells r that an authenticated ESP packet came from t, at most once
// per aliveEvery.
func (t *transport) alive(r *ike.Responder) {
	now := time.Now().UnixNano()
	if last := t.seen.Load(); now-last < aliveEvery || !t.seen.CompareAndSwap(last, now) {
		return
	}
	r.Alive(t.peer)
}

// inSA is one inbound SA and its transport.
type inSA struct {
	sa *esp.SA
	t  *transport
}

// childUp installs a new SA pair (ike.Responder's OnChildSA).
func (s *Server) childUp(c ike.ResponderChild) {
	in, out, err := c.NewSAs(nil)
	if err != nil {
		s.log.Warn("cannot build the ESP SAs", "peer", c.Peer, "err", err)
		return
	}
	if !c.NATT {
		// Raw ESP (IP protocol 50) needs the kernel; we only do RFC 3948.
		s.log.Warn("client negotiated ESP without UDP encapsulation, which this server cannot receive", "peer", c.Peer)
	}
	s.mu.Lock()
	t := s.byPeer[c.Peer]
	if t == nil {
		// Fixed from here on: the data path reads them without the lock.
		// A rekey only brings a new outbound SA (the client's address,
		// ours and the mode stay).
		s.nextTID++
		t = &transport{id: s.nextTID, peer: c.Peer, local: c.Local.Addr(), mode: c.Mode, alg: c.Proposal.String()}
		if k := s.via[c.Peer]; k != nil && k.port == portNATT {
			t.sock = k
		}
		if c.Mode == esp.Tunnel {
			t.inner = c.PeerTS.Prefix.Addr()
		}
		s.byPeer[c.Peer], s.trans[t.id] = t, t
	}
	t.out.Store(out)
	s.bySPI[c.SPIIn] = &inSA{sa: in, t: t}
	s.mu.Unlock()
	s.log.Info("ipsec sa up", "peer", c.Peer, "id", c.PeerID, "esp", c.Proposal.String(), "mode", c.Mode, "rekey", c.Rekey)
}

// childDown removes a deleted or expired pair.
func (s *Server) childDown(c ike.ResponderChild) {
	s.mu.Lock()
	delete(s.bySPI, c.SPIIn)
	if t := s.byPeer[c.Peer]; t != nil {
		if out := t.out.Load(); out != nil && out.SPI() == c.SPIOut {
			t.out.Store(nil)
		}
	}
	s.mu.Unlock()
}

// peerGone drops a client's IPsec transport; its L2TP tunnels end with it.
func (s *Server) peerGone(peer netip.AddrPort, reason string) {
	s.mu.Lock()
	t := s.byPeer[peer]
	delete(s.via, peer)
	if t != nil {
		delete(s.byPeer, peer)
		delete(s.trans, t.id)
		for spi, in := range s.bySPI {
			if in.t == t {
				delete(s.bySPI, spi)
			}
		}
	}
	var ended []*client
	for _, c := range s.bySess {
		if t != nil && c.sess.Peer().Conn == t.id {
			ended = append(ended, c)
		}
	}
	s.mu.Unlock()
	s.log.Info("ipsec peer gone", "peer", peer, "reason", reason)
	for _, c := range ended {
		go c.close("IPsec peer gone: " + reason)
	}
}

// receiveNATT handles a datagram on 4500: IKE (non-ESP marker), a NAT-T
// keepalive, or ESP.
func (s *Server) receiveNATT(rx *rxBatch, buf, d []byte, from netip.AddrPort, k *sock, oob []byte) {
	s.receiveESP(rx, buf, d, from, k, oob, nil)
}

// receiveESP is receiveNATT for a datagram whose ESP the workers may have
// opened already (pre; see openBatch).
func (s *Server) receiveESP(rx *rxBatch, buf, d []byte, from netip.AddrPort, k *sock, oob []byte, pre *opened) {
	kind, spi := esp.Classify(d)
	switch kind {
	case esp.KindIKE:
		s.heard(k, from)
		s.ike.Input(from, k.dest(oob), true, bytes.Clone(d[4:]))
		return
	case esp.KindKeepalive:
		return
	case esp.KindInvalid:
		s.stats.rxMalformed.Add(1)
		return
	}
	var in *inSA
	var payload []byte
	var next byte
	var err error
	if pre != nil && pre.done {
		in, payload, next, err = pre.in, pre.payload, pre.next, pre.err
	} else {
		s.mu.RLock()
		in = s.bySPI[spi]
		s.mu.RUnlock()
		if in == nil {
			s.stats.rxUnknownSPI.Add(1)
			return
		}
		payload, next, err = in.sa.Open(d)
	}
	if err != nil {
		s.stats.rxESPFailed.Add(1)
		return
	}
	if s.ike != nil {
		in.t.alive(s.ike)
	}
	f := in.t.framing(0)
	f.Mode = in.sa.Mode()
	msg, srcPort, ok := f.Unframe(payload, next)
	if !ok {
		s.stats.rxMalformed.Add(1)
		return
	}
	s.receiveL2TP(rx, buf, msg, l2tp.PeerKey{Addr: netip.AddrPortFrom(from.Addr(), srcPort), Conn: in.t.id}, in.t)
}

// receiveL2TP hands control messages to the LNS and data to the client.
// t is the IPsec transport, nil for plain L2TP. IP packets join rx.
func (s *Server) receiveL2TP(rx *rxBatch, buf, d []byte, pk l2tp.PeerKey, t *transport) {
	if len(d) < 2 {
		s.stats.rxMalformed.Add(1)
		return
	}
	if d[0]&0x80 != 0 { // the T bit: a control message (the LNS copies it)
		s.lns.Input(pk, d)
		return
	}
	sess, frame := s.lns.Data(pk, d)
	var c *client
	if sess != nil {
		s.mu.RLock()
		c = s.bySess[sess]
		s.mu.RUnlock()
	}
	if c == nil {
		s.early(pk, d)
		return
	}
	c.receive(rx, buf, frame)
}

// Early data: the client's first LCP Configure-Request follows its ICCN at
// once, and may be read before the LNS's loop has made the session (or
// before sessionUp has its client). It is kept, a few per peer, until
// sessionUp replays it; without that the client would wait out its PPP
// restart timer (3 s). Rare, so the copy is fine.
const (
	maxEarlyPerPeer = 4
	maxEarly        = 1024
)

type earlyFrame struct {
	pk l2tp.PeerKey
	d  []byte
	at time.Time
}

// earlyTTL is how long early data waits for its session.
const earlyTTL = 10 * time.Second

// early keeps d for sessionUp, or counts it as a drop; s.mu makes it
// atomic with sessionUp's registration.
func (s *Server) early(pk l2tp.PeerKey, d []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	n := 0
	fresh := s.earlyData[:0]
	for _, e := range s.earlyData {
		if now.Sub(e.at) > earlyTTL {
			s.stats.rxNoSession.Add(1)
			continue
		}
		fresh = append(fresh, e)
		if e.pk == pk {
			n++
		}
	}
	clear(s.earlyData[len(fresh):])
	s.earlyData = fresh
	if n >= maxEarlyPerPeer || len(s.earlyData) >= maxEarly {
		s.stats.rxNoSession.Add(1)
		return
	}
	s.earlyData = append(s.earlyData, earlyFrame{pk: pk, d: bytes.Clone(d), at: now})
}

// takeEarly removes and returns the early data of session sess; s.mu is
// held.
func (s *Server) takeEarly(sess *l2tp.LNSSession) [][]byte {
	var out [][]byte
	keep := s.earlyData[:0]
	for _, e := range s.earlyData {
		h, _, err := l2tp.ParseHeader(e.d)
		if err == nil && e.pk == sess.Peer() && h.TunnelID == sess.TunnelID && h.SessionID == sess.SessionID {
			out = append(out, e.d)
			continue
		}
		keep = append(keep, e)
	}
	clear(s.earlyData[len(keep):])
	s.earlyData = keep
	return out
}

// sendIKE is ike.Responder's Send.
func (s *Server) sendIKE(to netip.AddrPort, natt bool, b []byte) error {
	if natt {
		k := s.sockFor(portNATT, to)
		m := make([]byte, 4, 4+len(b)) // the non-ESP marker
		_, err := k.conn.WriteToUDPAddrPort(append(m, b...), to)
		return err
	}
	_, err := s.sockFor(portIKE, to).conn.WriteToUDPAddrPort(b, to)
	return err
}

// sealHeadroom is the room sendOver needs in front of an L2TP datagram.
const sealHeadroom = 128

// sendL2TP is the LNS's Send (control messages, rare: a copy is fine).
func (s *Server) sendL2TP(pk l2tp.PeerKey, b []byte) error {
	buf := make([]byte, sealHeadroom+len(b)+64)
	copy(buf[sealHeadroom:], b)
	return s.sendOver(pk, buf, sealHeadroom, len(b))
}

// sendOver sends the L2TP datagram buf[off:off+n] to pk: sealed for its
// IPsec transport in place (headroom before off, tailroom after), or plain.
// One datagram, safe for concurrent use (control messages).
func (s *Server) sendOver(pk l2tp.PeerKey, buf []byte, off, n int) error {
	d, k, dst, err := s.seal(pk, buf, off, n)
	if err != nil {
		return err
	}
	_, err = k.conn.WriteToUDPAddrPort(d, dst)
	return err
}

// Errors of seal, made once: it runs per data packet.
var (
	errNoPlainSocket = errors.New("server: no plain L2TP socket")
	errNoTransport   = errors.New("server: the client's IPsec transport is gone")
	errNoOutboundSA  = errors.New("server: no outbound SA")
)

// seal makes the L2TP datagram buf[off:off+n] for pk ready to send: sealed
// for its IPsec transport in place (headroom before off, tailroom after),
// or as it is for plain L2TP. It returns the datagram (aliasing buf), the
// socket to send it from and the destination.
func (s *Server) seal(pk l2tp.PeerKey, buf []byte, off, n int) ([]byte, *sock, netip.AddrPort, error) {
	p, err := s.prepareSeal(pk, buf, off, n)
	if err != nil {
		return nil, nil, netip.AddrPort{}, err
	}
	if p.seal(); p.err != nil {
		return nil, nil, netip.AddrPort{}, p.err
	}
	return p.pkt, p.k, p.dst, nil
}
