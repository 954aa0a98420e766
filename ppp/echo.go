package ppp

// LCP keepalive: an Echo-Request every Config.EchoInterval once LCP is
// Opened (RFC 1661 section 5.8). An echo counts as answered by its
// Echo-Reply or by anything else that arrived from the peer after it was
// sent: control frames through Input, data through DataReceived. Some
// servers (SoftEther, some Ciscos) never answer Echo-Request; while data
// flows their link stays up, and it is declared dead only when nothing at
// all came back for Config.EchoFailures echoes in a row.

import "encoding/binary"

type echoState struct {
	t        timer
	pending  int    // Echo-Requests sent since the peer was last heard from
	rxMark   uint64 // Link.rxSeen when the last Echo-Request went out
	disabled bool   // the peer Code-Rejected Echo-Request
	noted    bool   // logged that the peer does not answer echo
}

// DataReceived tells the link that frames from the peer arrived on the
// data path, which keeps the LCP keepalive from declaring a link dead
// whose server does not answer Echo-Request. It is one atomic add: call it
// once per received batch, from any goroutine.
func (l *Link) DataReceived() { l.rxSeen.Add(1) }

func (l *Link) echoStart() {
	l.echo.pending = 0
	l.echo.rxMark = l.rxSeen.Load()
	if l.cfg.EchoInterval > 0 && !l.echo.disabled {
		l.echo.t.start(l.cfg.EchoInterval)
	}
}

func (l *Link) echoStop() { l.echo.t.stop() }

func (l *Link) echoTick() {
	if l.lcp.state != stateOpened {
		return
	}
	if l.rxSeen.Load() != l.echo.rxMark {
		l.echo.pending = 0 // heard from the peer since the last echo went out
		if !l.echo.noted && l.stats.echoReceived.Load() == 0 && l.stats.echoSent.Load() >= uint64(l.cfg.EchoFailures) {
			l.echo.noted = true
			l.log.Info("ppp: lcp: the server does not answer echo requests; relying on the traffic it sends to tell that the link is alive",
				"unanswered", l.stats.echoSent.Load())
		}
	}
	if l.echo.pending >= l.cfg.EchoFailures {
		l.failNow(&EchoTimeoutError{Count: l.echo.pending})
		return
	}
	l.echo.pending++
	l.echo.rxMark = l.rxSeen.Load()
	l.stats.echoSent.Add(1)
	data := binary.BigEndian.AppendUint32(make([]byte, 0, 4), l.lcpL.ourMagic())
	l.sendPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: l.lcp.newID(), Data: data})
	l.echo.t.start(l.cfg.EchoInterval)
}

func (l *Link) echoReply() {
	l.stats.echoReceived.Add(1)
	l.echo.pending = 0
}
