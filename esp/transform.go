package esp

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
)

// EncAlg is an ESP encryption algorithm.
type EncAlg uint8

const (
	// AESCBC is AES in CBC mode (RFC 3602); the key size (128, 192 or 256
	// bits) follows from the keying material length.
	AESCBC EncAlg = iota + 1
	// TripleDES is 3DES-EDE in CBC mode (RFC 2451), 192-bit key.
	TripleDES
	// AESGCM16 is AES-GCM with a 16-byte ICV (RFC 4106); keying material is
	// the AES key followed by a 4-byte salt.
	AESGCM16
)

func (a EncAlg) String() string {
	switch a {
	case AESCBC:
		return "aes-cbc"
	case TripleDES:
		return "3des-cbc"
	case AESGCM16:
		return "aes-gcm-16"
	}
	return "EncAlg(" + strconv.Itoa(int(a)) + ")"
}

// IntegAlg is an ESP integrity algorithm.
type IntegAlg uint8

const (
	// None is no separate integrity algorithm (for AEAD ciphers).
	None IntegAlg = iota
	// HMACSHA1_96 is RFC 2404: 20-byte key, 12-byte ICV.
	HMACSHA1_96
	// HMACSHA256_128 is RFC 4868: 32-byte key, 16-byte ICV.
	HMACSHA256_128
	// HMACSHA384_192 is RFC 4868: 48-byte key, 24-byte ICV.
	HMACSHA384_192
	// HMACSHA512_256 is RFC 4868: 64-byte key, 32-byte ICV.
	HMACSHA512_256
	// HMACMD5_96 is RFC 2403: 16-byte key, 12-byte ICV.
	HMACMD5_96
	// HMACSHA256_96 is HMAC-SHA-256 truncated to 96 bits, as in the
	// pre-RFC 4868 draft (draft-ietf-ipsec-ciph-sha-256-00) that some
	// servers still use ("sha256_96", Linux's "SHA2 truncbug"): negotiated
	// as HMAC-SHA2-256, 32-byte key, 12-byte ICV.
	HMACSHA256_96
)

func (a IntegAlg) String() string {
	switch a {
	case None:
		return "none"
	case HMACSHA1_96:
		return "hmac-sha1-96"
	case HMACSHA256_128:
		return "hmac-sha256-128"
	case HMACSHA384_192:
		return "hmac-sha384-192"
	case HMACSHA512_256:
		return "hmac-sha512-256"
	case HMACMD5_96:
		return "hmac-md5-96"
	case HMACSHA256_96:
		return "hmac-sha256-96"
	}
	return "IntegAlg(" + strconv.Itoa(int(a)) + ")"
}

// keyLen is the HMAC key length, icvLen the truncated ICV length.
func (a IntegAlg) params() (newHash func() hash.Hash, keyLen, icvLen int, ok bool) {
	switch a {
	case HMACSHA1_96:
		return sha1.New, 20, 12, true
	case HMACSHA256_128:
		return sha256.New, 32, 16, true
	case HMACSHA384_192:
		return sha512.New384, 48, 24, true
	case HMACSHA512_256:
		return sha512.New, 64, 32, true
	case HMACMD5_96:
		return md5.New, 16, 12, true
	case HMACSHA256_96:
		return sha256.New, 32, 12, true
	}
	return nil, 0, 0, false
}

// Transform is an ESP transform: an encryption algorithm and, unless the
// cipher is an AEAD, an integrity algorithm.
type Transform struct {
	Enc   EncAlg
	Integ IntegAlg
}

func (t Transform) String() string {
	if t.Integ == None {
		return t.Enc.String()
	}
	return t.Enc.String() + "/" + t.Integ.String()
}

// encKeyLens lists the acceptable encryption key lengths (for AES-GCM
// including the 4-byte salt).
func (a EncAlg) encKeyLens() []int {
	switch a {
	case AESCBC:
		return []int{16, 24, 32}
	case TripleDES:
		return []int{24}
	case AESGCM16:
		return []int{20, 28, 36}
	}
	return nil
}

// KeyLens returns the acceptable lengths of the keying material for t
// (encryption key, then integrity key), or nil if t is not supported.
func (t Transform) KeyLens() []int {
	enc := t.Enc.encKeyLens()
	if enc == nil {
		return nil
	}
	extra := 0
	if t.Integ != None {
		_, k, _, ok := t.Integ.params()
		if !ok {
			return nil
		}
		extra = k
	}
	out := make([]int, len(enc))
	for i, l := range enc {
		out[i] = l + extra
	}
	return out
}

// Mode is the IPsec mode of an SA.
type Mode uint8

const (
	// Transport mode protects the upper-layer payload (for L2TP: the UDP
	// header and data); next header is 17.
	Transport Mode = iota
	// Tunnel mode protects a whole inner IP packet; next header is 4 (IPv4)
	// or 41 (IPv6).
	Tunnel
)

func (m Mode) String() string {
	switch m {
	case Transport:
		return "transport"
	case Tunnel:
		return "tunnel"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Next header values (IANA protocol numbers) used with ESP.
const (
	NextHeaderIPv4 byte = 4
	NextHeaderUDP  byte = 17
	NextHeaderIPv6 byte = 41
	// NextHeaderNone marks a dummy packet (RFC 4303 section 2.6), which the
	// receiver discards.
	NextHeaderNone byte = 59
)
