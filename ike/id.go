package ike

// The Identification payload, RFC 2408 3.8 with the IPsec DOI layout of
// RFC 2407 4.6.2:
//
//	!  ID Type      !  Protocol ID  !             Port              !
//	~                     Identification Data                       ~
//
// In phase 1 the body is IDii_b / IDir_b of RFC 2409 5; in Quick Mode the two
// ID payloads are the traffic selectors (client IDs, RFC 2409 5.5).

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// IDType is the identification type (RFC 2407 4.6.2.1).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr       IDType = 1
	IDFQDN           IDType = 2
	IDUserFQDN       IDType = 3
	IDIPv4AddrSubnet IDType = 4
	IDIPv6Addr       IDType = 5
	IDIPv6AddrSubnet IDType = 6
	IDIPv4AddrRange  IDType = 7
	IDIPv6AddrRange  IDType = 8
	IDDERASN1DN      IDType = 9
	IDDERASN1GN      IDType = 10
	IDKeyID          IDType = 11
)

var idNames = [...]string{
	"ID_RESERVED", "ID_IPV4_ADDR", "ID_FQDN", "ID_USER_FQDN", "ID_IPV4_ADDR_SUBNET",
	"ID_IPV6_ADDR", "ID_IPV6_ADDR_SUBNET", "ID_IPV4_ADDR_RANGE", "ID_IPV6_ADDR_RANGE",
	"ID_DER_ASN1_DN", "ID_DER_ASN1_GN", "ID_KEY_ID",
}

func (t IDType) String() string {
	if int(t) < len(idNames) {
		return idNames[t]
	}
	return "ID(" + strconv.Itoa(int(t)) + ")"
}

// dataLen is the fixed data length of the address types, 0 for the others.
func (t IDType) dataLen() int {
	switch t {
	case IDIPv4Addr:
		return 4
	case IDIPv4AddrSubnet, IDIPv4AddrRange:
		return 8
	case IDIPv6Addr:
		return 16
	case IDIPv6AddrSubnet, IDIPv6AddrRange:
		return 32
	}
	return 0
}

// Identification is the ID payload. Data aliases the input when decoded.
type Identification struct {
	IDType   IDType
	Protocol uint8 // IP protocol, 0 = any (17 = UDP for L2TP)
	Port     uint16
	Data     []byte
}

// Type returns PayloadID.
func (p *Identification) Type() PayloadType { return PayloadID }

// AppendBody appends the ID body; it is IDii_b / IDir_b for phase 1 hashes.
func (p *Identification) AppendBody(b []byte) []byte {
	b = append(b, byte(p.IDType), p.Protocol)
	b = binary.BigEndian.AppendUint16(b, p.Port)
	return append(b, p.Data...)
}

func parseID(b []byte) (*Identification, error) {
	if len(b) < 4 {
		return nil, malformed(PayloadID, "%d bytes, shorter than its fixed part", len(b))
	}
	p := &Identification{
		IDType:   IDType(b[0]),
		Protocol: b[1],
		Port:     binary.BigEndian.Uint16(b[2:4]),
		Data:     b[4:],
	}
	if n := p.IDType.dataLen(); n != 0 && len(p.Data) != n {
		return nil, malformed(PayloadID, "%s with %d data bytes, want %d", p.IDType, len(p.Data), n)
	}
	if p.IDType == IDReserved || len(p.Data) == 0 {
		return nil, malformed(PayloadID, "%s with %d data bytes", p.IDType, len(p.Data))
	}
	return p, nil
}

// IDReserved is the reserved identification type 0.
const IDReserved IDType = 0

// Addr returns the address of an ID_IPV4_ADDR or ID_IPV6_ADDR.
func (p *Identification) Addr() (netip.Addr, bool) {
	switch {
	case p.IDType == IDIPv4Addr && len(p.Data) == 4:
		return netip.AddrFrom4([4]byte(p.Data)), true
	case p.IDType == IDIPv6Addr && len(p.Data) == 16:
		return netip.AddrFrom16([16]byte(p.Data)), true
	}
	return netip.Addr{}, false
}

// Prefix returns the subnet of an ID_IPV4_ADDR_SUBNET / ID_IPV6_ADDR_SUBNET
// (address and mask), or a single address as a full-length prefix. ok is
// false for other types and for masks that are not contiguous.
func (p *Identification) Prefix() (netip.Prefix, bool) {
	if a, ok := p.Addr(); ok {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	var addr netip.Addr
	var mask []byte
	switch {
	case p.IDType == IDIPv4AddrSubnet && len(p.Data) == 8:
		addr, mask = netip.AddrFrom4([4]byte(p.Data[:4])), p.Data[4:]
	case p.IDType == IDIPv6AddrSubnet && len(p.Data) == 32:
		addr, mask = netip.AddrFrom16([16]byte(p.Data[:16])), p.Data[16:]
	default:
		return netip.Prefix{}, false
	}
	bits, ok := maskBits(mask)
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, bits), true
}

func maskBits(mask []byte) (int, bool) {
	bits := 0
	for i, c := range mask {
		if c == 0xff {
			bits += 8
			continue
		}
		for c&0x80 != 0 {
			bits++
			c <<= 1
		}
		if c != 0 {
			return 0, false
		}
		for _, rest := range mask[i+1:] {
			if rest != 0 {
				return 0, false
			}
		}
		break
	}
	return bits, true
}

// IDAddr returns an ID_IPV4_ADDR or ID_IPV6_ADDR identification.
func IDAddr(a netip.Addr, protocol uint8, port uint16) *Identification {
	t := IDIPv4Addr
	if !a.Unmap().Is4() {
		t = IDIPv6Addr
	} else {
		a = a.Unmap()
	}
	return &Identification{IDType: t, Protocol: protocol, Port: port, Data: a.AsSlice()}
}

// IDSubnet returns an ID_IPV4_ADDR_SUBNET or ID_IPV6_ADDR_SUBNET
// identification for the masked prefix.
func IDSubnet(pfx netip.Prefix, protocol uint8, port uint16) *Identification {
	pfx = pfx.Masked()
	a := pfx.Addr()
	t := IDIPv4AddrSubnet
	if !a.Is4() {
		t = IDIPv6AddrSubnet
	}
	data := a.AsSlice()
	mask := make([]byte, len(data))
	for i := 0; i < pfx.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return &Identification{IDType: t, Protocol: protocol, Port: port, Data: append(data, mask...)}
}

// IDName returns an ID_FQDN, ID_USER_FQDN or ID_KEY_ID identification.
func IDName(t IDType, name string, protocol uint8, port uint16) *Identification {
	return &Identification{IDType: t, Protocol: protocol, Port: port, Data: []byte(name)}
}
