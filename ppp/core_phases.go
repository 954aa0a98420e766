package ppp

// The link phases (RFC 1661 section 3.2) as far as both roles go through
// them alike, driven by the This-Layer-* actions of LCP and the NCPs, and
// the link's random source.

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
)

// lcpDown: LCP left Opened; everything above it goes down.
func (c *linkCore) lcpDown() {
	c.echoStop()
	c.ipcp.step(evDown)
	if c.ipv6cp != nil {
		c.ipv6cp.step(evDown)
	}
	c.role.lowerDown()
	if c.phase != phaseTerminate {
		c.phase = phaseEstablish
	}
	c.log.Info(c.tr.log + "lcp down")
	c.role.event("lcp.down")
}

// lcpFinished: LCP is done with the link; Run returns.
func (c *linkCore) lcpFinished(reason string) {
	if !c.closeIssued {
		if reason == "" {
			reason = "LCP finished"
		}
		c.setErr(&NegotiationError{Protocol: ProtoLCP, Reason: reason})
	}
	c.finished = true
}

// peerTerminated: the peer sent a Terminate-Request, which the automaton
// acked. Unless we are closing ourselves, Run returns at once.
func (c *linkCore) peerTerminated(p Packet) {
	if c.closeIssued || c.pendingClose {
		return
	}
	c.failNow(c.role.terminateError(printable(p.Data)))
}

// startNCPs enters the Network phase and starts IPCP and IPV6CP (RFC 1661
// section 3.5).
func (c *linkCore) startNCPs() {
	c.phase = phaseNetwork
	c.ipcp.step(evOpen)
	c.ipcp.step(evUp)
	if c.ipv6cp != nil {
		c.ipv6cp.step(evOpen)
		c.ipv6cp.step(evUp)
	}
}

// ipcpOpened records that IPCP is up (the role has stored what it
// negotiated); the first time it releases WaitUp.
func (c *linkCore) ipcpOpened() {
	c.mu.Lock()
	first := !c.up
	c.up = true
	c.mu.Unlock()
	if first {
		close(c.upCh)
	}
}

func (c *linkCore) ipcpFinished(reason string) {
	if c.closeIssued || c.pendingClose {
		return
	}
	if reason == "" {
		reason = "IPCP finished"
	}
	c.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: reason})
}

func (c *linkCore) ipv6cpFinished(reason string) {
	if reason != "" && !c.closeIssued {
		c.log.Info(c.tr.log+"ipv6cp not available", "reason", reason)
	}
}

// logIPV6CPUp writes the Info line for IPV6CP's Up.
func (c *linkCore) logIPV6CPUp(id, peer [8]byte) {
	c.log.Info(c.tr.log+"ipv6cp up", "local_id", netip.AddrFrom16(linkLocal(id)), "peer_id", netip.AddrFrom16(linkLocal(peer)))
}

func linkLocal(id [8]byte) [16]byte {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	copy(b[8:], id[:])
	return b
}

// randBytes fills b from the configured random source. A failing source is
// a fatal error for the link.
func (c *linkCore) randBytes(b []byte) {
	if _, err := io.ReadFull(c.shared.Rand, b); err != nil {
		c.fail(errors.New("ppp: random source failed: " + err.Error()))
	}
}

// randUint32 returns a random non-zero number (Magic-Number).
func (c *linkCore) randUint32() uint32 {
	var b [4]byte
	for range 8 {
		c.randBytes(b[:])
		if v := binary.BigEndian.Uint32(b[:]); v != 0 {
			return v
		}
	}
	c.randFallback++ // a broken source: still never zero, never repeating
	return 0x5eed0000 | uint32(c.randFallback)
}

// randID returns a random non-zero 8-byte interface identifier.
func (c *linkCore) randID() [8]byte {
	var b [8]byte
	for range 8 {
		c.randBytes(b[:])
		if b != ([8]byte{}) {
			return b
		}
	}
	binary.BigEndian.PutUint32(b[4:], c.randUint32())
	return b
}
