package esp

import "net/netip"

// L2TPPort is L2TP's UDP port, the one L2TP/IPsec's SAs protect (RFC 3193
// section 4).
const L2TPPort = 1701

// Inner is what surrounds each L2TP datagram inside the ESP payload of one
// SA pair: the inner UDP header and, in tunnel mode, an inner IPv4 or IPv6
// header. The client, the server and the probe all frame their datagrams
// with it, so the layout lives in one place.
type Inner struct {
	Mode Mode
	// Local and Peer are the SA's endpoints as the sender sees them: the
	// inner IP header's addresses in tunnel mode, and the addresses of
	// the UDP checksum over IPv6 (where it is mandatory, RFC 8200 section
	// 8.1). Both IPv4 or both IPv6.
	Local, Peer netip.Addr
	// LocalPort and PeerPort are the inner UDP ports: 1701 both for the
	// client; the server answers the client's port.
	LocalPort, PeerPort uint16
}

// IPLen is the length of the inner IP header: 0 in transport mode.
func (in *Inner) IPLen() int {
	switch {
	case in.Mode != Tunnel:
		return 0
	case in.Peer.Is6():
		return IPv6HeaderLen
	}
	return IPv4HeaderLen
}

// Len is the length of everything Frame writes before a datagram.
func (in *Inner) Len() int { return in.IPLen() + UDPHeaderLen }

// Frame writes the inner headers before the L2TP datagram buf[off:off+n]
// and returns where the ESP payload starts and its next header (UDP, or
// IPv4/IPv6 in tunnel mode), ready for SA.Seal. It does not allocate and is
// safe for concurrent use on different buffers.
func (in *Inner) Frame(buf []byte, off, n int) (start int, next byte, err error) {
	start = off - UDPHeaderLen
	if start < 0 || off+n > cap(buf) {
		return 0, 0, ErrBufferSpace
	}
	v6 := in.Peer.Is6()
	if v6 {
		err = PutUDPChecksum(buf[start:], in.Local, in.Peer, in.LocalPort, in.PeerPort, n)
	} else {
		err = PutUDP(buf[start:], in.LocalPort, in.PeerPort, n)
	}
	if err != nil {
		return 0, 0, err
	}
	hl := in.IPLen()
	if hl == 0 {
		return start, NextHeaderUDP, nil
	}
	start -= hl
	if start < 0 {
		return 0, 0, ErrBufferSpace
	}
	if v6 {
		return start, NextHeaderIPv6, PutIPv6UDP(buf[start:], in.Local, in.Peer, hl+UDPHeaderLen+n)
	}
	return start, NextHeaderIPv4, PutIPv4UDP(buf[start:], in.Local, in.Peer, hl+UDPHeaderLen+n)
}

// Unframe checks the inner headers of a payload SA.Open returned with its
// next header, as sent by Peer to LocalPort, and returns the L2TP datagram
// and the sender's UDP port. ok is false for anything else: another next
// header, an inner IP header from another address, not UDP, another
// destination port.
func (in *Inner) Unframe(payload []byte, next byte) (d []byte, srcPort uint16, ok bool) {
	if in.Mode == Tunnel {
		switch {
		case next == NextHeaderIPv4 && in.Peer.Is4():
			payload, ok = ParseIPv4UDP(payload, in.Peer)
		case next == NextHeaderIPv6 && in.Peer.Is6():
			payload, ok = ParseIPv6UDP(payload, in.Peer)
		}
		if !ok {
			return nil, 0, false
		}
	} else if next != NextHeaderUDP {
		return nil, 0, false
	}
	h, d, err := ParseUDP(payload)
	if err != nil || h.DstPort != in.LocalPort {
		return nil, 0, false
	}
	return d, h.SrcPort, true
}
