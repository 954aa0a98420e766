package ike

// Distinguished names as they arrive in ID_DER_ASN1_DN payloads, in the
// Certificate Authority field of CR payloads (RFC 2408 3.10, RFC 4945
// 3.2.5) and in certificates: the DER Name of RFC 5280 4.1.2.4,
//
//	Name                 ::= SEQUENCE OF RelativeDistinguishedName
//	RelativeDistinguishedName ::= SET OF AttributeTypeAndValue
//	AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
//
// decoded with cryptobyte so that no input can make it index out of range.
// The values may be PrintableString, UTF8String, IA5String, T61String
// (read as Latin-1), UniversalString (UTF-32BE) or BMPString (UTF-16BE,
// what Windows Server 2012 R2 puts in its CRs, and which encoding/asn1
// does not read). Names are compared by attribute type and value, not by
// their bytes, since the same name may be sent with other string tags.

import (
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// dnAttr is one attribute of a name: its type and its value as text (or
// "#" and the hex of its DER encoding for a value that is not a string).
type dnAttr struct {
	oid   asn1.ObjectIdentifier
	value string
	str   bool // value is a decoded string, not #hex
}

// dnName is a decoded Name: its RDNs, most significant first, each a set
// of attributes (almost always one).
type dnName [][]dnAttr

var errDN = errors.New("ike: malformed distinguished name")

// ASN.1 string tags (X.680 8.4).
const (
	tagUTF8String      = cbasn1.Tag(12)
	tagPrintableString = cbasn1.Tag(19)
	tagT61String       = cbasn1.Tag(20)
	tagIA5String       = cbasn1.Tag(22)
	tagUniversalString = cbasn1.Tag(28)
	tagBMPString       = cbasn1.Tag(30)
)

// parseDN decodes a DER Name; der must hold exactly one.
func parseDN(der []byte) (dnName, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errDN
	}
	var name dnName
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return nil, errDN
		}
		var rdn []dnAttr
		for !set.Empty() {
			var atv cryptobyte.String
			var a dnAttr
			var tag cbasn1.Tag
			var val, full cryptobyte.String
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&a.oid) {
				return nil, errDN
			}
			full = atv
			if !atv.ReadAnyASN1(&val, &tag) || !atv.Empty() {
				return nil, errDN
			}
			a.value, a.str = dnString(tag, val)
			if !a.str {
				a.value = "#" + hex.EncodeToString(full)
			}
			rdn = append(rdn, a)
		}
		name = append(name, rdn)
	}
	return name, nil
}

// dnString decodes a string value; ok is false for other types and for
// strings that are not valid in their encoding.
func dnString(tag cbasn1.Tag, b []byte) (string, bool) {
	switch tag {
	case tagUTF8String, tagPrintableString, tagIA5String:
		if !utf8.Valid(b) {
			return "", false
		}
		return string(b), true
	case tagT61String:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), true
	case tagBMPString:
		if len(b)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), true
	case tagUniversalString:
		if len(b)%4 != 0 {
			return "", false
		}
		var sb strings.Builder
		for i := 0; i < len(b); i += 4 {
			r := rune(binary.BigEndian.Uint32(b[i:]))
			if !utf8.ValidRune(r) {
				return "", false
			}
			sb.WriteRune(r)
		}
		return sb.String(), true
	}
	return "", false
}

// dnNames are the names String prints for the attribute types (those
// ParseDN reads).
var dnNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.4": "SN", "2.5.4.5": "SERIALNUMBER",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
	"1.2.840.113549.1.9.1": "E",
}

// String formats the name the way ParseDN reads it: "C=US, O=Example,
// CN=vpn.example.com", most significant first, with a backslash before a
// comma, semicolon, plus or backslash in a value; attributes of one RDN
// are joined by "+".
func (n dnName) String() string {
	var sb strings.Builder
	for i, rdn := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		for j, a := range rdn {
			if j > 0 {
				sb.WriteString(" + ")
			}
			k, ok := dnNames[a.oid.String()]
			if !ok {
				k = a.oid.String()
			}
			sb.WriteString(k)
			sb.WriteByte('=')
			for _, r := range a.value {
				if r == ',' || r == ';' || r == '+' || r == '\\' {
					sb.WriteByte('\\')
				}
				if r < 0x20 || r == 0x7f {
					sb.WriteString("\\x" + hex.EncodeToString([]byte{byte(r)}))
					continue
				}
				sb.WriteRune(r)
			}
		}
	}
	return sb.String()
}

// Equal reports whether two names have the same RDNs in the same order,
// each with the same attribute types and values. String values compare
// case-insensitively with runs of spaces folded (RFC 5280 7.1), whatever
// string type carried them.
func (n dnName) Equal(o dnName) bool {
	if len(n) != len(o) {
		return false
	}
	for i := range n {
		if len(n[i]) != len(o[i]) {
			return false
		}
		for j := range n[i] {
			a, b := n[i][j], o[i][j]
			if !a.oid.Equal(b.oid) || a.str != b.str {
				return false
			}
			if a.str && !strings.EqualFold(foldSpaces(a.value), foldSpaces(b.value)) || !a.str && a.value != b.value {
				return false
			}
		}
	}
	return true
}

func foldSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatDN formats a DER name, or says it could not be read.
func formatDN(der []byte) string {
	n, err := parseDN(der)
	if err != nil {
		return "(unreadable name " + hex.EncodeToString(der[:min(len(der), 16)]) + "...)"
	}
	if len(n) == 0 {
		return "(empty name)"
	}
	return n.String()
}

// sameDN reports whether two DER names are equal by Equal; names that do
// not decode are equal only byte for byte.
func sameDN(a, b []byte) bool {
	na, errA := parseDN(a)
	nb, errB := parseDN(b)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil && string(a) == string(b)
	}
	return na.Equal(nb)
}
