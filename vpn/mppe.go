package vpn

// MPPE on the data path (RFC 3078): when the PPP link negotiated MPPE,
// each IP packet leaves as PPP protocol 0x00FD, MPPE header and the
// encrypted inner protocol and packet, all written into the headroom in
// front of it; received 0x00FD frames are decrypted in place. With MPPE on
// or required, no IP packet goes out or comes in in the clear.

import (
	"net/netip"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// mppeMTUOverhead is what MPPE adds to each packet, taken off the MTU.
const mppeMTUOverhead = ppp.MPPEOverhead

// mppeLink is what the data path asks the PPP link about MPPE (a
// *ppp.Link; tests give a fixed session).
type mppeLink interface {
	MPPE() *ppp.MPPE
	MPPEBlocked() bool
}

// txCipher is the MPPE session to encrypt with, and whether plaintext is
// forbidden when there is none.
func (c *Conn) txCipher() (*ppp.MPPE, bool) {
	if c.crypt == nil {
		return nil, false
	}
	m := c.crypt.MPPE()
	return m, m == nil && c.crypt.MPPEBlocked()
}

// encapMPPE is encap with MPPE: the IP packet at buf[off:off+n] is
// encrypted in place behind an MPPE header, then the PPP (0x00FD) and L2TP
// headers go in front.
func encapMPPE(buf []byte, off, n int, tunnelID, sessionID uint16, seq *l2tp.DataSequence, m *ppp.MPPE) ([]byte, bool) {
	if n < 1 || off < l2tp.DataHeaderSeqLen+ppp.HeaderLen+ppp.MPPEOverhead || off+n > len(buf) {
		return nil, false
	}
	proto, ok := ipProto(buf[off])
	if !ok {
		return nil, false
	}
	m.Encrypt(buf[off-ppp.MPPEOverhead:off+n], proto)
	frame := off - ppp.MPPEOverhead - ppp.HeaderLen
	start := seq.PutHeader(buf, frame, tunnelID, sessionID)
	if start < 0 {
		return nil, false
	}
	ppp.PutHeader(buf[frame:], ppp.ProtoMPPE)
	return buf[start : off+n], true
}

// rxMPPE decrypts a received 0x00FD frame and returns the IP packet for
// the TUN device, or nil (dropped and counted, or a control frame handed to
// the link).
func (c *Conn) rxMPPE(payload []byte, from, peer netip.AddrPort) []byte {
	st := &c.stats
	if from != peer {
		st.drop(&st.rxForeign)
		return nil
	}
	var m *ppp.MPPE
	if c.crypt != nil {
		m = c.crypt.MPPE()
	}
	if m == nil {
		st.drop(&st.rxMPPE) // CCP is not (or no longer) up
		return nil
	}
	proto, p, err := m.Decrypt(payload)
	if err != nil {
		st.drop(&st.rxMPPE)
		return nil
	}
	if proto != ppp.ProtoIPv4 && proto != ppp.ProtoIPv6 {
		if !c.link.Input(proto, p) {
			st.drop(&st.rxQueueFull)
		}
		return nil
	}
	if len(p) == 0 {
		st.drop(&st.rxMalformed)
		return nil
	}
	if c.dev.Load() == nil {
		st.drop(&st.rxNotReady)
		return nil
	}
	st.rxPackets.Add(1)
	st.rxBytes.Add(uint64(len(p)))
	c.clamp(p)
	return p
}
