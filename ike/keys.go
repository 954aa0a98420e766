package ike

// IKEv1 keying, RFC 2409: SKEYID for pre-shared keys (5), the derived keys
// (5), the encryption key and IVs (appendix B), the Main Mode authentication
// hashes (5), the Quick Mode hashes and KEYMAT (5.5) and the informational
// exchange hash (5.7). All values are computed by the negotiated prf, the
// HMAC of the phase-1 hash algorithm.

import "encoding/binary"

// Phase1Keys are the keys of an ISAKMP SA. They are secrets: never log them.
type Phase1Keys struct {
	SKEYID  []byte
	SKEYIDd []byte // SKEYID_d: derives phase-2 keying material
	SKEYIDa []byte // SKEYID_a: authenticates phase-2 and informational messages
	SKEYIDe []byte // SKEYID_e: source of Ka
	Ka      []byte // the phase-1 encryption key
	IV      []byte // the IV of the first encrypted Main Mode message
}

// derivePhase1 computes the phase-1 keys for pre-shared key authentication
// (RFC 2409 5 and appendix B) with a keyLen-byte cipher key.
func derivePhase1(h HashAlg, e EncAlg, keyLen int, psk, ni, nr, gxy, ckyI, ckyR, gxi, gxr []byte) Phase1Keys {
	return phase1Keys(h, e, keyLen, prf(h, psk, ni, nr), gxy, ckyI, ckyR, gxi, gxr)
}

// phase1Keys computes the phase-1 keys from SKEYID, whichever way the
// authentication method derives it (skeyidSig for signatures).
func phase1Keys(h HashAlg, e EncAlg, keyLen int, skeyid, gxy, ckyI, ckyR, gxi, gxr []byte) Phase1Keys {
	var k Phase1Keys
	k.SKEYID = skeyid
	k.SKEYIDd = prf(h, k.SKEYID, gxy, ckyI, ckyR, []byte{0})
	k.SKEYIDa = prf(h, k.SKEYID, k.SKEYIDd, gxy, ckyI, ckyR, []byte{1})
	k.SKEYIDe = prf(h, k.SKEYID, k.SKEYIDa, gxy, ckyI, ckyR, []byte{2})
	if len(k.SKEYIDe) >= keyLen {
		k.Ka = append([]byte(nil), k.SKEYIDe[:keyLen]...)
	} else {
		// Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0),
		// Kn = prf(SKEYID_e, Kn-1).
		kn := prf(h, k.SKEYIDe, []byte{0})
		for {
			k.Ka = append(k.Ka, kn...)
			if len(k.Ka) >= keyLen {
				break
			}
			kn = prf(h, k.SKEYIDe, kn)
		}
		k.Ka = k.Ka[:keyLen:keyLen]
	}
	k.IV = truncate(digest(h, gxi, gxr), e.BlockSize())
	return k
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n:n]
	}
	return b
}

// hashI is HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b).
// saib is the initiator's SA payload body, idib the ID payload body (RFC 2409 5).
func hashI(h HashAlg, skeyid, gxi, gxr, ckyI, ckyR, saib, idib []byte) []byte {
	return prf(h, skeyid, gxi, gxr, ckyI, ckyR, saib, idib)
}

// hashR is HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).
func hashR(h HashAlg, skeyid, gxr, gxi, ckyR, ckyI, saib, idrb []byte) []byte {
	return prf(h, skeyid, gxr, gxi, ckyR, ckyI, saib, idrb)
}

// phase2IV is the IV of the first message of a Quick Mode or informational
// exchange: hash(last phase-1 CBC block | M-ID), truncated to the block size
// (RFC 2409 appendix B).
func phase2IV(h HashAlg, e EncAlg, lastPhase1Block []byte, mid uint32) []byte {
	return truncate(digest(h, lastPhase1Block, be32(mid)), e.BlockSize())
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// quickHash1 is HASH(1) = prf(SKEYID_a, M-ID | rest), where rest is the
// message after the HASH payload (its payloads, without padding).
func quickHash1(h HashAlg, skeyidA []byte, mid uint32, rest []byte) []byte {
	return prf(h, skeyidA, be32(mid), rest)
}

// quickHash2 is HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest).
func quickHash2(h HashAlg, skeyidA []byte, mid uint32, ni, rest []byte) []byte {
	return prf(h, skeyidA, be32(mid), ni, rest)
}

// quickHash3 is HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).
func quickHash3(h HashAlg, skeyidA []byte, mid uint32, ni, nr []byte) []byte {
	return prf(h, skeyidA, []byte{0}, be32(mid), ni, nr)
}

// infoHash is the informational exchange HASH(1) = prf(SKEYID_a, M-ID | N/D)
// (RFC 2409 5.7), computed like quickHash1.
func infoHash(h HashAlg, skeyidA []byte, mid uint32, rest []byte) []byte {
	return quickHash1(h, skeyidA, mid, rest)
}

// keymat returns exactly n bytes of keying material for one direction of a
// phase-2 SA (RFC 2409 5.5): K1 | K2 | ..., with
// K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) and
// Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
// gxy is nil without PFS. spi is the SPI of the receiving side of that
// direction.
func keymat(h HashAlg, skeyidD, gxy []byte, protocol uint8, spi uint32, ni, nr []byte, n int) []byte {
	seed := append([]byte{protocol}, be32(spi)...)
	out := make([]byte, 0, n+h.Size())
	var prev []byte
	for len(out) < n {
		prev = prf(h, skeyidD, prev, gxy, seed, ni, nr)
		out = append(out, prev...)
	}
	return out[:n:n]
}
