package ppp

// The ServerLink's phases (RFC 1661 section 3.2) and its receive path.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/netip"
)

// receive dispatches one control frame by protocol (RFC 1661 sections 3.2
// and 5.7): LCP always, PAP and CHAP once LCP is Opened, the NCPs in the
// Network phase only, and a Protocol-Reject for anything else once LCP is
// Opened (CCP included: no MPPE on this side).
func (s *ServerLink) receive(f frame) {
	if f.sync != nil {
		close(f.sync)
		return
	}
	switch f.proto {
	case ProtoLCP:
		p, err := ParsePacket(f.info)
		if err != nil {
			s.malformed(f.proto, err)
			return
		}
		s.logPacket("received", f.proto, f.info)
		s.lcp.input(p)
	case ProtoPAP, ProtoCHAP:
		if s.lcp.state != stateOpened {
			s.drop(f.proto, "LCP is not open")
			return
		}
		s.logPacket("received", f.proto, f.info)
		s.authInput(f.proto, f.info)
	case ProtoIPCP:
		s.ncpInput(s.ipcp, f)
	case ProtoIPV6CP:
		if s.ipv6cp == nil {
			s.protocolReject(f)
			return
		}
		s.ncpInput(s.ipv6cp, f)
	case ProtoIPv4, ProtoIPv6, ProtoMPPE:
		s.drop(f.proto, "data frame on the control path")
	default:
		s.protocolReject(f)
	}
}

func (s *ServerLink) ncpInput(a *automaton, f frame) {
	p, err := ParsePacket(f.info)
	if err != nil {
		s.malformed(f.proto, err)
		return
	}
	if s.phase != phaseNetwork {
		// RFC 1661 3.5: NCP packets before the Network phase are
		// silently discarded; the client repeats them.
		s.drop(f.proto, "not in the Network phase")
		return
	}
	s.logPacket("received", f.proto, f.info)
	a.input(p)
}

// protocolReject answers a frame of a protocol we do not run (RFC 1661
// section 5.7), truncated to the client's MRU.
func (s *ServerLink) protocolReject(f frame) {
	if s.lcp.state != stateOpened {
		s.drop(f.proto, "unknown protocol before LCP is open")
		return
	}
	s.stats.protocolRejects.Add(1)
	info := f.info
	if max := int(s.lcpL.peerMRU) - packetHeaderLen - 2; len(info) > max {
		info = info[:max]
	}
	data := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(info)), uint16(f.proto))
	data = append(data, info...)
	s.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: s.lcp.newID(), Data: data})
}

// sendPacket sends an LCP, IPCP or IPV6CP packet (the automaton's host).
func (s *ServerLink) sendPacket(proto Protocol, p Packet) {
	if p.Code == CodeCodeReject {
		s.stats.codeRejects.Add(1)
	}
	s.sendFrame(proto, appendFrame(make([]byte, 0, 2+p.Len()), proto, p))
}

func (s *ServerLink) sendFrame(proto Protocol, b []byte) {
	s.logPacket("sending", proto, b[2:])
	if err := s.send(b); err != nil {
		s.stats.sendErrors.Add(1)
		s.log.Debug("ppp: server: send failed", "proto", proto, "err", err)
	}
}

// malformed counts an undecodable packet (the automaton's host). A layer
// that finds the negotiation cannot converge (the client refuses every
// authentication method we allow) reports it the same way, as an error
// wrapping ErrNegotiation: that one fails the link instead.
func (s *ServerLink) malformed(proto Protocol, err error) {
	if errors.Is(err, ErrNegotiation) {
		s.fail(err)
		return
	}
	s.stats.malformed.Add(1)
	s.log.Debug("ppp: server: malformed packet", "proto", proto, "err", err)
}

func (s *ServerLink) drop(proto Protocol, why string) {
	s.stats.dropped.Add(1)
	s.log.Debug("ppp: server: dropping frame", "proto", proto, "phase", s.phase, "why", why)
}

func (s *ServerLink) logPacket(dir string, proto Protocol, info []byte) {
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("ppp: server: " + dir + " " + describe(proto, info))
	}
}

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

// lcpDown: LCP left Opened; everything above it goes down.
func (s *ServerLink) lcpDown() {
	s.echo.t.stop()
	s.authStop()
	s.ipcp.step(evDown)
	if s.ipv6cp != nil {
		s.ipv6cp.step(evDown)
	}
	if s.phase != phaseTerminate {
		s.phase = phaseEstablish
	}
	s.log.Info("ppp: server: lcp down")
	s.emitInfo("lcp.down", nil)
}

func (s *ServerLink) lcpFinished(reason string) {
	if !s.closeIssued {
		if reason == "" {
			reason = "LCP finished"
		}
		s.setErr(&NegotiationError{Protocol: ProtoLCP, Reason: reason})
	}
	s.finished = true
}

// peerTerminated: the client sent a Terminate-Request, which the automaton
// acked. Unless we are closing ourselves, Run returns at once.
func (s *ServerLink) peerTerminated(p Packet) {
	if s.closeIssued || s.pendingClose {
		return
	}
	s.failNow(&ClientTerminateError{Reason: printable(p.Data)})
}

// enterNetwork starts the NCPs (RFC 1661 section 3.5).
func (s *ServerLink) enterNetwork() {
	s.phase = phaseNetwork
	s.ipcp.step(evOpen)
	s.ipcp.step(evUp)
	if s.ipv6cp != nil {
		s.ipv6cp.step(evOpen)
		s.ipv6cp.step(evUp)
	}
}

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
	first := !s.up
	s.up = true
	info := s.copyInfo()
	s.mu.Unlock()
	if first {
		close(s.upCh)
	}
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

func (s *ServerLink) ipcpFinished(reason string) {
	if s.closeIssued || s.pendingClose {
		return
	}
	if reason == "" {
		reason = "IPCP finished"
	}
	s.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: reason})
}

func (s *ServerLink) ipv6cpUp() {
	h := s.ipv6cpL
	s.mu.Lock()
	s.info.IPv6Local, s.info.IPv6Peer = h.id, h.peer
	info := s.copyInfo()
	s.mu.Unlock()
	s.log.Info("ppp: server: ipv6cp up", "local_id", netip.AddrFrom16(linkLocal(h.id)), "peer_id", netip.AddrFrom16(linkLocal(h.peer)))
	s.emit(ServerEvent{Kind: "ipv6cp.up", Info: info})
}

func (s *ServerLink) ipv6cpDown() {
	s.mu.Lock()
	s.info.IPv6Local, s.info.IPv6Peer = [8]byte{}, [8]byte{}
	s.mu.Unlock()
	s.log.Info("ppp: server: ipv6cp down")
	s.emitInfo("ipv6cp.down", nil)
}

func (s *ServerLink) ipv6cpFinished(reason string) {
	if reason != "" && !s.closeIssued {
		s.log.Info("ppp: server: ipv6cp not available", "reason", reason)
	}
}

// randBytes fills b from the configured random source; a failing source
// fails the link.
func (s *ServerLink) randBytes(b []byte) {
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		s.fail(errors.New("ppp: random source failed: " + err.Error()))
	}
}

// randUint32 returns a random non-zero number (Magic-Number).
func (s *ServerLink) randUint32() uint32 {
	var b [4]byte
	for range 8 {
		s.randBytes(b[:])
		if v := binary.BigEndian.Uint32(b[:]); v != 0 {
			return v
		}
	}
	s.randFallback++
	return 0x5eed0000 | uint32(s.randFallback)
}

// randID returns a random non-zero 8-byte interface identifier.
func (s *ServerLink) randID() [8]byte {
	var b [8]byte
	for range 8 {
		s.randBytes(b[:])
		if b != ([8]byte{}) {
			return b
		}
	}
	binary.BigEndian.PutUint32(b[4:], s.randUint32())
	return b
}
