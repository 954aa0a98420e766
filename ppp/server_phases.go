package ppp

// The ServerLink's phases (RFC 1661 section 3.2) as far as they differ from
// the client's; what both roles share is in core_phases.go.

import "net/netip"

// lcpUp: LCP reached Opened with the method the client acked; authenticate.
func (s *ServerLink) lcpUp() {
	h := s.lcpL
	s.phase = phaseAuthenticate
	s.mu.Lock()
	s.info.PeerMRU, s.info.LocalMRU = h.peerMRU, h.localMRU
	s.mu.Unlock()
	s.log.Info("ppp: server: lcp up", "mru", h.localMRU, "peer_mru", h.peerMRU, "auth", h.acked)
	s.emitInfo("lcp.up", nil)
	s.echoStart()
	s.authStart(h.acked)
}

// lowerDown: LCP left Opened; authentication stops.
func (s *ServerLink) lowerDown() { s.authStop() }

// protoRejected: the client Protocol-Rejected the authentication protocol it
// acked (anything else we do not send).
func (s *ServerLink) protoRejected(proto Protocol) {
	if (proto == ProtoPAP || proto == ProtoCHAP) && s.auth.active {
		s.authFailed(&NegotiationError{Protocol: ProtoLCP, Reason: "the client protocol-rejected " + proto.String() + ", which it acked"})
	}
}

// What the authenticator does not do: CCP (no MPPE on this side: a
// client's CCP is Protocol-Rejected), and the client's inferences about
// its own authentication.
func (s *ServerLink) ccpInput(f frame)            { s.protocolReject(f) }
func (s *ServerLink) mppeResetC() <-chan struct{} { return nil }
func (s *ServerLink) sendResetRequest()           {}
func (s *ServerLink) beforeNCP(Protocol, Packet)  {}
func (s *ServerLink) authWaiting()                {}

func (s *ServerLink) ipcpUp() {
	h := s.ipcpL
	s.mu.Lock()
	s.info.Local = netip.Addr{}
	if h.sendAddr {
		s.info.Local = s.cfg.LocalIP
	}
	s.info.Peer = s.cfg.PeerIP
	s.info.DNS = granted(s.cfg.DNS, h.dns)
	s.info.WINS = granted(s.cfg.WINS, h.wins)
	info := s.copyInfo()
	s.mu.Unlock()
	s.ipcpOpened()
	s.log.Info("ppp: server: ipcp up", "user", sanitize([]byte(info.User)), "peer", info.Peer, "local", info.Local, "dns", info.DNS)
	s.emit(ServerEvent{Kind: "ipcp.up", Info: info})
}

func granted(addrs []netip.Addr, asked [2]bool) []netip.Addr {
	var out []netip.Addr
	for i, a := range addrs {
		if asked[i] {
			out = append(out, a)
		}
	}
	return out
}

func (s *ServerLink) ipcpDown() {
	s.log.Info("ppp: server: ipcp down")
	s.emitInfo("ipcp.down", nil)
}

func (s *ServerLink) ipv6cpUp() {
	h := s.ipv6cpL
	s.mu.Lock()
	s.info.IPv6Local, s.info.IPv6Peer = h.id, h.peer
	info := s.copyInfo()
	s.mu.Unlock()
	s.logIPV6CPUp(h.id, h.peer)
	s.emit(ServerEvent{Kind: "ipv6cp.up", Info: info})
}

func (s *ServerLink) ipv6cpDown() {
	s.mu.Lock()
	s.info.IPv6Local, s.info.IPv6Peer = [8]byte{}, [8]byte{}
	s.mu.Unlock()
	s.log.Info("ppp: server: ipv6cp down")
	s.emitInfo("ipv6cp.down", nil)
}
