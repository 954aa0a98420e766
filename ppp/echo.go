package ppp

// LCP keepalive: an Echo-Request every Config.EchoInterval once LCP is
// Opened; Config.EchoFailures unanswered in a row mean the link is dead
// (RFC 1661 section 5.8).

import "encoding/binary"

type echoState struct {
	t        timer
	pending  int  // Echo-Requests sent since the last Echo-Reply
	disabled bool // the peer Code-Rejected Echo-Request
}

func (l *Link) echoStart() {
	l.echo.pending = 0
	if l.cfg.EchoInterval > 0 && !l.echo.disabled {
		l.echo.t.start(l.cfg.EchoInterval)
	}
}

func (l *Link) echoStop() { l.echo.t.stop() }

func (l *Link) echoTick() {
	if l.lcp.state != stateOpened {
		return
	}
	if l.echo.pending >= l.cfg.EchoFailures {
		l.failNow(&EchoTimeoutError{Count: l.echo.pending})
		return
	}
	l.echo.pending++
	l.stats.echoSent.Add(1)
	data := binary.BigEndian.AppendUint32(make([]byte, 0, 4), l.lcpL.ourMagic())
	l.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: l.lcp.newID(), Data: data})
	l.echo.t.start(l.cfg.EchoInterval)
}

func (l *Link) echoReply() {
	l.stats.echoReceived.Add(1)
	l.echo.pending = 0
}
