package ike

// Phase-1 hash algorithms and the HMAC pseudo-random function built on them.
// IKEv1 without a PRF attribute uses the HMAC version of the negotiated hash
// (RFC 2409 appendix A, "Hash Algorithm"); the SHA-2 values follow RFC 4868
// (full-length HMAC output as the prf).

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
)

// HashAlg is a phase-1 Hash attribute value (RFC 2409 appendix A).
type HashAlg uint16

// Hash algorithms.
const (
	HashMD5    HashAlg = 1
	HashSHA1   HashAlg = 2
	HashSHA256 HashAlg = 4
	HashSHA384 HashAlg = 5
	HashSHA512 HashAlg = 6
)

// String returns the strongSwan name ("sha1", "sha256").
func (h HashAlg) String() string {
	switch h {
	case HashMD5:
		return "md5"
	case HashSHA1:
		return "sha1"
	case HashSHA256:
		return "sha256"
	case HashSHA384:
		return "sha384"
	case HashSHA512:
		return "sha512"
	}
	return "hash(" + strconv.Itoa(int(h)) + ")"
}

// Supported reports whether New works for h.
func (h HashAlg) Supported() bool { return h.New() != nil }

// Size returns the output length in bytes, 0 if h is not supported.
func (h HashAlg) Size() int {
	switch h {
	case HashMD5:
		return md5.Size
	case HashSHA1:
		return sha1.Size
	case HashSHA256:
		return sha256.Size
	case HashSHA384:
		return sha512.Size384
	case HashSHA512:
		return sha512.Size
	}
	return 0
}

// New returns a new hash of the algorithm, nil if h is not supported.
func (h HashAlg) New() hash.Hash {
	if f := h.newFunc(); f != nil {
		return f()
	}
	return nil
}

func (h HashAlg) newFunc() func() hash.Hash {
	switch h {
	case HashMD5:
		return md5.New
	case HashSHA1:
		return sha1.New
	case HashSHA256:
		return sha256.New
	case HashSHA384:
		return sha512.New384
	case HashSHA512:
		return sha512.New
	}
	return nil
}

// prf is HMAC-h(key, data[0] | data[1] | ...). h must be supported (the
// caller checked the negotiated proposal); it panics otherwise.
func prf(h HashAlg, key []byte, data ...[]byte) []byte {
	m := hmac.New(h.newFunc(), key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// digest is the plain hash h(data[0] | data[1] | ...), used for IVs
// (RFC 2409 appendix B).
func digest(h HashAlg, data ...[]byte) []byte {
	m := h.New()
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}
