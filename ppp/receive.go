package ppp

import (
	"context"
	"encoding/binary"
	"log/slog"
)

// receive dispatches one control frame by protocol (RFC 1661 sections 3.2
// and 5.7): LCP always, authentication once LCP is Opened, NCPs in the
// Network phase only, CCP to the role (the authenticator Protocol-Rejects
// it), anything else gets a Protocol-Reject once LCP is Opened.
func (c *linkCore) receive(f frame) {
	if f.sync != nil {
		close(f.sync)
		return
	}
	switch f.proto {
	case ProtoLCP:
		p, err := ParsePacket(f.info)
		if err != nil {
			c.malformed(f.proto, err)
			return
		}
		c.logPacket("received", f.proto, f.info)
		c.lcp.input(p)
	case ProtoPAP, ProtoCHAP:
		if c.lcp.state != stateOpened {
			c.drop(f.proto, "LCP is not open")
			return
		}
		c.logPacket("received", f.proto, f.info)
		c.role.authInput(f.proto, f.info)
	case ProtoIPCP:
		c.ncpInput(c.ipcp, f)
	case ProtoIPV6CP:
		if c.ipv6cp == nil {
			c.protocolReject(f)
			return
		}
		c.ncpInput(c.ipv6cp, f)
	case ProtoCCP:
		c.role.ccpInput(f)
	case ProtoIPv4, ProtoIPv6, ProtoMPPE:
		c.drop(f.proto, "data frame on the control path")
	default:
		c.protocolReject(f)
	}
}

func (c *linkCore) ncpInput(a *automaton, f frame) {
	p, err := ParsePacket(f.info)
	if err != nil {
		c.malformed(f.proto, err)
		return
	}
	c.role.beforeNCP(f.proto, p)
	if c.phase != phaseNetwork {
		// RFC 1661 3.5: NCP packets before the Network phase are
		// silently discarded; the peer repeats them.
		c.drop(f.proto, "not in the Network phase")
		return
	}
	c.logPacket("received", f.proto, f.info)
	a.input(p)
}

// protocolReject answers a frame of a protocol we do not run (RFC 1661
// section 5.7): the rejected protocol and as much of the information field
// as fits the peer's MRU.
func (c *linkCore) protocolReject(f frame) {
	if c.lcp.state != stateOpened {
		c.drop(f.proto, "unknown protocol before LCP is open")
		return
	}
	c.stats.protocolRejects.Add(1)
	info := f.info
	if max := int(c.lcpOpts.peerMRU) - packetHeaderLen - 2; len(info) > max {
		info = info[:max]
	}
	data := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(info)), uint16(f.proto))
	data = append(data, info...)
	c.sendPacket(ProtoLCP, Packet{Code: CodeProtocolReject, ID: c.lcp.newID(), Data: data})
}

// sendPacket sends an LCP, IPCP, IPV6CP or CCP packet (the automaton's
// host).
func (c *linkCore) sendPacket(proto Protocol, p Packet) {
	if p.Code == CodeCodeReject {
		c.stats.codeRejects.Add(1)
	}
	c.sendFrame(proto, appendFrame(make([]byte, 0, 2+p.Len()), proto, p))
}

// sendFrame sends a complete control frame (protocol + information).
func (c *linkCore) sendFrame(proto Protocol, b []byte) {
	c.logPacket("sending", proto, b[2:])
	if err := c.send(b); err != nil {
		c.stats.sendErrors.Add(1)
		c.log.Debug(c.tr.log+"send failed", "proto", proto, "err", err)
	}
}

// malformed counts an undecodable packet (the automaton's host).
func (c *linkCore) malformed(proto Protocol, err error) {
	c.stats.malformed.Add(1)
	c.log.Debug(c.tr.log+"malformed packet", "proto", proto, "err", err)
}

func (c *linkCore) drop(proto Protocol, why string) {
	c.stats.dropped.Add(1)
	c.log.Debug(c.tr.log+"dropping frame", "proto", proto, "phase", c.phase, "why", why)
}

// logPacket writes the Debug line for one control message.
func (c *linkCore) logPacket(dir string, proto Protocol, info []byte) {
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug(c.tr.log + dir + " " + describe(proto, info))
	}
}
