package ppp

// IPCP (RFC 1332, RFC 1877) on the authenticator's side: we hand out the
// address, DNS and NBNS servers the supervisor gave us. (IPV6CP is shared
// with the client: ipv6cp.go, with ServerConfig.LocalID and PeerID.)

import (
	"net/netip"
)

// serverIPCP sends our own address (if configured) and judges the
// client's: its IP-Address must be the one assigned to it (0.0.0.0, or any
// other, is Nak'd with it; RFC 1332 3.3), a request without one is Nak'd
// with it too (RFC 1661 5.3 allows a Nak to suggest options), and the DNS
// and NBNS options (RFC 1877) get the configured servers or are rejected
// when none is configured. IP-Compression-Protocol (no Van Jacobson here),
// the old IP-Addresses option and anything unknown are rejected.
type serverIPCP struct {
	s *ServerLink

	sendAddr bool    // our request carries LocalIP
	dns      [2]bool // the client's last request asked for DNS i and got it
	wins     [2]bool
}

func (h *serverIPCP) appendRequest(b []byte) []byte {
	if h.sendAddr {
		a := h.s.cfg.LocalIP.As4()
		b = Option{Type: ipcpIPAddress, Data: a[:]}.Append(b)
	}
	return b
}

// assigned returns the address we give for option type t, if any.
func (h *serverIPCP) assigned(t uint8) (netip.Addr, bool) {
	c := &h.s.cfg
	var list []netip.Addr
	i := 0
	switch t {
	case ipcpIPAddress:
		return c.PeerIP, c.PeerIP.Is4()
	case ipcpPrimaryDNS:
		list = c.DNS
	case ipcpSecondaryDNS:
		list, i = c.DNS, 1
	case ipcpPrimaryNBNS:
		list = c.WINS
	case ipcpSecondaryNBNS:
		list, i = c.WINS, 1
	default:
		return netip.Addr{}, false
	}
	if i < len(list) && list[i].Is4() {
		return list[i], true
	}
	return netip.Addr{}, false
}

func (h *serverIPCP) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	var nak []byte
	h.dns, h.wins = [2]bool{}, [2]bool{}
	sawAddr := false
	for o := range options(opts) {
		want, ok := h.assigned(o.Type)
		if !ok || len(o.Data) != 4 {
			rej = o.Append(rej)
			continue
		}
		if o.Type == ipcpIPAddress {
			sawAddr = true
		}
		if netip.AddrFrom4([4]byte(o.Data)) != want {
			if rejectNaks {
				rej = o.Append(rej)
				continue
			}
			v := want.As4()
			nak = Option{Type: o.Type, Data: v[:]}.Append(nak)
			continue
		}
		switch o.Type {
		case ipcpPrimaryDNS:
			h.dns[0] = true
		case ipcpSecondaryDNS:
			h.dns[1] = true
		case ipcpPrimaryNBNS:
			h.wins[0] = true
		case ipcpSecondaryNBNS:
			h.wins[1] = true
		}
	}
	if !sawAddr && !rejectNaks {
		if want, ok := h.assigned(ipcpIPAddress); ok {
			v := want.As4()
			nak = Option{Type: ipcpIPAddress, Data: v[:]}.Append(nak)
		}
	}
	return verdict(rej, nak)
}

func (h *serverIPCP) gotAck([]byte) {}

// gotNak: the client would like us to use another address. Ours is fixed;
// we keep asking for it (the automaton gives up after MaxConfigure
// refusals).
func (h *serverIPCP) gotNak([]byte) error { return nil }

func (h *serverIPCP) gotReject(opts []byte) error {
	for o := range options(opts) {
		if o.Type == ipcpIPAddress {
			h.sendAddr = false
		}
	}
	return nil
}

func (h *serverIPCP) up() {
	if !h.s.cfg.PeerIP.Is4() {
		h.s.fail(&NegotiationError{Protocol: ProtoIPCP, Reason: "no IPv4 address to assign to the client"})
		return
	}
	h.s.ipcpUp()
}
func (h *serverIPCP) down()                  { h.s.ipcpDown() }
func (h *serverIPCP) started()               {}
func (h *serverIPCP) finished(reason string) { h.s.ipcpFinished(reason) }
