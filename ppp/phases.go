package ppp

// The client's link phases (RFC 1661 section 3.2) as driven by the
// This-Layer-* actions of LCP and the NCPs; what both roles share is in
// core_phases.go.

import "net/netip"

// lcpUp: LCP reached Opened; authenticate or go to the Network phase.
func (l *Link) lcpUp() {
	h := l.lcpL
	l.phase = phaseAuthenticate
	l.auth.method = h.auth
	l.log.Info("ppp: lcp up", "mru", h.localMRU, "peer_mru", h.peerMRU, "auth", h.auth, "magic", h.magicOK)
	l.emit(Event{Kind: "lcp.up", Auth: h.auth})
	l.echoStart()
	if h.auth == 0 {
		l.enterNetwork()
		return
	}
	l.authStart(h.auth)
}

// lowerDown: LCP left Opened; authentication and CCP stop.
func (l *Link) lowerDown() {
	l.authStop()
	l.ccpReset()
}

// protoRejected: the server Protocol-Rejected CCP, or the authentication
// protocol it asked for.
func (l *Link) protoRejected(proto Protocol) {
	switch proto {
	case ProtoCCP:
		if l.ccpStarted {
			l.ccp.why = "the server protocol-rejected CCP"
			l.ccp.step(evRXJMinus)
		}
	case ProtoPAP, ProtoCHAP:
		if l.auth.active {
			l.authFailed(&NegotiationError{Protocol: ProtoLCP, Reason: "the server protocol-rejected " + proto.String() + ", which it asked for"})
		}
	}
}

// enterNetwork starts the NCPs (RFC 1661 section 3.5), and CCP when MPPE
// is required.
func (l *Link) enterNetwork() {
	l.startNCPs()
	l.ccpNetwork()
}

// beforeNCP: a Configure-Request of an NCP while we wait for the server's
// verdict means our authentication succeeded (see impliedSuccess).
func (l *Link) beforeNCP(p Packet) {
	if l.phase == phaseAuthenticate && p.Code == CodeConfigureRequest && l.auth.impliedSuccess() {
		l.log.Info("ppp: the server started its network protocols without our seeing its Success (lost): taking it as authenticated",
			"method", l.auth.method)
		l.authSucceeded()
	}
}

func (l *Link) ipcpUp() {
	h := l.ipcpL
	local, ok := h.localAddr()
	if !ok {
		l.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: "the server did not assign us an IPv4 address"})
		return
	}
	if l.ccpPending() {
		l.ipcpWaiting = true // up once MPPE is (see releaseIPCP)
		l.log.Debug("ppp: ipcp open, waiting for ccp (mppe)")
		return
	}
	l.mu.Lock()
	l.info.Local = local
	l.info.Peer = netip.Addr{}
	if h.havePeer {
		l.info.Peer = netip.AddrFrom4(h.peer)
	}
	l.info.DNS = h.dnsAddrs()
	l.info.WINS = h.winsAddrs()
	l.info.PeerMRU = l.lcpL.peerMRU
	l.info.LocalMRU = l.lcpL.localMRU
	l.info.Auth = l.auth.method
	info := l.copyInfo()
	l.mu.Unlock()
	l.ipcpOpened()
	l.log.Info("ppp: ipcp up", "local", info.Local, "peer", info.Peer, "dns", info.DNS, "wins", info.WINS)
	l.emit(Event{Kind: "ipcp.up", Auth: info.Auth, Info: &info})
}

func (l *Link) ipcpDown() {
	if l.ipcpWaiting {
		l.ipcpWaiting = false
		return
	}
	l.log.Info("ppp: ipcp down")
	l.emit(Event{Kind: "ipcp.down"})
}

func (l *Link) ipv6cpUp() {
	h := l.ipv6cpL
	l.mu.Lock()
	l.info.IPv6Local = h.id
	l.info.IPv6Peer = h.peer
	info := l.copyInfo()
	l.mu.Unlock()
	l.logIPV6CPUp(h.id, h.peer)
	l.emit(Event{Kind: "ipv6cp.up", Auth: info.Auth, Info: &info})
}

func (l *Link) ipv6cpDown() {
	l.mu.Lock()
	l.info.IPv6Local, l.info.IPv6Peer = [8]byte{}, [8]byte{}
	l.mu.Unlock()
	l.log.Info("ppp: ipv6cp down")
	l.emit(Event{Kind: "ipv6cp.down"})
}
