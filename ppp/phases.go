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

// beforeNCP: an NCP packet that shows the server in its Network phase while
// we wait for its verdict means our authentication succeeded (see
// impliedSuccess). For MS-CHAPv2 the lost Success held the server's proof
// that it knows the password: the inference stands only when IPsec has
// authenticated the server (Config.ServerVerified). Else the server gets
// a few more repeated Responses to send its Success again, and then the
// link fails with ErrServerUnverified instead of waiting out the timeout.
func (l *Link) beforeNCP(proto Protocol, p Packet) {
	if l.phase != phaseAuthenticate || !l.auth.impliedSuccess(proto, p) {
		return
	}
	if l.auth.method == AuthMSCHAPv2 {
		if !l.cfg.ServerVerified {
			if !l.auth.unverified {
				l.auth.unverified = true
				l.log.Info("ppp: the server has moved on to IP configuration but its MS-CHAPv2 Success has not reached us: repeating our Response for it")
			}
			return
		}
		l.log.Warn("ppp: the server's MS-CHAPv2 Success was lost and it has moved on to IP configuration: continuing without its authenticator response, as IPsec has authenticated the server",
			"method", l.auth.method)
		l.authSucceeded()
		return
	}
	l.log.Info("ppp: the server started its network protocols without our seeing its Success (lost): taking it as authenticated",
		"method", l.auth.method)
	l.authSucceeded()
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
