package ppp

// The link phases (RFC 1661 section 3.2) as driven by the This-Layer-*
// actions of LCP and the NCPs.

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
)

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

// lcpDown: LCP left Opened; everything above it goes down.
func (l *Link) lcpDown() {
	l.echoStop()
	l.authStop()
	l.ipcp.step(evDown)
	if l.ipv6cp != nil {
		l.ipv6cp.step(evDown)
	}
	l.ccpReset()
	if l.phase != phaseTerminate {
		l.phase = phaseEstablish
	}
	l.log.Info("ppp: lcp down")
	l.emit(Event{Kind: "lcp.down"})
}

// lcpFinished: LCP is done with the link; Run returns.
func (l *Link) lcpFinished(reason string) {
	if !l.closeIssued {
		if reason == "" {
			reason = "LCP finished"
		}
		l.setErr(&NegotiationError{Protocol: ProtoLCP, Reason: reason})
	}
	l.finished = true
}

// peerTerminated: the peer sent a Terminate-Request, which the automaton
// acked. Unless we are closing ourselves, Run returns at once.
func (l *Link) peerTerminated(p Packet) {
	if l.closeIssued || l.pendingClose {
		return
	}
	l.failNow(&TerminateError{Reason: printable(p.Data)})
}

// enterNetwork starts the NCPs (RFC 1661 section 3.5).
func (l *Link) enterNetwork() {
	l.phase = phaseNetwork
	l.ipcp.step(evOpen)
	l.ipcp.step(evUp)
	if l.ipv6cp != nil {
		l.ipv6cp.step(evOpen)
		l.ipv6cp.step(evUp)
	}
	l.ccpNetwork()
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
	first := !l.up
	l.up = true
	info := l.copyInfo()
	l.mu.Unlock()
	if first {
		close(l.upCh)
	}
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

func (l *Link) ipcpFinished(reason string) {
	if l.closeIssued || l.pendingClose {
		return
	}
	if reason == "" {
		reason = "IPCP finished"
	}
	l.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: reason})
}

func (l *Link) ipv6cpUp() {
	h := l.ipv6cpL
	l.mu.Lock()
	l.info.IPv6Local = h.id
	l.info.IPv6Peer = h.peer
	info := l.copyInfo()
	l.mu.Unlock()
	l.log.Info("ppp: ipv6cp up", "local_id", netip.AddrFrom16(linkLocal(h.id)), "peer_id", netip.AddrFrom16(linkLocal(h.peer)))
	l.emit(Event{Kind: "ipv6cp.up", Auth: info.Auth, Info: &info})
}

func (l *Link) ipv6cpDown() {
	l.mu.Lock()
	l.info.IPv6Local, l.info.IPv6Peer = [8]byte{}, [8]byte{}
	l.mu.Unlock()
	l.log.Info("ppp: ipv6cp down")
	l.emit(Event{Kind: "ipv6cp.down"})
}

func (l *Link) ipv6cpFinished(reason string) {
	if reason != "" && !l.closeIssued {
		l.log.Info("ppp: ipv6cp not available", "reason", reason)
	}
}

func linkLocal(id [8]byte) [16]byte {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	copy(b[8:], id[:])
	return b
}

// randBytes fills b from the configured random source. A failing source is
// a fatal error for the link.
func (l *Link) randBytes(b []byte) {
	if _, err := io.ReadFull(l.cfg.Rand, b); err != nil {
		l.fail(errors.New("ppp: random source failed: " + err.Error()))
	}
}

// randUint32 returns a random non-zero number (Magic-Number).
func (l *Link) randUint32() uint32 {
	var b [4]byte
	for range 8 {
		l.randBytes(b[:])
		if v := binary.BigEndian.Uint32(b[:]); v != 0 {
			return v
		}
	}
	l.randFallback++ // a broken source: still never zero, never repeating
	return 0x5eed0000 | uint32(l.randFallback)
}

// randID returns a random non-zero 8-byte interface identifier.
func (l *Link) randID() [8]byte {
	var b [8]byte
	for range 8 {
		l.randBytes(b[:])
		if b != ([8]byte{}) {
			return b
		}
	}
	binary.BigEndian.PutUint32(b[4:], l.randUint32())
	return b
}
