package ike

// The NAT-Discovery payload, RFC 3947 3.2: the body is
// HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash. Peers that
// negotiated one of the drafts use the private payload number 130 instead
// of 20 (draft-ietf-ipsec-nat-t-ike-02/03).

import (
	"encoding/binary"
	"net/netip"
)

// NATD is a NAT-D payload. Hash aliases the input when decoded.
type NATD struct {
	Draft bool // payload type 130 instead of 20
	Hash  []byte
}

// Type returns PayloadNATD or, for Draft, PayloadNATDDraft.
func (p *NATD) Type() PayloadType {
	if p.Draft {
		return PayloadNATDDraft
	}
	return PayloadNATD
}

// AppendBody appends the hash.
func (p *NATD) AppendBody(b []byte) []byte { return append(b, p.Hash...) }

func parseNATD(t PayloadType, b []byte) (*NATD, error) {
	if len(b) == 0 {
		return nil, malformed(t, "empty hash")
	}
	return &NATD{Draft: t == PayloadNATDDraft, Hash: b}, nil
}

// natdHash is HASH(CKY-I | CKY-R | IP | Port): IP is 4 bytes for an IPv4
// address (also an IPv4-mapped one), 16 for IPv6.
func natdHash(h HashAlg, ckyI, ckyR [8]byte, ip netip.Addr, port uint16) []byte {
	d := h.New()
	d.Write(ckyI[:])
	d.Write(ckyR[:])
	d.Write(ip.Unmap().AsSlice())
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], port)
	d.Write(p[:])
	return d.Sum(nil)
}
