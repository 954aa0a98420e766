package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
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

var errNoSetIV = errors.New("cbc mode without SetIV")

// SA is one direction of an ESP security association: an outbound SA seals,
// an inbound SA opens; use each SA for one of the two only. Its methods are
// safe for concurrent use and run in parallel: Seal takes its sequence
// number with one atomic add, the cipher work of Seal and Open uses
// per-call scratch (scratch.go) and no lock, and only Open's final
// anti-replay check and window update, after the ICV, take a lock. The mode is recorded for the caller
// (Mode) and does not change the processing: the caller passes the
// matching next header.
type SA struct {
	spi  uint32
	t    Transform
	mode Mode

	ivLen  int // bytes of IV after the sequence number
	align  int // payload+trailer is padded to a multiple of this
	icvLen int

	// Read-only after NewSA, shared by concurrent calls.
	aead  cipher.AEAD  // AES-GCM; its Seal and Open only read the key schedule
	ivGen cipher.Block // CBC: AES under a random key: IV = E(seq), unpredictable and unique
	work  scratchPool  // per-call state

	// seq is written by every packet: a cache line of its own, so that
	// the read-only fields above stay in every processor's cache.
	_ [cacheLine]byte
	// seq is, for an outbound SA, the number of sequence numbers taken
	// (the last one sent while at most maxSeq; Seal's atomic add carries
	// it past maxSeq once they are used up, and it never wraps).
	seq atomic.Uint64
	_   [cacheLine - 8]byte

	// window is read without a lock (replayWindow.check) and updated under
	// mu; its top is an inbound SA's highest authenticated sequence number.
	mu     sync.Mutex
	window replayWindow
}

// cacheLine is the cache line size of common processors (x86-64, most
// arm64), for padding.
const cacheLine = 64

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
		var salt [gcmSaltLen]byte
		copy(salt[:], keymat[keyLen:])
		s.work.init(func() *scratch {
			w := new(scratch)
			copy(w.nonce[:gcmSaltLen], salt[:])
			return w
		})
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
	// The keyed HMAC state that every call's copy starts from; Reset
	// precomputes the padded keys' hash state, which the copies share.
	mac, ok := hmac.New(newHash, keymat[len(encKey):]).(hash.Cloner)
	if !ok {
		return nil, &TransformError{Transform: t, Reason: "hmac state cannot be copied"}
	}
	mac.Reset()
	first, err := newCBCScratch(block, mac)
	if err != nil {
		return nil, &TransformError{Transform: t, Reason: err.Error()}
	}
	s.work.init(func() *scratch {
		w, err := newCBCScratch(block, mac)
		if err != nil { // NewSA built one from the same values
			panic("esp: " + err.Error())
		}
		return w
	})
	s.work.slots[0].s = first
	var ivKey [16]byte
	if _, err := io.ReadFull(rand, ivKey[:]); err != nil {
		return nil, fmt.Errorf("esp: reading random iv secret: %w", err)
	}
	s.ivGen, err = aes.NewCipher(ivKey[:])
	if err != nil {
		return nil, fmt.Errorf("esp: %w", err)
	}
	bs := block.BlockSize()
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

// Seq returns, for an outbound SA, the last sequence number Seal took (0
// before the first Seal; at most 2^32-1), and for an inbound SA the highest
// sequence number received and authenticated.
func (s *SA) Seq() uint64 {
	// An SA works in one direction: the other one's value is 0.
	return max(min(s.seq.Load(), maxSeq), s.window.top.Load())
}

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
// replaced. Seal is ReserveSeq(1) and SealSeq with that number.
func (s *SA) Seal(buf []byte, off, n int, nextHeader byte) ([]byte, error) {
	if err := s.checkSeal(buf, off, n); err != nil {
		return nil, err
	}
	seq, err := s.ReserveSeq(1)
	if err != nil {
		return nil, err
	}
	return s.seal(buf, off, n, nextHeader, seq), nil
}

// ReserveSeq takes the next n sequence numbers of an outbound SA, first to
// first+n-1, for SealSeq: a batch sealed in parallel reserves its numbers
// in the order its packets will be sent, so that they leave in sequence
// (a receiver's replay window may be as small as 32). Numbers past 2^32-1
// are never used: ReserveSeq returns ErrSeqExhausted when none of the block
// is left, and SealSeq refuses each number past it, as Seal does. A block
// that is not used up leaves a gap, which receivers accept. n < 1 reserves
// nothing and returns the next number.
func (s *SA) ReserveSeq(n int) (first uint64, err error) {
	if n < 1 {
		return s.seq.Load() + 1, nil
	}
	// The counter goes on past maxSeq and never wraps (2^64 numbers).
	first = s.seq.Add(uint64(n)) - uint64(n) + 1
	if first > maxSeq {
		return 0, ErrSeqExhausted
	}
	return first, nil
}

// errSeqZero: sequence number 0 is never sent (RFC 4303 section 3.3.3).
var errSeqZero = errors.New("esp: sequence number 0 was not reserved")

// SealSeq is Seal with sequence number seq, which must come from
// ReserveSeq on this SA and be used once: AES-GCM's IV is the sequence
// number, and a repeated one would reveal the key stream. It is safe for
// concurrent use with distinct numbers. It returns ErrSeqExhausted for a
// number past 2^32-1.
func (s *SA) SealSeq(buf []byte, off, n int, nextHeader byte, seq uint64) ([]byte, error) {
	if err := s.checkSeal(buf, off, n); err != nil {
		return nil, err
	}
	switch {
	case seq == 0:
		return nil, errSeqZero
	case seq > maxSeq:
		return nil, ErrSeqExhausted
	}
	return s.seal(buf, off, n, nextHeader, seq), nil
}

// seal is SealSeq after the checks.
func (s *SA) seal(buf []byte, off, n int, nextHeader byte, seq uint64) []byte {
	hr := s.Headroom()
	buf = buf[:cap(buf)]
	padLen := (s.align - (n+trailerLen)%s.align) % s.align
	end := off + n + padLen + trailerLen // end of the encrypted part
	start := off - hr

	// RFC 4303 section 2.4: padding bytes are 1, 2, 3, ...
	pad := buf[off+n : off+n+padLen]
	for i := range pad {
		pad[i] = byte(i + 1)
	}
	buf[end-2] = byte(padLen)
	buf[end-1] = nextHeader
	binary.BigEndian.PutUint32(buf[start:], s.spi)
	binary.BigEndian.PutUint32(buf[start+4:], uint32(seq))

	w, slot := s.work.get()
	s.encrypt(w, buf, start, off, end, seq)
	s.work.put(slot)
	return buf[start : end+s.icvLen]
}

// checkSeal checks that buf has room for sealing buf[off:off+n]: the
// headroom before off, and the padding, trailer and ICV within cap(buf).
func (s *SA) checkSeal(buf []byte, off, n int) error {
	if off < s.Headroom() || n < 0 || off > cap(buf) || n > cap(buf)-off {
		return ErrBufferSpace
	}
	padLen := (s.align - (n+trailerLen)%s.align) % s.align
	if cap(buf)-(off+n+padLen+trailerLen) < s.icvLen {
		return ErrBufferSpace
	}
	return nil
}

// encrypt encrypts buf[off:end] in place and writes the IV before it and
// the ICV after it; buf[start:off] holds the ESP header.
func (s *SA) encrypt(w *scratch, buf []byte, start, off, end int, seq uint64) {
	iv := buf[start+headerLen : off]
	if s.aead != nil {
		// RFC 4106 section 3.1: the IV must be unique for the key; the
		// sequence number is (it never wraps).
		binary.BigEndian.PutUint64(iv, seq)
		copy(w.nonce[gcmSaltLen:], iv)
		// AAD is SPI || sequence number (RFC 4106 section 5, no ESN).
		s.aead.Seal(buf[off:off], w.nonce[:], buf[off:end], buf[start:start+headerLen])
		return
	}

	// CBC IV (RFC 3602 section 2.3: unpredictable): encrypt the sequence
	// number under a random key known only to this SA.
	binary.BigEndian.PutUint64(w.ivIn[:], seq)
	s.ivGen.Encrypt(w.ivOut[:], w.ivIn[:])
	copy(iv, w.ivOut[:])
	w.enc.SetIV(iv)
	w.enc.CryptBlocks(buf[off:end], buf[off:end])

	w.mac.Reset()
	w.mac.Write(buf[start:end])
	sum := w.mac.Sum(w.macSum[:0])
	copy(buf[end:end+s.icvLen], sum)
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

	// RFC 4303 section 3.4.3: reject duplicates cheaply before the ICV
	// (without the lock: see replayWindow), but move the window only after
	// the ICV verified. A copy of this packet opened at the same time may
	// pass the first check too; the second check, in the critical section
	// that records the number, lets exactly one of them through.
	if !s.window.check(seq) {
		return nil, 0, ErrReplay
	}
	if s.aead == nil && (ctEnd-ctStart)%s.align != 0 {
		return nil, 0, ErrMalformed
	}

	w, slot := s.work.get()
	pt, ok := s.decrypt(w, pkt, ctStart, ctEnd)
	s.work.put(slot)
	if !ok {
		return nil, 0, ErrAuth
	}

	s.mu.Lock()
	fresh := s.window.check(seq)
	if fresh {
		s.window.accept(seq)
	}
	s.mu.Unlock()
	if !fresh {
		return nil, 0, ErrReplay
	}

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

// decrypt verifies the ICV of pkt and decrypts pkt[ctStart:ctEnd] in place
// (for AES-GCM, both at once). It returns the plaintext, or false if the
// ICV did not verify.
func (s *SA) decrypt(w *scratch, pkt []byte, ctStart, ctEnd int) ([]byte, bool) {
	if s.aead != nil {
		copy(w.nonce[gcmSaltLen:], pkt[headerLen:ctStart])
		pt, err := s.aead.Open(pkt[ctStart:ctStart], w.nonce[:], pkt[ctStart:], pkt[:headerLen])
		return pt, err == nil
	}
	w.mac.Reset()
	w.mac.Write(pkt[:ctEnd])
	sum := w.mac.Sum(w.macSum[:0])
	if !hmac.Equal(sum[:s.icvLen], pkt[ctEnd:]) {
		return nil, false
	}
	pt := pkt[ctStart:ctEnd]
	w.dec.SetIV(pkt[headerLen:ctStart])
	w.dec.CryptBlocks(pt, pt)
	return pt, true
}
