package vpn

import "github.com/l2tpvpn/l2tpvpn/l2tp"

// Data-channel sequencing of the connection's session (RFC 2661 5.4). Conn.seq
// is the session's l2tp.DataSequence: encap and pppMessage put Ns on our data
// messages while it says so, and classify feeds it the server's data headers,
// which turn our sequencing on and off, and has it drop late ones. It is
// lock-free, so the receive loop, the transmit loop and the PPP loop share it.

// startSequencing applies what the session set-up said: a Sequencing Required
// AVP from the server puts Ns on all our data messages from now on.
func (c *Conn) startSequencing(si l2tp.SessionInfo) {
	if si.SequencingRequired {
		c.seq.Require()
		c.log.Info("l2tp data messages are sequenced: the server requires it")
	}
}

// pppMessage is the L2TP data message of our session carrying one PPP
// control frame (protocol + information), with Ns while the session is
// sequenced. Control frames are rare: it allocates.
func (c *Conn) pppMessage(frame []byte) []byte {
	const hdr = l2tp.DataHeaderSeqLen // room for either header
	b := make([]byte, hdr+2+len(frame))
	start := c.seq.PutHeader(b, hdr, c.peerTunnel.Load16(), c.peerSession.Load16())
	b[hdr], b[hdr+1] = 0xff, 0x03
	copy(b[hdr+2:], frame)
	return b[start:]
}
