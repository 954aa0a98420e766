package ppp

// LCP keepalive, both roles: an Echo-Request every EchoInterval once LCP is
// Opened (RFC 1661 section 5.8). An echo counts as answered by its
// Echo-Reply or by anything else that arrived from the peer after it was
// sent: control frames through Input, data through DataReceived. Some
// servers (SoftEther, some Ciscos) never answer Echo-Request; while data
// flows their link stays up, and it is declared dead only when nothing at
// all came back for EchoFailures echoes in a row.

import "encoding/binary"

type echoState struct {
	t        timer
	pending  int    // Echo-Requests sent since the peer was last heard from
	rxMark   uint64 // linkCore.rxSeen when the last Echo-Request went out
	disabled bool   // the peer Code-Rejected Echo-Request
	noted    bool   // logged that the peer does not answer echo
}

func (c *linkCore) echoStart() {
	c.echo.pending = 0
	c.echo.rxMark = c.rxSeen.Load()
	if c.shared.EchoInterval > 0 && !c.echo.disabled {
		c.echo.t.start(c.shared.EchoInterval)
	}
}

func (c *linkCore) echoStop() { c.echo.t.stop() }

func (c *linkCore) echoTick() {
	if c.lcp.state != stateOpened {
		return
	}
	if c.rxSeen.Load() != c.echo.rxMark {
		c.echo.pending = 0 // heard from the peer since the last echo went out
		if c.tr.echoNote && !c.echo.noted && c.stats.echoReceived.Load() == 0 && c.stats.echoSent.Load() >= uint64(c.shared.EchoFailures) {
			c.echo.noted = true
			c.log.Info(c.tr.log+"lcp: the "+c.tr.peer+" does not answer echo requests; relying on the traffic it sends to tell that the link is alive",
				"unanswered", c.stats.echoSent.Load())
		}
	}
	if c.echo.pending >= c.shared.EchoFailures {
		c.failNow(&EchoTimeoutError{Count: c.echo.pending})
		return
	}
	c.echo.pending++
	c.echo.rxMark = c.rxSeen.Load()
	c.stats.echoSent.Add(1)
	data := binary.BigEndian.AppendUint32(make([]byte, 0, 4), c.lcpOpts.ourMagic())
	c.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: c.lcp.newID(), Data: data})
	c.echo.t.start(c.shared.EchoInterval)
}

func (c *linkCore) echoReply() {
	c.stats.echoReceived.Add(1)
	c.echo.pending = 0
}
