package l2tp

import (
	"crypto/md5"
	"encoding/binary"
	"slices"
)

// Hiding of AVP values, RFC 2661 4.3.
//
// The cleartext is the Hidden AVP Subformat: a 2-octet length of the original
// value, the value, and optional padding. It is XORed, 16 octets at a time,
// with an MD5 chain:
//
//	b1 = MD5(attribute type (2 octets) + secret + random vector)   c1 = p1 xor b1
//	bi = MD5(secret + c(i-1))                                       ci = pi xor bi
//
// The random vector is the value of the Random Vector AVP most closely
// preceding the hidden AVP in the same message.

// hideXOR transforms sub in place from cleartext into ciphertext (reveal=false)
// or back (reveal=true). The chain always runs over the ciphertext.
func hideXOR(t AVPType, sub, secret, rv []byte, reveal bool) {
	h := md5.New()
	var ty [2]byte
	binary.BigEndian.PutUint16(ty[:], uint16(t))
	h.Write(ty[:])
	h.Write(secret)
	h.Write(rv)
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	var cprev [md5.Size]byte
	for i := 0; i < len(sub); i += md5.Size {
		if i > 0 {
			h.Reset()
			h.Write(secret)
			h.Write(cprev[:])
			h.Sum(sum[:0])
		}
		block := sub[i:min(i+md5.Size, len(sub))]
		if reveal {
			copy(cprev[:], block) // ciphertext, before it is overwritten
		}
		for j := range block {
			block[j] ^= sum[j]
		}
		if !reveal {
			copy(cprev[:], block)
		}
	}
}

// Hide replaces the AVP's value with its hidden form and sets the H bit. pad is
// appended to the subformat to disguise the value length (may be nil). The
// same randomVector must be sent in a Random Vector AVP before this AVP.
func (a *AVP) Hide(secret, randomVector, pad []byte) {
	sub := make([]byte, 0, 2+len(a.Value)+len(pad))
	sub = binary.BigEndian.AppendUint16(sub, uint16(len(a.Value)))
	sub = append(sub, a.Value...)
	sub = append(sub, pad...)
	hideXOR(a.Type, sub, secret, randomVector, false)
	a.Value = sub
	a.Hidden = true
}

// Reveal turns a hidden AVP back into its original value (a new slice) and
// clears the H bit. A length that does not fit, which is what a wrong secret
// usually gives, is an error; the AVP is then left unchanged.
func (a *AVP) Reveal(secret, randomVector []byte) error {
	if !a.Hidden {
		return nil
	}
	if len(a.Value) < 2 {
		return malformed("hidden %s has %d octets, too short for its length field", a.Type, len(a.Value))
	}
	sub := append([]byte(nil), a.Value...)
	hideXOR(a.Type, sub, secret, randomVector, true)
	n := int(binary.BigEndian.Uint16(sub))
	if n > len(sub)-2 {
		return malformed("hidden %s: original length %d does not fit in %d octets (wrong secret?)", a.Type, n, len(sub)-2)
	}
	a.Value = sub[2 : 2+n : 2+n]
	a.Hidden = false
	return nil
}

// Reveal unhides every hidden AVP of m in place, each with the Random Vector
// AVP most closely preceding it. A hidden AVP without a preceding Random
// Vector is malformed.
func (m *Message) Reveal(secret []byte) error {
	var rv []byte
	haveRV := false
	for i := range m.AVPs {
		a := &m.AVPs[i]
		if a.Vendor == 0 && a.Type == AVPRandomVector && !a.Hidden {
			rv, haveRV = a.Value, true
			continue
		}
		if !a.Hidden {
			continue
		}
		if !haveRV {
			return malformed("hidden %s without a preceding Random Vector", a.Type)
		}
		if err := a.Reveal(secret, rv); err != nil {
			return err
		}
	}
	return nil
}

// Hide hides the AVPs of m whose (vendor 0) type is listed, inserting a Random
// Vector AVP carrying randomVector in front of the first of them. AVPs that
// must never be hidden (Message Type, Random Vector) are left alone.
func (m *Message) Hide(secret, randomVector []byte, types ...AVPType) {
	want := func(a *AVP) bool {
		if a.Hidden || a.Vendor != 0 || a.Type == AVPMessageType || a.Type == AVPRandomVector {
			return false
		}
		for _, t := range types {
			if a.Type == t {
				return true
			}
		}
		return false
	}
	first := -1
	for i := range m.AVPs {
		if want(&m.AVPs[i]) {
			first = i
			break
		}
	}
	if first < 0 {
		return
	}
	rv := AVP{Mandatory: true, Type: AVPRandomVector, Value: randomVector}
	m.AVPs = slices.Insert(m.AVPs, first, rv)
	for i := first + 1; i < len(m.AVPs); i++ {
		if a := &m.AVPs[i]; want(a) {
			a.Hide(secret, randomVector, nil)
		}
	}
}
