package ike

// Phase 1 identities as a user writes them (local-id / remote-id):
//
//	ip:192.0.2.1   ip:2001:db8::1   192.0.2.1     ID_IPV4_ADDR / ID_IPV6_ADDR
//	fqdn:vpn.example.com                          ID_FQDN
//	user-fqdn:alice@example.com                   ID_USER_FQDN
//	key-id:GroupVPN                               ID_KEY_ID (the bytes of the text)
//	dn:C=US, O=Example, CN=vpn.example.com        ID_DER_ASN1_DN
//
// A value without a type is an address if it parses as one, a user-fqdn if
// it holds an @, a DN if it holds an =, and an fqdn otherwise.

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ID is a phase 1 identity: its type and data as they go into the ID
// payload. The zero ID means "not set".
type ID struct {
	Type IDType
	Data []byte
}

// IsZero reports whether the ID is unset.
func (id ID) IsZero() bool { return id.Type == IDReserved }

// Equal reports whether both IDs have the same type and data.
func (id ID) Equal(o ID) bool { return id.Type == o.Type && bytes.Equal(id.Data, o.Data) }

// payload is the phase 1 ID payload carrying id (protocol and port 0, as
// Windows and strongSwan send them in Main Mode).
func (id ID) payload() *Identification {
	return &Identification{IDType: id.Type, Data: id.Data}
}

// IDOf is the ID in an ID payload.
func IDOf(p *Identification) ID { return ID{Type: p.IDType, Data: bytes.Clone(p.Data)} }

// AddrID is the ID_IPV4_ADDR or ID_IPV6_ADDR of a.
func AddrID(a netip.Addr) ID {
	p := IDAddr(a, 0, 0)
	return ID{Type: p.IDType, Data: p.Data}
}

// String formats the ID the way ParseID reads it.
func (id ID) String() string {
	switch id.Type {
	case IDReserved:
		return ""
	case IDIPv4Addr, IDIPv6Addr:
		if a, ok := id.payload().Addr(); ok {
			return "ip:" + a.String()
		}
	case IDFQDN:
		return "fqdn:" + string(id.Data)
	case IDUserFQDN:
		return "user-fqdn:" + string(id.Data)
	case IDKeyID:
		if printable(id.Data) {
			return "key-id:" + string(id.Data)
		}
		return fmt.Sprintf("key-id:%#x", id.Data)
	case IDDERASN1DN:
		// Most significant first, as ParseDN reads it (pkix.Name.String
		// reverses the order and cannot read BMPString values).
		if n, err := parseDN(id.Data); err == nil {
			return "dn:" + n.String()
		}
	}
	return fmt.Sprintf("%s:%x", id.Type, id.Data)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}

// matchID reports whether got, the identity a peer sent, is want: the same
// type and data, with names compared case-insensitively and DNs by their
// attributes (sameDN), not their bytes.
func matchID(want, got ID) bool {
	if want.Type != got.Type {
		return false
	}
	switch want.Type {
	case IDFQDN, IDUserFQDN:
		return strings.EqualFold(strings.TrimSuffix(string(want.Data), "."), strings.TrimSuffix(string(got.Data), "."))
	case IDDERASN1DN:
		return sameDN(want.Data, got.Data)
	}
	return want.Equal(got)
}

// ErrIDSyntax is wrapped by ParseID's errors.
var ErrIDSyntax = errors.New("invalid identity")

// ParseID reads an identity written as above.
func ParseID(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ID{}, fmt.Errorf("%w: empty", ErrIDSyntax)
	}
	typ, val, typed := strings.Cut(s, ":")
	if typed {
		switch strings.ToLower(typ) {
		case "ip", "ipv4", "ipv6", "address":
			a, err := netip.ParseAddr(strings.Trim(val, "[]"))
			if err != nil {
				return ID{}, fmt.Errorf("%w: %q is not an IP address", ErrIDSyntax, val)
			}
			return AddrID(a), nil
		case "fqdn":
			return nameID(IDFQDN, val)
		case "user-fqdn", "email", "rfc822":
			return nameID(IDUserFQDN, val)
		case "key-id", "keyid":
			return nameID(IDKeyID, val)
		case "dn", "asn1dn":
			return ParseDN(val)
		}
		// Not a type prefix: an IPv6 address, or a name holding a colon.
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return AddrID(a), nil
	}
	switch {
	case strings.Contains(s, "="):
		return ParseDN(s)
	case strings.Contains(s, "@"):
		return nameID(IDUserFQDN, s)
	case typed:
		return ID{}, fmt.Errorf("%w: unknown type %q in %q (use ip, fqdn, user-fqdn, key-id or dn)", ErrIDSyntax, typ, s)
	}
	return nameID(IDFQDN, s)
}

func nameID(t IDType, v string) (ID, error) {
	if v == "" {
		return ID{}, fmt.Errorf("%w: empty %s", ErrIDSyntax, t)
	}
	return ID{Type: t, Data: []byte(v)}, nil
}

// dnAttrs are the attribute names ParseDN knows (RFC 4514 and the usual
// extras), by OID.
var dnAttrs = map[string]asn1.ObjectIdentifier{
	"C":            {2, 5, 4, 6},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"CN":           {2, 5, 4, 3},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"SN":           {2, 5, 4, 4},
	"SERIALNUMBER": {2, 5, 4, 5},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"E":            {1, 2, 840, 113549, 1, 9, 1},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

// ParseDN reads a distinguished name written "C=US, O=Example, CN=host"
// (most significant first, as strongSwan and OpenSSL's -subject print it;
// commas or slashes between attributes, a backslash escapes a separator)
// into an ID_DER_ASN1_DN.
func ParseDN(s string) (ID, error) {
	s = strings.TrimSpace(s)
	sep := ','
	if strings.HasPrefix(s, "/") {
		s, sep = s[1:], '/'
	}
	var rdn pkix.RDNSequence
	var cur strings.Builder
	var parts []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case rune(c) == sep || (sep == ',' && c == ';'):
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for _, part := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return ID{}, fmt.Errorf("%w: %q in the DN %q is not NAME=VALUE", ErrIDSyntax, part, s)
		}
		oid, known := dnAttrs[strings.ToUpper(k)]
		if !known {
			return ID{}, fmt.Errorf("%w: unknown attribute %q in the DN %q (known: C, ST, L, O, OU, CN, DC, UID, E, SN, SERIALNUMBER)", ErrIDSyntax, k, s)
		}
		rdn = append(rdn, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}})
	}
	der, err := asn1.Marshal(rdn)
	if err != nil {
		return ID{}, fmt.Errorf("%w: DN %q: %v", ErrIDSyntax, s, err)
	}
	return ID{Type: IDDERASN1DN, Data: der}, nil
}
