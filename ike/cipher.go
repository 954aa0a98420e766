package ike

// Phase-1 encryption, RFC 2409 appendix B and RFC 3602: the ISAKMP message
// body after the header is encrypted in CBC mode with Ka. The IV of the first
// Main Mode message is derived from the key exchange; each following message
// of the same exchange uses the last ciphertext block of the previous one
// (IV chaining). The plaintext is padded with zero bytes to a whole number of
// blocks; RFC 2409 appendix B allows zero padding and IKEv1 has no padding
// length byte (unlike ESP), so the receiver leaves the padding in place and
// the payload chain's lengths tell where it starts.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"errors"
	"strconv"
)

// EncAlg is a phase-1 Encryption Algorithm attribute value (RFC 2409
// appendix A).
type EncAlg uint16

// Encryption algorithms.
const (
	Enc3DES   EncAlg = 5
	EncAESCBC EncAlg = 7 // RFC 3602 with the Key Length attribute
)

// String returns the strongSwan name ("3des", "aes").
func (e EncAlg) String() string {
	switch e {
	case Enc3DES:
		return "3des"
	case EncAESCBC:
		return "aes"
	}
	return "enc(" + strconv.Itoa(int(e)) + ")"
}

// BlockSize returns the cipher block size in bytes, 0 if e is unknown.
func (e EncAlg) BlockSize() int {
	switch e {
	case Enc3DES:
		return des.BlockSize
	case EncAESCBC:
		return aes.BlockSize
	}
	return 0
}

// KeyLen returns the key length in bytes for the Key Length attribute value
// bits: 3DES takes no attribute (0) or 192; AES requires 128, 192 or 256.
func (e EncAlg) KeyLen(bits int) (int, error) {
	switch e {
	case Enc3DES:
		if bits == 0 || bits == 192 {
			return 24, nil
		}
	case EncAESCBC:
		if bits == 128 || bits == 192 || bits == 256 {
			return bits / 8, nil
		}
	default:
		return 0, &UnsupportedError{What: "encryption algorithm " + e.String()}
	}
	return 0, &UnsupportedError{What: e.String() + " key length " + strconv.Itoa(bits)}
}

func (e EncAlg) block(key []byte) (cipher.Block, error) {
	switch e {
	case Enc3DES:
		return des.NewTripleDESCipher(key)
	case EncAESCBC:
		return aes.NewCipher(key)
	}
	return nil, &UnsupportedError{What: "encryption algorithm " + e.String()}
}

var (
	errCipherLength = errors.New("ike: encrypted body is empty or not a whole number of cipher blocks")
	errIVLength     = errors.New("ike: iv length differs from the cipher block size")
)

// encryptCBC pads plaintext with zero bytes to a multiple of the block size
// and encrypts it in place (appending to plaintext for the padding, so the
// result may or may not share its array). nextIV is a copy of the last
// ciphertext block: the IV of the next message of the exchange.
func encryptCBC(e EncAlg, key, iv, plaintext []byte) (ciphertext, nextIV []byte, err error) {
	b, err := e.block(key)
	if err != nil {
		return nil, nil, err
	}
	bs := b.BlockSize()
	if len(iv) != bs {
		return nil, nil, errIVLength
	}
	if len(plaintext) == 0 {
		return nil, nil, errCipherLength
	}
	for len(plaintext)%bs != 0 {
		plaintext = append(plaintext, 0)
	}
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(plaintext, plaintext)
	nextIV = append([]byte(nil), plaintext[len(plaintext)-bs:]...)
	return plaintext, nextIV, nil
}

// decryptCBC decrypts ciphertext into a new slice (the input is not
// modified). The padding is left in place. nextIV is a copy of the last block
// of the ciphertext.
func decryptCBC(e EncAlg, key, iv, ciphertext []byte) (plaintext, nextIV []byte, err error) {
	b, err := e.block(key)
	if err != nil {
		return nil, nil, err
	}
	bs := b.BlockSize()
	if len(iv) != bs {
		return nil, nil, errIVLength
	}
	if len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, nil, errCipherLength
	}
	nextIV = append([]byte(nil), ciphertext[len(ciphertext)-bs:]...)
	plaintext = make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plaintext, ciphertext)
	return plaintext, nextIV, nil
}
