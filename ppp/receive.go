package ppp

import (
	"context"
	"encoding/binary"
	"log/slog"
)

// receive dispatches one control frame by protocol (RFC 1661 sections 3.2
// and 5.7): LCP always, authentication once LCP is Opened, NCPs in the
// Network phase only, anything else gets a Protocol-Reject once LCP is
// Opened.
func (l *Link) receive(f frame) {
	if f.sync != nil {
		close(f.sync)
		return
	}
	switch f.proto {
	case ProtoLCP:
		p, err := ParsePacket(f.info)
		if err != nil {
			l.malformed(f.proto, err)
			return
		}
		l.logPacket("received", f.proto, f.info)
		l.lcp.input(p)
	case ProtoPAP, ProtoCHAP:
		if l.lcp.state != stateOpened {
			l.drop(f.proto, "LCP is not open")
			return
		}
		l.logPacket("received", f.proto, f.info)
		l.authInput(f.proto, f.info)
	case ProtoIPCP:
		l.ncpInput(l.ipcp, f)
	case ProtoIPV6CP:
		if l.ipv6cp == nil {
			l.protocolReject(f)
			return
		}
		l.ncpInput(l.ipv6cp, f)
	case ProtoCCP:
		l.ccpInput(f)
	case ProtoIPv4, ProtoIPv6, ProtoMPPE:
		l.drop(f.proto, "data frame on the control path")
	default:
		l.protocolReject(f)
	}
}

func (l *Link) ncpInput(a *automaton, f frame) {
	p, err := ParsePacket(f.info)
	if err != nil {
		l.malformed(f.proto, err)
		return
	}
	if l.phase == phaseAuthenticate && p.Code == CodeConfigureRequest && l.auth.impliedSuccess() {
		l.log.Info("ppp: the server started its network protocols without our seeing its Success (lost): taking it as authenticated",
			"method", l.auth.method)
		l.authSucceeded()
	}
	if l.phase != phaseNetwork {
		l.drop(f.proto, "not in the Network phase")
		return
	}
	l.logPacket("received", f.proto, f.info)
	a.input(p)
}

// protocolReject answers a frame of a protocol we do not run (RFC 1661
// section 5.7): the rejected protocol and as much of the information field
// as fits the peer's MRU.
func (l *Link) protocolReject(f frame) {
	if l.lcp.state != stateOpened {
		l.drop(f.proto, "unknown protocol before LCP is open")
		return
	}
	l.stats.protocolRejects.Add(1)
	info := f.info
	if max := int(l.lcpL.peerMRU) - packetHeaderLen - 2; len(info) > max {
		info = info[:max]
	}
	data := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(info)), uint16(f.proto))
	data = append(data, info...)
	l.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: l.lcp.newID(), Data: data})
}

// sendPacket sends an LCP, IPCP or IPV6CP packet.
func (l *Link) sendPacket(proto Protocol, p Packet) {
	if p.Code == CodeCodeReject {
		l.stats.codeRejects.Add(1)
	}
	l.sendFrame(proto, appendFrame(make([]byte, 0, 2+p.Len()), proto, p))
}

// sendFrame sends a complete control frame (protocol + information).
func (l *Link) sendFrame(proto Protocol, b []byte) {
	l.logPacket("sending", proto, b[2:])
	if err := l.send(b); err != nil {
		l.stats.sendErrors.Add(1)
		l.log.Debug("ppp: send failed", "proto", proto, "err", err)
	}
}

func (l *Link) malformed(proto Protocol, err error) {
	l.stats.malformed.Add(1)
	l.log.Debug("ppp: malformed packet", "proto", proto, "err", err)
}

func (l *Link) drop(proto Protocol, why string) {
	l.stats.dropped.Add(1)
	l.log.Debug("ppp: dropping frame", "proto", proto, "phase", l.phase, "why", why)
}

// logPacket writes the Debug line for one control message.
func (l *Link) logPacket(dir string, proto Protocol, info []byte) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("ppp: " + dir + " " + describe(proto, info))
	}
}
