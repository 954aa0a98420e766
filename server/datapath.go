package server

// The data path: PPP frames from clients to the TUN device, IP packets from
// the TUN device to clients. Headers are written into headroom and crypto
// is in place; nothing is allocated per packet.

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// txHeadroom is kept in front of each packet read from the TUN device:
// PPP, L2TP, UDP, ESP and IV headers, and tunnel mode's inner IPv4 header.
const txHeadroom = 128

// receive handles one PPP frame of the client's session; frame aliases
// buf (the reader's buffer, with headroom before the datagram).
func (c *client) receive(buf, frame []byte) {
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
	s.tunWrite.Lock()
	c.frames[0] = buf[:off+len(info)]
	_, err = s.dev.Write(c.frames[:], off)
	c.frames[0] = nil
	s.tunWrite.Unlock()
	if err != nil {
		s.stats.txErrors.Add(1)
		return
	}
	s.stats.rxPackets.Add(1)
	c.bytesIn.Add(uint64(len(info)))
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
		for i := 0; i < n; i++ {
			s.transmit(bufs[i], sizes[i])
		}
	}
}

// transmit sends the IP packet buf[txHeadroom:txHeadroom+n] to the client
// it is addressed to.
func (s *Server) transmit(buf []byte, n int) {
	pkt := buf[txHeadroom : txHeadroom+n]
	if n < 20 || pkt[0]>>4 != 4 {
		s.stats.txNoClient.Add(1)
		return
	}
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	s.mu.RLock()
	c := s.byAddr[dst]
	s.mu.RUnlock()
	if c == nil {
		s.stats.txNoClient.Add(1)
		return
	}
	frame := txHeadroom - ppp.HeaderLen
	ppp.PutHeader(buf[frame:], ppp.ProtoIPv4)
	start := c.sess.PutHeader(buf, frame)
	if start < 0 {
		s.stats.txErrors.Add(1)
		return
	}
	if err := s.sendOver(c.sess.Peer(), buf, start, txHeadroom+n-start); err != nil {
		s.stats.txErrors.Add(1)
		return
	}
	s.stats.txPackets.Add(1)
	c.bytesOut.Add(uint64(n))
}
