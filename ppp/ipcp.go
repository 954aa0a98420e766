package ppp

// IPCP options (RFC 1332 section 3, RFC 1877 for DNS and NBNS).

import "net/netip"

// IPCP Configuration Option types.
const (
	ipcpIPAddresses   = 1   // RFC 1172, deprecated
	ipcpCompression   = 2   // RFC 1332 3.2 (Van Jacobson)
	ipcpIPAddress     = 3   // RFC 1332 3.3
	ipcpPrimaryDNS    = 129 // RFC 1877 1.1
	ipcpPrimaryNBNS   = 130 // RFC 1877 1.2
	ipcpSecondaryDNS  = 131 // RFC 1877 1.3
	ipcpSecondaryNBNS = 132 // RFC 1877 1.4
)

// ipcpLayer asks for an address, two DNS and two NBNS (WINS) servers, all
// 0.0.0.0 at first, takes what the server Naks, and drops what it rejects.
type ipcpLayer struct {
	l *Link

	addr     [4]byte
	sendAddr bool
	dns      [2][4]byte // primary, secondary
	sendDNS  [2]bool
	nbns     [2][4]byte // primary, secondary (RFC 1877 1.2, 1.4)
	sendNBNS [2]bool

	peer     [4]byte // the server's address from its request
	havePeer bool
}

func newIPCPLayer(l *Link) *ipcpLayer {
	return &ipcpLayer{l: l, sendAddr: true, sendDNS: [2]bool{true, true}, sendNBNS: [2]bool{true, true}}
}

var (
	ipcpDNSTypes  = [2]uint8{ipcpPrimaryDNS, ipcpSecondaryDNS}
	ipcpNBNSTypes = [2]uint8{ipcpPrimaryNBNS, ipcpSecondaryNBNS}
)

// serverOption returns the value and send flag of the DNS or NBNS option
// of type t, or nil.
func (h *ipcpLayer) serverOption(t uint8) (*[4]byte, *bool) {
	switch t {
	case ipcpPrimaryDNS:
		return &h.dns[0], &h.sendDNS[0]
	case ipcpSecondaryDNS:
		return &h.dns[1], &h.sendDNS[1]
	case ipcpPrimaryNBNS:
		return &h.nbns[0], &h.sendNBNS[0]
	case ipcpSecondaryNBNS:
		return &h.nbns[1], &h.sendNBNS[1]
	}
	return nil, nil
}

func (h *ipcpLayer) appendRequest(b []byte) []byte {
	if h.sendAddr {
		b = Option{Type: ipcpIPAddress, Data: h.addr[:]}.Append(b)
	}
	for i, t := range ipcpDNSTypes {
		if h.sendDNS[i] {
			b = Option{Type: t, Data: h.dns[i][:]}.Append(b)
		}
	}
	for i, t := range ipcpNBNSTypes {
		if h.sendNBNS[i] {
			b = Option{Type: t, Data: h.nbns[i][:]}.Append(b)
		}
	}
	return b
}

func (h *ipcpLayer) checkRequest(opts []byte, _ bool, rej []byte) (Code, []byte, error) {
	h.havePeer = false
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type == ipcpIPAddress && len(o.Data) == 4 && [4]byte(o.Data) != ([4]byte{}) {
			h.peer, h.havePeer = [4]byte(o.Data), true
			continue
		}
		// 0.0.0.0 (the server wants us to assign it an address: we
		// can't), IP-Compression-Protocol (no VJ), the NBNS and DNS
		// options (we serve neither), IP-Addresses and anything unknown.
		rej = o.Append(rej)
	}
	if len(rej) > 0 {
		return CodeConfigureReject, rej, nil
	}
	return CodeConfigureAck, nil, nil
}

func (h *ipcpLayer) gotAck([]byte) {}

func (h *ipcpLayer) gotNak(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if len(o.Data) != 4 {
			continue
		}
		switch o.Type {
		case ipcpIPAddress:
			if [4]byte(o.Data) != ([4]byte{}) {
				h.addr, h.sendAddr = [4]byte(o.Data), true
			}
		case ipcpPrimaryDNS, ipcpSecondaryDNS, ipcpPrimaryNBNS, ipcpSecondaryNBNS:
			if v, send := h.serverOption(o.Type); *send {
				*v = [4]byte(o.Data)
			}
		}
	}
	return nil
}

func (h *ipcpLayer) gotReject(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		switch o.Type {
		case ipcpIPAddress:
			h.sendAddr = false
		case ipcpPrimaryDNS, ipcpSecondaryDNS, ipcpPrimaryNBNS, ipcpSecondaryNBNS:
			// Dropped quietly: servers without them reject them.
			_, send := h.serverOption(o.Type)
			*send = false
		}
	}
	return nil
}

// localAddr is our acked address, if the server gave us one.
func (h *ipcpLayer) localAddr() (netip.Addr, bool) {
	if !h.sendAddr || h.addr == ([4]byte{}) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(h.addr), true
}

// dnsAddrs lists the non-zero DNS servers the server gave us.
func (h *ipcpLayer) dnsAddrs() []netip.Addr { return servers(h.dns, h.sendDNS) }

// winsAddrs lists the non-zero NBNS (WINS) servers the server gave us.
func (h *ipcpLayer) winsAddrs() []netip.Addr { return servers(h.nbns, h.sendNBNS) }

func servers(addrs [2][4]byte, acked [2]bool) []netip.Addr {
	var out []netip.Addr
	for i := range addrs {
		if acked[i] && addrs[i] != ([4]byte{}) {
			out = append(out, netip.AddrFrom4(addrs[i]))
		}
	}
	return out
}

func (h *ipcpLayer) up()                    { h.l.ipcpUp() }
func (h *ipcpLayer) down()                  { h.l.ipcpDown() }
func (h *ipcpLayer) started()               {}
func (h *ipcpLayer) finished(reason string) { h.l.ipcpFinished(reason) }
