package ike

// Diffie-Hellman groups of IKEv1: the MODP groups of RFC 2409 section 6 and
// RFC 3526 (generator 2), and the elliptic curve groups of RFC 5903.
//
// KE payload data (RFC 2409 5, RFC 5903 7): a MODP public value is the
// big-endian integer left-padded with zeros to the length of the prime; an ECP
// public value is x || y, each coordinate padded to the field length, without
// the 0x04 point-format byte. The shared secret g^xy is likewise the
// left-padded integer for MODP, and only the x coordinate for ECP
// (RFC 5903 7 and 9).

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"strconv"
)

// Group is an IKE Diffie-Hellman group number (the phase-1 Group Description
// attribute, RFC 2409 appendix A; the phase-2 SA Group attribute, RFC 2407 4.5).
type Group uint16

// Diffie-Hellman groups.
const (
	MODP768  Group = 1  // RFC 2409 6.1; refused (under 1024 bits)
	MODP1024 Group = 2  // RFC 2409 6.2
	MODP1536 Group = 5  // RFC 3526 2
	MODP2048 Group = 14 // RFC 3526 3
	MODP3072 Group = 15 // RFC 3526 4
	MODP4096 Group = 16 // RFC 3526 5
	ECP256   Group = 19 // RFC 5903 3.1
	ECP384   Group = 20 // RFC 5903 3.2
)

// String returns the strongSwan name of the group ("modp2048", "ecp256").
func (g Group) String() string {
	switch g {
	case MODP768:
		return "modp768"
	case MODP1024:
		return "modp1024"
	case MODP1536:
		return "modp1536"
	case MODP2048:
		return "modp2048"
	case MODP3072:
		return "modp3072"
	case MODP4096:
		return "modp4096"
	case ECP256:
		return "ecp256"
	case ECP384:
		return "ecp384"
	}
	return "group(" + strconv.Itoa(int(g)) + ")"
}

// Supported reports whether NewDH accepts the group. MODP768 is known but
// refused: groups under 1024 bits are too weak.
func (g Group) Supported() bool {
	switch g {
	case MODP1024, MODP1536, MODP2048, MODP3072, MODP4096, ECP256, ECP384:
		return true
	}
	return false
}

// modpPrime returns the prime of a MODP group, or nil.
func (g Group) modpPrime() *big.Int {
	var s string
	switch g {
	case MODP1024:
		s = modp1024Prime
	case MODP1536:
		s = modp1536Prime
	case MODP2048:
		s = modp2048Prime
	case MODP3072:
		s = modp3072Prime
	case MODP4096:
		s = modp4096Prime
	default:
		return nil
	}
	p, _ := new(big.Int).SetString(s, 16)
	return p
}

func (g Group) curve() ecdh.Curve {
	switch g {
	case ECP256:
		return ecdh.P256()
	case ECP384:
		return ecdh.P384()
	}
	return nil
}

// modpExponentBits is the length of a MODP private exponent: at least twice
// the security level of the largest group we use (RFC 3526 8 estimates
// 150-200 bits for 4096-bit MODP).
const modpExponentBits = 512

// DH is one side of a Diffie-Hellman exchange: a private key of a group and
// its public value. It is used once, for one phase-1 or one PFS Quick Mode
// exchange.
type DH struct {
	group Group

	// MODP
	p, x, pub *big.Int
	size      int // length of the prime in bytes

	// ECP
	priv *ecdh.PrivateKey
}

// NewDH creates a private key of group g. rand supplies the MODP private
// exponent (nil means crypto/rand); elliptic curve keys always come from
// crypto/ecdh, which chooses its own randomness.
func NewDH(g Group, rand io.Reader) (*DH, error) {
	if !g.Supported() {
		return nil, &UnsupportedError{What: "Diffie-Hellman group " + g.String()}
	}
	if c := g.curve(); c != nil {
		k, err := c.GenerateKey(randOrDefault(rand))
		if err != nil {
			return nil, err
		}
		return &DH{group: g, priv: k}, nil
	}
	buf := make([]byte, modpExponentBits/8)
	if _, err := io.ReadFull(randOrDefault(rand), buf); err != nil {
		return nil, err
	}
	buf[0] |= 0x80 // full-length exponent: never 0 or 1
	return newMODP(g, new(big.Int).SetBytes(buf)), nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// newMODP returns the DH of MODP group g with private exponent x.
func newMODP(g Group, x *big.Int) *DH {
	p := g.modpPrime()
	d := &DH{group: g, p: p, x: x, size: (p.BitLen() + 7) / 8}
	d.pub = new(big.Int).Exp(big.NewInt(2), x, p)
	return d
}

// Group returns the group of d.
func (d *DH) Group() Group { return d.group }

// Public returns the KE payload data: g^x left-padded to the length of the
// prime for MODP, x || y for ECP (RFC 5903 7).
func (d *DH) Public() []byte {
	if d.priv != nil {
		return d.priv.PublicKey().Bytes()[1:] // drop the 0x04 uncompressed-point byte
	}
	return d.pub.FillBytes(make([]byte, d.size))
}

// Shared computes g^xy from the peer's KE payload data. For MODP the peer value
// must have exactly the prime's length and lie in 1 < y < p-1 (which rules
// out the degenerate subgroups); the result is left-padded to the prime's
// length. For ECP the peer value must be x || y of a point on the curve; the
// result is the x coordinate of the shared point (RFC 5903 7).
func (d *DH) Shared(peer []byte) ([]byte, error) {
	if d.priv != nil {
		coord := len(d.priv.PublicKey().Bytes()) / 2
		if len(peer) != 2*coord {
			return nil, keLengthError(d.group, len(peer), 2*coord)
		}
		pt := make([]byte, 1+len(peer))
		pt[0] = 4
		copy(pt[1:], peer)
		pk, err := d.priv.Curve().NewPublicKey(pt)
		if err != nil {
			return nil, &KEError{Group: d.group, Reason: "point not on the curve"}
		}
		s, err := d.priv.ECDH(pk)
		if err != nil {
			return nil, &KEError{Group: d.group, Reason: "invalid point"}
		}
		return s, nil
	}
	// Some servers (SoftEther) drop leading zero bytes of their public
	// value; the number is the same.
	if len(peer) == 0 || len(peer) > d.size {
		return nil, keLengthError(d.group, len(peer), d.size)
	}
	y := new(big.Int).SetBytes(peer)
	pm1 := new(big.Int).Sub(d.p, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, &KEError{Group: d.group, Reason: "public value out of range"}
	}
	z := new(big.Int).Exp(y, d.x, d.p)
	return z.FillBytes(make([]byte, d.size)), nil
}

func keLengthError(g Group, got, want int) error {
	return &KEError{Group: g, Reason: strconv.Itoa(got) + " bytes of public value, want " + strconv.Itoa(want)}
}

// KEError is an unusable Diffie-Hellman public value from the peer. It
// unwraps to ErrInvalidKE.
type KEError struct {
	Group  Group
	Reason string
}

func (e *KEError) Error() string {
	return "ike: invalid " + e.Group.String() + " key exchange: " + e.Reason
}

// Unwrap returns ErrInvalidKE.
func (e *KEError) Unwrap() error { return ErrInvalidKE }

// ErrInvalidKE is the class of KEError. (Kept next to KEError until it moves
// into errors.go.)
var ErrInvalidKE = errors.New("ike: invalid key exchange data")

// The MODP primes, generator 2: RFC 2409 6.2, RFC 3526 2 to 5.
// Each is 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k).
const (
	modp1024Prime = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"
	modp1536Prime = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF"
	modp2048Prime = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF"
	modp3072Prime = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
	modp4096Prime = "" +
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33" +
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864" +
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2" +
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7" +
		"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8" +
		"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2" +
		"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9" +
		"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
)
