package ike

// Data attributes, RFC 2408 3.3:
//
//	!A!       Attribute Type        !    AF=0  Attribute Length     !
//	!F!                             !    AF=1  Attribute Value      !
//	.                   AF=0  Attribute Value                       .
//
// With AF=1 (basic) the value is the 2-byte second half; with AF=0 (variable)
// a 2-byte length and that many value bytes follow.

import "encoding/binary"

// AttributeType is an SA attribute type, without the AF bit. The same number
// means different things in phase 1 (RFC 2409 appendix A) and in phase 2
// (RFC 2407 4.5), so it has no String method; see the constants.
type AttributeType uint16

// Phase 1 (IKE, RFC 2409 appendix A) attribute types.
const (
	AttrEncryption   AttributeType = 1
	AttrHash         AttributeType = 2
	AttrAuthMethod   AttributeType = 3
	AttrGroup        AttributeType = 4
	AttrGroupType    AttributeType = 5
	AttrLifeType     AttributeType = 11
	AttrLifeDuration AttributeType = 12
	AttrPRF          AttributeType = 13
	AttrKeyLength    AttributeType = 14
	AttrFieldSize    AttributeType = 15
	AttrGroupOrder   AttributeType = 16
)

// The AF bit of the attribute type field, and the type without it.
const (
	attrFormatBasic   uint16 = 0x8000
	attributeTypeMask uint16 = 0x7fff
)

// Phase 2 (IPsec DOI, RFC 2407 4.5) attribute types.
const (
	AttrSALifeType        AttributeType = 1
	AttrSALifeDuration    AttributeType = 2
	AttrSAGroup           AttributeType = 3
	AttrEncapsulationMode AttributeType = 4
	AttrAuthAlgorithm     AttributeType = 5
	AttrSAKeyLength       AttributeType = 6
	AttrKeyRounds         AttributeType = 7
)

// Attribute is one SA attribute. A basic attribute (Basic) carries Value; a
// variable one carries Data, which aliases the input when decoded.
type Attribute struct {
	Type  AttributeType
	Basic bool
	Value uint16
	Data  []byte
}

// BasicAttribute returns a basic (AF=1) attribute.
func BasicAttribute(t AttributeType, v uint16) Attribute {
	return Attribute{Type: t, Basic: true, Value: v}
}

// VariableAttribute returns a variable-length (AF=0) attribute.
func VariableAttribute(t AttributeType, data []byte) Attribute {
	return Attribute{Type: t, Data: data}
}

// Uint returns the attribute's value as a number: Value for a basic
// attribute, Data read big-endian for a variable one of at most 8 bytes
// (life durations, RFC 2409 appendix A). ok is false for longer data.
func (a Attribute) Uint() (v uint64, ok bool) {
	if a.Basic {
		return uint64(a.Value), true
	}
	if len(a.Data) > 8 {
		return 0, false
	}
	for _, c := range a.Data {
		v = v<<8 | uint64(c)
	}
	return v, true
}

func parseAttributes(b []byte) ([]Attribute, error) {
	var attrs []Attribute
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, malformed(PayloadTransform, "attribute truncated (%d bytes left)", len(b))
		}
		typ := binary.BigEndian.Uint16(b[0:2])
		v := binary.BigEndian.Uint16(b[2:4])
		a := Attribute{Type: AttributeType(typ & attributeTypeMask)}
		if typ&attrFormatBasic != 0 {
			a.Basic = true
			a.Value = v
			b = b[4:]
		} else {
			if int(v) > len(b)-4 {
				return nil, malformed(PayloadTransform, "attribute %d length %d runs past the transform", a.Type, v)
			}
			a.Data = b[4 : 4+int(v)]
			b = b[4+int(v):]
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

func appendAttributes(b []byte, attrs []Attribute) []byte {
	for _, a := range attrs {
		typ := uint16(a.Type) & attributeTypeMask
		if a.Basic {
			b = binary.BigEndian.AppendUint16(b, typ|attrFormatBasic)
			b = binary.BigEndian.AppendUint16(b, a.Value)
			continue
		}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
		b = append(b, a.Data...)
	}
	return b
}
