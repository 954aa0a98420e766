package ike

// The NAT Original Address payload, RFC 3947 5.2:
//
//	!    ID Type    !   RESERVED    !            RESERVED           !
//	~           IPv4 (4 octets) or IPv6 address (16 octets)         ~
//
// Drafts 02/03 use payload number 131 instead of 21.

import "net/netip"

// NATOA is a NAT-OA payload.
type NATOA struct {
	Draft bool // payload type 131 instead of 21
	Addr  netip.Addr
}

// Type returns PayloadNATOA or, for Draft, PayloadNATOADraft.
func (p *NATOA) Type() PayloadType {
	if p.Draft {
		return PayloadNATOADraft
	}
	return PayloadNATOA
}

// AppendBody appends the ID type, the reserved bytes and the address. An
// IPv4-mapped IPv6 address stays IPv6 (16 bytes), as it was decoded; the
// session unmaps its own addresses before they get here.
func (p *NATOA) AppendBody(b []byte) []byte {
	a := p.Addr
	t := IDIPv4Addr
	if !a.Is4() {
		t = IDIPv6Addr
	}
	b = append(b, byte(t), 0, 0, 0)
	return append(b, a.AsSlice()...)
}

func parseNATOA(t PayloadType, b []byte) (*NATOA, error) {
	if len(b) < 4 {
		return nil, malformed(t, "%d bytes, shorter than its fixed part", len(b))
	}
	p := &NATOA{Draft: t == PayloadNATOADraft}
	switch id, a := IDType(b[0]), b[4:]; {
	case id == IDIPv4Addr && len(a) == 4:
		p.Addr = netip.AddrFrom4([4]byte(a))
	case id == IDIPv6Addr && len(a) == 16:
		p.Addr = netip.AddrFrom16([16]byte(a))
	default:
		return nil, malformed(t, "%s with %d address bytes", id, len(a))
	}
	if b[1] != 0 || b[2] != 0 || b[3] != 0 {
		return nil, malformed(t, "reserved bytes not zero")
	}
	return p, nil
}
