package ike

// Phase 1 authentication methods (RFC 2409 appendix A, RFC 4754 3) and the
// signatures of Main Mode with signatures (RFC 2409 5.1):
//
//	SKEYID = prf(Ni_b | Nr_b, g^xy)
//	SIG_I  = signature over HASH_I, SIG_R over HASH_R
//
// As strongSwan does (pubkey_v1_authenticator.c, keymat_v1.c), and Windows
// interoperates with:
//   - RSA: PKCS#1 v1.5 padding over the raw hash, without a DigestInfo
//     (strongSwan's SIGN_RSA_EMSA_PKCS1_NULL).
//   - ECDSA (RFC 4754): HASH_I/HASH_R are computed with the HMAC of the
//     SHA-2 of the method (SHA-256, -384, -512 for ECDSA-256, -384, -521)
//     instead of the negotiated prf, and signed as they are (no further
//     hashing); the signature is r | s, each left-padded to the byte length
//     of the key's curve order (RFC 4754 7). A DER signature is accepted
//     when verifying.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// authMethod is the Authentication Method attribute of a phase 1
// transform.
type authMethod uint16

// Authentication methods.
const (
	authPSK      authMethod = authMethodPSK // RFC 2409 appendix A
	authRSASig   authMethod = 3             // RFC 2409 appendix A
	authECDSA256 authMethod = 9             // RFC 4754 3
	authECDSA384 authMethod = 10
	authECDSA521 authMethod = 11
)

func (m authMethod) String() string {
	switch m {
	case authPSK:
		return "pre-shared key"
	case authRSASig:
		return "RSA signature"
	case authECDSA256:
		return "ECDSA-256 signature"
	case authECDSA384:
		return "ECDSA-384 signature"
	case authECDSA521:
		return "ECDSA-521 signature"
	}
	return "authentication method " + strconv.Itoa(int(m))
}

// signature reports whether m authenticates with certificates.
func (m authMethod) signature() bool { return m != authPSK }

// ecdsa reports whether m is one of the ECDSA methods.
func (m authMethod) ecdsa() bool { return m >= authECDSA256 && m <= authECDSA521 }

// keyAuthMethod is the method that signs with key: RSA signature for RSA,
// ECDSA-256/384/521 by the key's curve.
func keyAuthMethod(key crypto.PublicKey) (authMethod, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return authRSASig, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return authECDSA256, nil
		case elliptic.P384():
			return authECDSA384, nil
		case elliptic.P521():
			return authECDSA521, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s (use P-256, P-384 or P-521)", k.Curve.Params().Name)
	}
	return 0, fmt.Errorf("unsupported key type %T (use RSA or ECDSA)", key)
}

// authPRF is the hash of the prf that computes HASH_I and HASH_R: the
// negotiated one, or for ECDSA the SHA-2 of the method.
func authPRF(m authMethod, negotiated HashAlg) HashAlg {
	switch m {
	case authECDSA256:
		return HashSHA256
	case authECDSA384:
		return HashSHA384
	case authECDSA521:
		return HashSHA512
	}
	return negotiated
}

// skeyidSig is SKEYID for signature authentication, prf(Ni_b | Nr_b, g^xy)
// (RFC 2409 5).
func skeyidSig(h HashAlg, ni, nr, gxy []byte) []byte {
	key := make([]byte, 0, len(ni)+len(nr))
	return prf(h, append(append(key, ni...), nr...), gxy)
}

// signAuth signs hash (HASH_I or HASH_R) with key for method m.
func signAuth(key crypto.Signer, m authMethod, rand io.Reader, hash []byte) ([]byte, error) {
	switch {
	case m == authRSASig:
		if _, ok := key.Public().(*rsa.PublicKey); !ok {
			return nil, errors.New("the key is not an RSA key")
		}
		// crypto.Hash(0): PKCS#1 v1.5 over the hash as it is.
		return key.Sign(rand, hash, crypto.Hash(0))
	case m.ecdsa():
		pub, ok := key.Public().(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("the key is not an ECDSA key")
		}
		der, err := key.Sign(rand, hash, crypto.Hash(0))
		if err != nil {
			return nil, err
		}
		r, s, ok := parseECDSADER(der)
		if !ok {
			return nil, errors.New("the key made an unreadable ECDSA signature")
		}
		n := (pub.Curve.Params().N.BitLen() + 7) / 8
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig, nil
	}
	return nil, fmt.Errorf("cannot sign for %s", m)
}

// verifyAuth checks a SIG payload over hash with the peer's public key for
// method m.
func verifyAuth(pub crypto.PublicKey, m authMethod, hash, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if m != authRSASig {
			return fmt.Errorf("its certificate has an RSA key, but %s was negotiated", m)
		}
		if rsa.VerifyPKCS1v15(k, crypto.Hash(0), hash, sig) != nil {
			return errors.New("the RSA signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if !m.ecdsa() {
			return fmt.Errorf("its certificate has an ECDSA key, but %s was negotiated", m)
		}
		n := (k.Curve.Params().N.BitLen() + 7) / 8
		if len(sig) == 2*n {
			r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
			if ecdsa.Verify(k, hash, r, s) {
				return nil
			}
		}
		if ecdsa.VerifyASN1(k, hash, sig) {
			return nil
		}
		return errors.New("the ECDSA signature does not verify")
	}
	return fmt.Errorf("its certificate has an unsupported key type %T", pub)
}

// parseECDSADER reads the DER Ecdsa-Sig-Value SEQUENCE { r, s INTEGER }.
func parseECDSADER(der []byte) (r, s *big.Int, ok bool) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	r, s = new(big.Int), new(big.Int)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, nil, false
	}
	return r, s, true
}
