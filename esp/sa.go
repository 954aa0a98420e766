package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	headerLen  = 8  // SPI + sequence number, RFC 4303 section 2
	gcmIVLen   = 8  // explicit IV, RFC 4106 section 3.1
	gcmSaltLen = 4  // RFC 4106 section 8.1
	gcmICVLen  = 16 // the "16" in AES-GCM-16
	trailerLen = 2  // pad length + next header
	maxSeq     = math.MaxUint32
)

// cbcMode is a CBC BlockMode whose IV can be reset; the standard library's
// CBC encrypters and decrypters implement it (crypto/tls relies on it too).
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// SA is one direction of an ESP security association: an outbound SA seals,
// an inbound SA opens; use each SA for one of the two only. Its methods are
// safe for concurrent use; per-packet crypto state is serialised by an
// internal mutex. The mode is recorded for the caller (Mode) and does not
// change the processing: the caller passes the matching next header.
type SA struct {
	spi  uint32
	t    Transform
	mode Mode

	ivLen  int // bytes of IV after the sequence number
	align  int // payload+trailer is padded to a multiple of this
	icvLen int

	// seq is, for an outbound SA, the last sequence number sent, and for an
	// inbound SA the highest authenticated sequence number received.
	seq atomic.Uint64

	mu sync.Mutex // guards everything below

	// AES-GCM
	aead  cipher.AEAD
	nonce [12]byte // salt || explicit IV

	// CBC + HMAC
	enc, dec cbcMode
	ivGen    cipher.Block // AES under a random key: IV = E(seq), unpredictable and unique
	ivIn     [aes.BlockSize]byte
	ivOut    [aes.BlockSize]byte
	mac      hash.Hash
	macSum   [64]byte

	window replayWindow
}

// NewSA creates one direction of an SA with the given SPI and transform.
// keymat is the encryption key followed by the integrity key, as IKEv1 KEYMAT
// is split (RFC 2409 section 5.5); for AES-GCM it is the key followed by the
// 4-byte salt. rand supplies the secret that makes CBC IVs unpredictable; nil
// means crypto/rand. keymat is not retained.
func NewSA(spi uint32, t Transform, keymat []byte, mode Mode, rand io.Reader) (*SA, error) {
	if mode != Transport && mode != Tunnel {
		return nil, &TransformError{Transform: t, Reason: "unknown mode " + mode.String()}
	}
	lens := t.KeyLens()
	if lens == nil {
		return nil, &TransformError{Transform: t, Reason: transformReason(t)}
	}
	if (t.Enc == AESGCM16) != (t.Integ == None) {
		return nil, &TransformError{Transform: t, Reason: transformReason(t)}
	}
	if !slices.Contains(lens, len(keymat)) {
		return nil, &KeyLengthError{Transform: t, Got: len(keymat), Want: lens}
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	s := &SA{spi: spi, t: t, mode: mode}

	if t.Enc == AESGCM16 {
		keyLen := len(keymat) - gcmSaltLen
		block, err := aes.NewCipher(keymat[:keyLen])
		if err != nil {
			return nil, fmt.Errorf("esp: %v: %w", t, err)
		}
		s.aead, err = cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("esp: %v: %w", t, err)
		}
		copy(s.nonce[:gcmSaltLen], keymat[keyLen:])
		s.ivLen, s.align, s.icvLen = gcmIVLen, 4, gcmICVLen
		return s, nil
	}

	newHash, macKeyLen, icvLen, _ := t.Integ.params()
	encKey := keymat[:len(keymat)-macKeyLen]
	var block cipher.Block
	var err error
	if t.Enc == TripleDES {
		block, err = des.NewTripleDESCipher(encKey)
	} else {
		block, err = aes.NewCipher(encKey)
	}
	if err != nil {
		return nil, fmt.Errorf("esp: %v: %w", t, err)
	}
	bs := block.BlockSize()
	zeroIV := make([]byte, bs)
	var ok1, ok2 bool
	s.enc, ok1 = cipher.NewCBCEncrypter(block, zeroIV).(cbcMode)
	s.dec, ok2 = cipher.NewCBCDecrypter(block, zeroIV).(cbcMode)
	if !ok1 || !ok2 {
		return nil, &TransformError{Transform: t, Reason: "cbc mode without SetIV"}
	}
	var ivKey [16]byte
	if _, err := io.ReadFull(rand, ivKey[:]); err != nil {
		return nil, fmt.Errorf("esp: reading random iv secret: %w", err)
	}
	s.ivGen, err = aes.NewCipher(ivKey[:])
	if err != nil {
		return nil, fmt.Errorf("esp: %w", err)
	}
	s.mac = hmac.New(newHash, keymat[len(encKey):])
	s.ivLen, s.align, s.icvLen = bs, bs, icvLen
	return s, nil
}

func transformReason(t Transform) string {
	switch {
	case t.Enc.encKeyLens() == nil:
		return "unknown encryption algorithm"
	case t.Enc == AESGCM16 && t.Integ != None:
		return "aes-gcm is an aead and takes no integrity algorithm"
	case t.Enc != AESGCM16 && t.Integ == None:
		return "cbc encryption needs an integrity algorithm"
	}
	return "unknown integrity algorithm"
}

// SPI returns the SA's security parameter index.
func (s *SA) SPI() uint32 { return s.spi }

// Transform returns the SA's transform.
func (s *SA) Transform() Transform { return s.t }

// Mode returns the SA's mode.
func (s *SA) Mode() Mode { return s.mode }

// Seq returns, for an outbound SA, the last sequence number sent (0 before
// the first Seal), and for an inbound SA the highest sequence number
// received and authenticated.
func (s *SA) Seq() uint64 { return s.seq.Load() }

// Headroom returns the bytes Seal writes before the payload: the ESP header
// and the IV.
func (s *SA) Headroom() int { return headerLen + s.ivLen }

// Tailroom returns the most bytes Seal writes after the payload: padding,
// pad length, next header and ICV.
func (s *SA) Tailroom() int { return s.align - 1 + trailerLen + s.icvLen }

// Seal encrypts in place. buf[off:off+n] holds the payload (transport mode:
// the UDP header and data; tunnel mode: the inner IP packet). Seal writes the
// ESP header and IV into buf[off-Headroom():off], and the padding, trailer and
// ICV after the payload, within cap(buf). It returns the ESP packet, a slice
// of buf starting at off-Headroom(). nextHeader is 17 (UDP) in transport mode
// or 4 (IPv4) in tunnel mode. Seal returns ErrSeqExhausted once 2^32-1
// packets have been sent (RFC 4303 section 3.3.3); the SA must then be
// replaced.
func (s *SA) Seal(buf []byte, off, n int, nextHeader byte) ([]byte, error) {
	hr := s.Headroom()
	if off < hr || n < 0 || off > cap(buf) || n > cap(buf)-off {
		return nil, ErrBufferSpace
	}
	buf = buf[:cap(buf)]
	padLen := (s.align - (n+trailerLen)%s.align) % s.align
	end := off + n + padLen + trailerLen // end of the encrypted part
	if len(buf)-end < s.icvLen {
		return nil, ErrBufferSpace
	}
	start := off - hr

	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.seq.Load() + 1
	if seq > maxSeq {
		return nil, ErrSeqExhausted
	}
	s.seq.Store(seq)

	// RFC 4303 section 2.4: padding bytes are 1, 2, 3, ...
	pad := buf[off+n : off+n+padLen]
	for i := range pad {
		pad[i] = byte(i + 1)
	}
	buf[end-2] = byte(padLen)
	buf[end-1] = nextHeader
	binary.BigEndian.PutUint32(buf[start:], s.spi)
	binary.BigEndian.PutUint32(buf[start+4:], uint32(seq))
	iv := buf[start+headerLen : off]

	if s.aead != nil {
		// RFC 4106 section 3.1: the IV must be unique for the key; the
		// sequence number is (it never wraps).
		binary.BigEndian.PutUint64(iv, seq)
		copy(s.nonce[gcmSaltLen:], iv)
		// AAD is SPI || sequence number (RFC 4106 section 5, no ESN).
		s.aead.Seal(buf[off:off], s.nonce[:], buf[off:end], buf[start:start+headerLen])
		return buf[start : end+s.icvLen], nil
	}

	// CBC IV (RFC 3602 section 2.3: unpredictable): encrypt the sequence
	// number under a random key known only to this SA.
	binary.BigEndian.PutUint64(s.ivIn[:], seq)
	s.ivGen.Encrypt(s.ivOut[:], s.ivIn[:])
	copy(iv, s.ivOut[:])
	s.enc.SetIV(iv)
	s.enc.CryptBlocks(buf[off:end], buf[off:end])

	s.mac.Reset()
	s.mac.Write(buf[start:end])
	sum := s.mac.Sum(s.macSum[:0])
	copy(buf[end:end+s.icvLen], sum)
	return buf[start : end+s.icvLen], nil
}

// Open authenticates and decrypts an ESP packet (starting at the SPI) in
// place, checks the anti-replay window and the padding, and returns the
// payload, which aliases pkt, and the next header. A next header of 59
// (NextHeaderNone) marks a dummy packet that the caller must drop. On error
// the contents of pkt are unspecified.
func (s *SA) Open(pkt []byte) (payload []byte, nextHeader byte, err error) {
	if len(pkt) < headerLen+s.ivLen+trailerLen+s.icvLen {
		return nil, 0, ErrMalformed
	}
	if binary.BigEndian.Uint32(pkt) != s.spi {
		return nil, 0, ErrWrongSPI
	}
	seq := uint64(binary.BigEndian.Uint32(pkt[4:]))
	ctStart := headerLen + s.ivLen
	ctEnd := len(pkt) - s.icvLen

	s.mu.Lock()
	defer s.mu.Unlock()
	// RFC 4303 section 3.4.3: reject duplicates cheaply before the ICV, but
	// move the window only after the ICV verified.
	if !s.window.check(seq) {
		return nil, 0, ErrReplay
	}

	var pt []byte
	if s.aead != nil {
		copy(s.nonce[gcmSaltLen:], pkt[headerLen:ctStart])
		pt, err = s.aead.Open(pkt[ctStart:ctStart], s.nonce[:], pkt[ctStart:], pkt[:headerLen])
		if err != nil {
			return nil, 0, ErrAuth
		}
	} else {
		if (ctEnd-ctStart)%s.align != 0 {
			return nil, 0, ErrMalformed
		}
		s.mac.Reset()
		s.mac.Write(pkt[:ctEnd])
		sum := s.mac.Sum(s.macSum[:0])
		if !hmac.Equal(sum[:s.icvLen], pkt[ctEnd:]) {
			return nil, 0, ErrAuth
		}
		pt = pkt[ctStart:ctEnd]
		s.dec.SetIV(pkt[headerLen:ctStart])
		s.dec.CryptBlocks(pt, pt)
	}
	s.window.accept(seq)
	s.seq.Store(s.window.top)

	if len(pt) < trailerLen {
		return nil, 0, ErrMalformed
	}
	nextHeader = pt[len(pt)-1]
	padLen := int(pt[len(pt)-2])
	if padLen > len(pt)-trailerLen {
		return nil, 0, ErrPadding
	}
	payloadEnd := len(pt) - trailerLen - padLen
	for i, b := range pt[payloadEnd : len(pt)-trailerLen] {
		if b != byte(i+1) {
			return nil, 0, ErrPadding
		}
	}
	return pt[:payloadEnd], nextHeader, nil
}
