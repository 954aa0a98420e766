package ppp

// MS-CHAPv2 (RFC 2759): the NT-Response, the authenticator response the
// server proves itself with, and the text of Success and Failure messages.

import (
	"bytes"
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// mschapv2ResponseLen is the Value-Size of an MS-CHAPv2 Response (RFC 2759
// section 4): Peer-Challenge (16), Reserved (8), NT-Response (24), Flags (1).
const mschapv2ResponseLen = 49

// ntPasswordHash is MD4 of the password in UTF-16LE (RFC 2759 section 8.3).
func ntPasswordHash(password string) [16]byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	h := md4.New()
	h.Write(b)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// mschapv2UserName is the user name that goes into ChallengeHash: without
// a "DOMAIN\" prefix (RFC 2759 section 8.2).
func mschapv2UserName(user string) string {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		return user[i+1:]
	}
	return user
}

// challengeHash is the first 8 octets of SHA1(PeerChallenge ‖
// AuthenticatorChallenge ‖ UserName) (RFC 2759 section 8.2).
func challengeHash(peerChallenge, authChallenge *[16]byte, user string) [8]byte {
	h := sha1.New()
	h.Write(peerChallenge[:])
	h.Write(authChallenge[:])
	h.Write([]byte(mschapv2UserName(user)))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [8]byte
	copy(out[:], sum[:8])
	return out
}

// challengeResponse DES-encrypts the challenge with three 7-octet keys cut
// from the zero-padded 21-octet password hash (RFC 2759 section 8.5).
func challengeResponse(challenge [8]byte, passwordHash [16]byte) [24]byte {
	var z [21]byte
	copy(z[:], passwordHash[:])
	var out [24]byte
	for i := 0; i < 3; i++ {
		desEncrypt(out[8*i:8*i+8], z[7*i:7*i+7], challenge[:])
	}
	return out
}

// desEncrypt encrypts one block with a 56-bit key (RFC 2759 section 8.6).
func desEncrypt(dst, key7, clear []byte) {
	k := expandDESKey(key7)
	c, err := des.NewCipher(k[:])
	if err != nil {
		panic("ppp: des: " + err.Error()) // impossible: the key is 8 bytes
	}
	c.Encrypt(dst, clear)
}

// expandDESKey spreads 56 key bits over 8 octets, 7 bits each in the high
// bits; the low (parity) bit is left zero, DES ignores it.
func expandDESKey(key7 []byte) [8]byte {
	var k [8]byte
	k[0] = key7[0]
	k[1] = key7[0]<<7 | key7[1]>>1
	k[2] = key7[1]<<6 | key7[2]>>2
	k[3] = key7[2]<<5 | key7[3]>>3
	k[4] = key7[3]<<4 | key7[4]>>4
	k[5] = key7[4]<<3 | key7[5]>>5
	k[6] = key7[5]<<2 | key7[6]>>6
	k[7] = key7[6] << 1
	for i := range k {
		k[i] &^= 1
	}
	return k
}

// generateNTResponse is GenerateNTResponse (RFC 2759 section 8.1).
func generateNTResponse(authChallenge, peerChallenge *[16]byte, user, password string) [24]byte {
	return challengeResponse(challengeHash(peerChallenge, authChallenge, user), ntPasswordHash(password))
}

var (
	mschapv2Magic1 = []byte("Magic server to client signing constant")
	mschapv2Magic2 = []byte("Pad to make it do more than one iteration")
)

// generateAuthenticatorResponse is GenerateAuthenticatorResponse (RFC 2759
// section 8.7): the 20 octets the server sends back as "S=<40 hex>".
func generateAuthenticatorResponse(password string, ntResponse *[24]byte, peerChallenge, authChallenge *[16]byte, user string) [20]byte {
	return authenticatorResponseFromHash(ntPasswordHash(password), ntResponse, peerChallenge, authChallenge, user)
}

// authenticatorResponseFromHash is GenerateAuthenticatorResponse from the
// NT password hash alone (RFC 2759 section 8.7 uses the password only
// through it): what an authenticator that stores NT hashes computes.
func authenticatorResponseFromHash(ph [16]byte, ntResponse *[24]byte, peerChallenge, authChallenge *[16]byte, user string) [20]byte {
	phh := md4.New()
	phh.Write(ph[:])
	var hashHash [16]byte
	phh.Sum(hashHash[:0])

	h := sha1.New()
	h.Write(hashHash[:])
	h.Write(ntResponse[:])
	h.Write(mschapv2Magic1)
	var digest [sha1.Size]byte
	h.Sum(digest[:0])

	ch := challengeHash(peerChallenge, authChallenge, user)
	h.Reset()
	h.Write(digest[:])
	h.Write(ch[:])
	h.Write(mschapv2Magic2)
	var out [20]byte
	h.Sum(out[:0])
	return out
}

// checkAuthenticatorResponse compares the server's response with the
// expected one in constant time (RFC 2759 section 8.8).
func checkAuthenticatorResponse(got, want [20]byte) bool {
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// mschapv2Success is the parsed Message of an MS-CHAPv2 Success packet:
// "S=<40 hex digits> M=<message>" (RFC 2759 section 5). Some servers omit
// " M=...".
type mschapv2Success struct {
	AuthResponse [20]byte
	Message      []byte // aliases the input
}

// parseMSCHAPv2Success parses a Success message. The hex digits "MUST be
// uppercase"; lowercase is accepted too.
func parseMSCHAPv2Success(msg []byte) (mschapv2Success, error) {
	var s mschapv2Success
	if len(msg) < 42 || msg[0] != 'S' || msg[1] != '=' {
		return s, fmt.Errorf("%w: mschapv2: Success message without S=<authenticator response>", ErrMalformed)
	}
	if _, err := hex.Decode(s.AuthResponse[:], msg[2:42]); err != nil {
		return s, fmt.Errorf("%w: mschapv2: Success message: bad authenticator response", ErrMalformed)
	}
	rest := msg[42:]
	switch {
	case len(rest) == 0:
	case bytes.HasPrefix(rest, []byte(" M=")):
		s.Message = rest[3:]
	case rest[0] == ' ':
		s.Message = bytes.TrimLeft(rest, " ")
	default:
		return s, fmt.Errorf("%w: mschapv2: Success message: junk after the authenticator response", ErrMalformed)
	}
	return s, nil
}

// mschapv2Failure is the parsed Message of an MS-CHAPv2 Failure packet:
// "E=eeeeeeeeee R=r C=<32 hex> V=vvvvvvvvvv M=<msg>" (RFC 2759 section 6).
type mschapv2Failure struct {
	Error        int  // E=
	Retry        bool // R=1
	HasChallenge bool
	Challenge    [16]byte // C=
	Version      int      // V=
	Message      []byte   // M=, aliases the input
}

// parseMSCHAPv2Failure parses a Failure message. E= is required; the other
// fields are optional, since servers differ, and a malformed C= is ignored. Text that is not a "K=v" field
// ends the parse and is taken as the message.
func parseMSCHAPv2Failure(msg []byte) (mschapv2Failure, error) {
	var f mschapv2Failure
	haveE := false
	for {
		msg = bytes.TrimLeft(msg, " ")
		if len(msg) == 0 {
			break
		}
		if len(msg) < 2 || msg[1] != '=' || msg[0] == 'M' {
			f.Message = msg
			if len(msg) >= 2 && msg[0] == 'M' && msg[1] == '=' {
				f.Message = msg[2:]
			}
			break
		}
		key, val := msg[0], msg[2:]
		if i := bytes.IndexByte(val, ' '); i >= 0 {
			val, msg = val[:i], val[i:]
		} else {
			msg = nil
		}
		switch key {
		case 'E':
			n, ok := smallDecimal(val)
			if !ok {
				return f, fmt.Errorf("%w: mschapv2: Failure message: bad E=%q", ErrMalformed, sanitize(val))
			}
			f.Error, haveE = n, true
		case 'R':
			f.Retry = string(val) == "1"
		case 'C':
			// We never retry, so a bad challenge is no reason to lose E=.
			f.HasChallenge, f.Challenge = false, [16]byte{}
			if len(val) == 2*len(f.Challenge) {
				if _, err := hex.Decode(f.Challenge[:], val); err == nil {
					f.HasChallenge = true
				} else {
					f.Challenge = [16]byte{}
				}
			}
		case 'V':
			if n, ok := smallDecimal(val); ok {
				f.Version = n
			}
		}
	}
	if !haveE {
		return f, fmt.Errorf("%w: mschapv2: Failure message without E=", ErrMalformed)
	}
	return f, nil
}

// smallDecimal parses 1 to 9 decimal digits.
func smallDecimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(string(b))
	return n, err == nil && n >= 0
}

// mschapv2ErrorText explains an MS-CHAPv2 Failure E= code (RFC 2759
// section 6).
func mschapv2ErrorText(code int) string {
	switch code {
	case 646:
		return "restricted logon hours: the account may not log in at this time"
	case 647:
		return "account disabled"
	case 648:
		return "password expired"
	case 649:
		return "no dial-in permission for this account"
	case 691:
		return "wrong user name or password"
	case 709:
		return "error changing password"
	}
	return "unknown error code"
}
