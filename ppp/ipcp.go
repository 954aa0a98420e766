package ppp

// IPCP options (RFC 1332 section 3, RFC 1877 for DNS).

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

// ipcpLayer asks for an address and two DNS servers, all 0.0.0.0 at first,
// takes what the server Naks, and drops what it rejects.
type ipcpLayer struct {
	l *Link

	addr     [4]byte
	sendAddr bool
	dns      [2][4]byte // primary, secondary
	sendDNS  [2]bool

	peer     [4]byte // the server's address from its request
	havePeer bool
}

func newIPCPLayer(l *Link) *ipcpLayer {
	return &ipcpLayer{l: l, sendAddr: true, sendDNS: [2]bool{true, true}}
}

var ipcpDNSTypes = [2]uint8{ipcpPrimaryDNS, ipcpSecondaryDNS}

func (h *ipcpLayer) appendRequest(b []byte) []byte {
	if h.sendAddr {
		b = Option{Type: ipcpIPAddress, Data: h.addr[:]}.Append(b)
	}
	for i, t := range ipcpDNSTypes {
		if h.sendDNS[i] {
			b = Option{Type: t, Data: h.dns[i][:]}.Append(b)
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
		case ipcpPrimaryDNS, ipcpSecondaryDNS:
			i := 0
			if o.Type == ipcpSecondaryDNS {
				i = 1
			}
			if h.sendDNS[i] {
				h.dns[i] = [4]byte(o.Data)
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
		case ipcpPrimaryDNS:
			h.sendDNS[0] = false
		case ipcpSecondaryDNS:
			h.sendDNS[1] = false
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
func (h *ipcpLayer) dnsAddrs() []netip.Addr {
	var out []netip.Addr
	for i := range h.dns {
		if h.sendDNS[i] && h.dns[i] != ([4]byte{}) {
			out = append(out, netip.AddrFrom4(h.dns[i]))
		}
	}
	return out
}

func (h *ipcpLayer) up()                    { h.l.ipcpUp() }
func (h *ipcpLayer) down()                  { h.l.ipcpDown() }
func (h *ipcpLayer) started()               {}
func (h *ipcpLayer) finished(reason string) { h.l.ipcpFinished(reason) }
