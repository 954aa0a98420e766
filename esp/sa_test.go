package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

type testTransform struct {
	t      Transform
	keyLen int // total keying material
}

func (tt testTransform) String() string {
	encLen := tt.keyLen
	if tt.t.Integ != None {
		_, k, _, _ := tt.t.Integ.params()
		encLen -= k
	}
	if tt.t.Enc == AESGCM16 {
		encLen -= 4
	}
	return fmt.Sprintf("%v-%d+%v", tt.t.Enc, encLen*8, tt.t.Integ)
}

// allTransforms lists every supported transform and key size.
func allTransforms() []testTransform {
	var out []testTransform
	integs := []IntegAlg{HMACSHA1_96, HMACSHA256_128, HMACSHA384_192, HMACSHA512_256, HMACMD5_96, HMACSHA256_96}
	for _, enc := range []EncAlg{AESCBC, TripleDES, AESGCM16} {
		for _, integ := range integs {
			if enc == AESGCM16 {
				integ = None
			}
			t := Transform{Enc: enc, Integ: integ}
			for _, l := range t.KeyLens() {
				out = append(out, testTransform{t, l})
			}
			if enc == AESGCM16 {
				break
			}
		}
	}
	return out
}

func testKeymat(n int, seed byte) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i*7)
	}
	return k
}

// newPair returns an outbound and an inbound SA sharing keys.
func newPair(t testing.TB, tt testTransform, mode Mode) (out, in *SA) {
	t.Helper()
	km := testKeymat(tt.keyLen, 1)
	out, err := NewSA(0x11223344, tt.t, km, mode, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err = NewSA(0x11223344, tt.t, km, mode, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, in
}

// seal copies payload into a fresh buffer with exact headroom and tailroom
// and seals it.
func seal(t testing.TB, sa *SA, payload []byte, nh byte) []byte {
	t.Helper()
	buf := make([]byte, sa.Headroom()+len(payload)+sa.Tailroom())
	copy(buf[sa.Headroom():], payload)
	pkt, err := sa.Seal(buf, sa.Headroom(), len(payload), nh)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, tt := range allTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			for _, mode := range []Mode{Transport, Tunnel} {
				out, in := newPair(t, tt, mode)
				for n := 0; n <= 70; n++ {
					payload := testKeymat(n, byte(n))
					pkt := seal(t, out, payload, NextHeaderUDP)
					if len(pkt) > out.Headroom()+n+out.Tailroom() {
						t.Fatalf("n=%d: packet %d bytes exceeds headroom+n+tailroom", n, len(pkt))
					}
					if out.Seq() != uint64(n+1) {
						t.Fatalf("Seq() = %d, want %d", out.Seq(), n+1)
					}
					// Independent decryption with the standard library.
					got, nh := rawOpen(t, tt, testKeymat(tt.keyLen, 1), pkt)
					if !bytes.Equal(got, payload) || nh != NextHeaderUDP {
						t.Fatalf("n=%d: raw open got %x nh %d", n, got, nh)
					}
					got, nh, err := in.Open(pkt)
					if err != nil {
						t.Fatalf("n=%d: Open: %v", n, err)
					}
					if !bytes.Equal(got, payload) || nh != NextHeaderUDP {
						t.Fatalf("n=%d: Open got %x nh %d, want %x", n, got, nh, payload)
					}
				}
			}
		})
	}
}

// TestOpenRawPackets opens packets built with the standard library alone
// (arbitrary IVs, every pad length) and checks that bad padding is refused.
func TestOpenRawPackets(t *testing.T) {
	for _, tt := range allTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			km := testKeymat(tt.keyLen, 9)
			in, err := NewSA(0xabcdef01, tt.t, km, Transport, nil)
			if err != nil {
				t.Fatal(err)
			}
			align := in.align
			seq := uint32(0)
			for padLen := 0; padLen < 40; padLen++ {
				for _, bad := range []bool{false, true} {
					if bad && padLen == 0 {
						continue
					}
					payload := []byte("l2tp payload")
					pt := append([]byte{}, payload...)
					for i := range padLen {
						pt = append(pt, byte(i+1))
					}
					if bad {
						pt[len(pt)-1] ^= 0x80
					}
					pt = append(pt, byte(padLen), 17)
					for len(pt)%align != 0 { // keep the cipher happy; makes the pad length lie
						pt = append([]byte{0}, pt...)
						payload = append([]byte{0}, payload...)
					}
					seq++
					pkt := rawSeal(t, tt, km, 0xabcdef01, seq, pt)
					got, nh, err := in.Open(pkt)
					if bad {
						if !errors.Is(err, ErrPadding) {
							t.Fatalf("pad %d bad: err = %v, want ErrPadding", padLen, err)
						}
						continue
					}
					if err != nil || nh != 17 || !bytes.Equal(got, payload) {
						t.Fatalf("pad %d: got %q %d %v", padLen, got, nh, err)
					}
				}
			}
			// A pad length larger than the plaintext.
			seq++
			pt := make([]byte, align)
			pt[len(pt)-2] = 0xFF
			if _, _, err := in.Open(rawSeal(t, tt, km, 0xabcdef01, seq, pt)); !errors.Is(err, ErrPadding) {
				t.Fatalf("huge pad length: err = %v", err)
			}
		})
	}
}

func rawKeys(tt testTransform, km []byte) (block cipher.Block, macKey []byte, integ IntegAlg) {
	var err error
	switch tt.t.Enc {
	case AESGCM16:
		block, err = aes.NewCipher(km[:len(km)-4])
	case TripleDES:
		_, kl, _, _ := tt.t.Integ.params()
		block, err = des.NewTripleDESCipher(km[:len(km)-kl])
		macKey = km[len(km)-kl:]
	default:
		_, kl, _, _ := tt.t.Integ.params()
		block, err = aes.NewCipher(km[:len(km)-kl])
		macKey = km[len(km)-kl:]
	}
	if err != nil {
		panic(err)
	}
	return block, macKey, tt.t.Integ
}

// rawSeal builds an ESP packet from a plaintext that already holds its
// padding and trailer, using the standard library only.
func rawSeal(t testing.TB, tt testTransform, km []byte, spi, seq uint32, pt []byte) []byte {
	t.Helper()
	block, macKey, integ := rawKeys(tt, km)
	hdr := binary.BigEndian.AppendUint32(nil, spi)
	hdr = binary.BigEndian.AppendUint32(hdr, seq)
	if tt.t.Enc == AESGCM16 {
		gcm, _ := cipher.NewGCM(block)
		iv := []byte{0xde, 0xad, 0xbe, 0xef, byte(seq), 1, 2, 3}
		nonce := append(append([]byte{}, km[len(km)-4:]...), iv...)
		pkt := append(hdr, iv...)
		return gcm.Seal(pkt, nonce, pt, hdr[:8])
	}
	iv := bytes.Repeat([]byte{byte(seq) ^ 0x5a}, block.BlockSize())
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	pkt := append(append(hdr, iv...), ct...)
	newHash, _, icvLen, _ := integ.params()
	m := hmac.New(newHash, macKey)
	m.Write(pkt)
	return append(pkt, m.Sum(nil)[:icvLen]...)
}

// rawOpen decrypts an ESP packet with the standard library only and returns
// the payload and next header.
func rawOpen(t testing.TB, tt testTransform, km []byte, pkt []byte) ([]byte, byte) {
	t.Helper()
	block, macKey, integ := rawKeys(tt, km)
	var pt []byte
	if tt.t.Enc == AESGCM16 {
		gcm, _ := cipher.NewGCM(block)
		nonce := append(append([]byte{}, km[len(km)-4:]...), pkt[8:16]...)
		var err error
		pt, err = gcm.Open(nil, nonce, pkt[16:], pkt[:8])
		if err != nil {
			t.Fatalf("raw gcm open: %v", err)
		}
	} else {
		newHash, _, icvLen, _ := integ.params()
		m := hmac.New(newHash, macKey)
		m.Write(pkt[:len(pkt)-icvLen])
		if !bytes.Equal(m.Sum(nil)[:icvLen], pkt[len(pkt)-icvLen:]) {
			t.Fatal("raw open: icv mismatch")
		}
		bs := block.BlockSize()
		ct := pkt[8+bs : len(pkt)-icvLen]
		pt = make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, pkt[8:8+bs]).CryptBlocks(pt, ct)
	}
	padLen := int(pt[len(pt)-2])
	for i := range padLen {
		if pt[len(pt)-2-padLen+i] != byte(i+1) {
			t.Fatalf("raw open: bad padding %x", pt)
		}
	}
	if (8+len(pt))%4 != 0 && tt.t.Enc == AESGCM16 {
		t.Fatalf("gcm packet not 4-byte aligned: %d", 8+len(pt))
	}
	return pt[:len(pt)-2-padLen], pt[len(pt)-1]
}

func TestOpenBadICV(t *testing.T) {
	for _, tt := range allTransforms() {
		out, in := newPair(t, tt, Transport)
		pkt := seal(t, out, []byte("hello, l2tp"), NextHeaderUDP)
		for i := 8; i < len(pkt); i++ { // every byte after SPI and seq...
			for _, bit := range []byte{0x01, 0x80} {
				c := bytes.Clone(pkt)
				c[i] ^= bit
				if _, _, err := in.Open(c); !errors.Is(err, ErrAuth) {
					t.Fatalf("%v: byte %d flipped: err = %v, want ErrAuth", tt, i, err)
				}
			}
		}
		c := bytes.Clone(pkt)
		c[7] ^= 2 // ...and the sequence number, which the ICV covers
		if _, _, err := in.Open(c); !errors.Is(err, ErrAuth) {
			t.Fatalf("%v: seq flipped: err = %v", tt, err)
		}
		c = bytes.Clone(pkt)
		c[0] ^= 1
		if _, _, err := in.Open(c); !errors.Is(err, ErrWrongSPI) {
			t.Fatalf("%v: spi flipped: err = %v", tt, err)
		}
		// Failures did not move the window: the genuine packet still opens.
		if _, _, err := in.Open(pkt); err != nil {
			t.Fatalf("%v: genuine packet after forgeries: %v", tt, err)
		}
		if in.Seq() != 1 {
			t.Fatalf("%v: inbound Seq() = %d", tt, in.Seq())
		}
	}
}

// TestOpenTruncation: every prefix of a valid packet fails cleanly.
func TestOpenTruncation(t *testing.T) {
	for _, tt := range allTransforms() {
		out, in := newPair(t, tt, Tunnel)
		pkt := seal(t, out, bytes.Repeat([]byte{0x45}, 61), NextHeaderIPv4)
		for n := range len(pkt) {
			_, _, err := in.Open(bytes.Clone(pkt[:n]))
			if err == nil {
				t.Fatalf("%v: prefix %d of %d opened", tt, n, len(pkt))
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrWrongSPI) {
				t.Fatalf("%v: prefix %d: unexpected error %v", tt, n, err)
			}
		}
		if _, _, err := in.Open(pkt); err != nil {
			t.Fatalf("%v: whole packet: %v", tt, err)
		}
	}
}

func TestSealBufferSpace(t *testing.T) {
	out, _ := newPair(t, testTransform{Transform{AESCBC, HMACSHA1_96}, 36}, Transport)
	hr, tr := out.Headroom(), out.Tailroom()
	if hr != 24 || tr != 15+2+12 {
		t.Fatalf("Headroom %d Tailroom %d", hr, tr)
	}
	buf := make([]byte, hr+100+tr)
	cases := []struct{ off, n int }{
		{hr - 1, 10}, {-1, 10}, {hr, -1}, {hr, 100 + tr}, {len(buf) + 1, 0}, {hr, int(^uint(0) >> 1)},
	}
	for _, c := range cases {
		if _, err := out.Seal(buf, c.off, c.n, 17); !errors.Is(err, ErrBufferSpace) {
			t.Errorf("off %d n %d: err = %v", c.off, c.n, err)
		}
	}
	// A short len but enough cap is fine: Seal uses the capacity.
	pkt, err := out.Seal(buf[:hr+100], hr, 100, 17)
	if err != nil || len(pkt) != 8+16+112+12 {
		t.Fatalf("len %d err %v", len(pkt), err)
	}
	if out.Seq() != 1 {
		t.Fatalf("failed Seals consumed sequence numbers: Seq() = %d", out.Seq())
	}
}

func TestSeqExhausted(t *testing.T) {
	for _, tt := range []testTransform{{Transform{AESCBC, HMACSHA256_128}, 48}, {Transform{Enc: AESGCM16}, 20}} {
		out, in := newPair(t, tt, Transport)
		out.seq.Store(maxSeq - 1)
		pkt := seal(t, out, []byte("last"), 17)
		if binary.BigEndian.Uint32(pkt[4:]) != maxSeq {
			t.Fatalf("seq on the wire %x", pkt[4:8])
		}
		if _, _, err := in.Open(pkt); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		if _, err := out.Seal(buf, out.Headroom(), 4, 17); !errors.Is(err, ErrSeqExhausted) {
			t.Fatalf("err = %v, want ErrSeqExhausted", err)
		}
		if out.Seq() != maxSeq {
			t.Fatalf("Seq() = %d", out.Seq())
		}
	}
}

func TestNewSAErrors(t *testing.T) {
	cases := []struct {
		t      Transform
		keyLen int
		want   error
	}{
		{Transform{AESCBC, HMACSHA1_96}, 35, ErrKeyLength},
		{Transform{AESCBC, HMACSHA1_96}, 40, ErrKeyLength}, // whole 2-block KEYMAT: caller must cut it
		{Transform{TripleDES, HMACMD5_96}, 24, ErrKeyLength},
		{Transform{Enc: AESGCM16}, 32, ErrKeyLength},
		{Transform{AESGCM16, HMACSHA1_96}, 56, ErrTransform},
		{Transform{Enc: AESCBC}, 16, ErrTransform},
		{Transform{Enc: 0, Integ: HMACSHA1_96}, 36, ErrTransform},
		{Transform{AESCBC, 99}, 36, ErrTransform},
	}
	for _, c := range cases {
		_, err := NewSA(1000, c.t, make([]byte, c.keyLen), Transport, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%v with %d bytes: err = %v, want %v", c.t, c.keyLen, err, c.want)
		}
	}
	if _, err := NewSA(1000, Transform{Enc: AESGCM16}, make([]byte, 20), Mode(7), nil); !errors.Is(err, ErrTransform) {
		t.Errorf("bad mode: %v", err)
	}
	_, err := NewSA(1000, Transform{AESCBC, HMACSHA1_96}, make([]byte, 36), Transport, errReader{})
	if err == nil {
		t.Error("failing rand accepted")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// TestCBCIVsDiffer: two packets with the same payload get different IVs
// and ciphertexts.
func TestCBCIVsDiffer(t *testing.T) {
	out, _ := newPair(t, testTransform{Transform{AESCBC, HMACSHA1_96}, 36}, Transport)
	a := seal(t, out, make([]byte, 32), 17)
	b := seal(t, out, make([]byte, 32), 17)
	if bytes.Equal(a[8:24], b[8:24]) || bytes.Equal(a[24:56], b[24:56]) {
		t.Fatal("IV or ciphertext repeated")
	}
}

func TestSealOpenZeroAllocs(t *testing.T) {
	const runs = 100
	for _, tt := range allTransforms() {
		out, in := newPair(t, tt, Transport)
		buf := make([]byte, out.Headroom()+1400+out.Tailroom())
		if a := testing.AllocsPerRun(runs, func() {
			if _, err := out.Seal(buf, out.Headroom(), 1400, 17); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v: Seal allocates %v per packet", tt, a)
		}
		pkts := make([][]byte, runs+1) // AllocsPerRun runs once more to warm up
		for i := range pkts {
			pkts[i] = seal(t, out, make([]byte, 1400), 17)
		}
		i := 0
		if a := testing.AllocsPerRun(runs, func() {
			if _, _, err := in.Open(pkts[i]); err != nil {
				t.Fatal(err)
			}
			i++
		}); a != 0 {
			t.Errorf("%v: Open allocates %v per packet", tt, a)
		}
	}
}

// TestConcurrentSeal: Seal from several goroutines hands out distinct
// sequence numbers and every packet opens (run with -race).
func TestConcurrentSeal(t *testing.T) {
	out, in := newPair(t, testTransform{Transform{AESCBC, HMACSHA256_128}, 48}, Transport)
	const workers, each = 4, 50
	pkts := make(chan []byte, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				buf := make([]byte, out.Headroom()+64+out.Tailroom())
				pkt, err := out.Seal(buf, out.Headroom(), 64, 17)
				if err != nil {
					t.Error(err)
					return
				}
				pkts <- pkt
			}
		})
	}
	wg.Wait()
	close(pkts)
	for pkt := range pkts {
		if _, _, err := in.Open(pkt); err != nil {
			t.Fatalf("seq %x: %v", pkt[4:8], err)
		}
	}
	if out.Seq() != workers*each || in.Seq() != workers*each {
		t.Fatalf("Seq out %d in %d", out.Seq(), in.Seq())
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []fmt.Stringer{
		AESCBC, TripleDES, AESGCM16, EncAlg(9), None, HMACSHA1_96, HMACSHA256_128, HMACSHA384_192,
		HMACSHA512_256, HMACMD5_96, IntegAlg(9), Transport, Tunnel, Mode(9),
		KindInvalid, KindKeepalive, KindIKE, KindESP, Kind(9),
		Transform{AESCBC, HMACSHA1_96}, Transform{Enc: AESGCM16},
	} {
		if s.String() == "" {
			t.Errorf("%#v: empty String()", s)
		}
	}
	if got := (Transform{AESCBC, HMACSHA256_128}).String(); got != "aes-cbc/hmac-sha256-128" {
		t.Errorf("got %q", got)
	}
}

// TestErrorsNoKeyBytes: error strings carry lengths, never key bytes.
func TestErrorsNoKeyBytes(t *testing.T) {
	km := bytes.Repeat([]byte{0xAB}, 37)
	_, err := NewSA(1000, Transform{AESCBC, HMACSHA1_96}, km, Transport, nil)
	if err == nil || bytes.Contains([]byte(err.Error()), []byte("ab")) {
		t.Fatalf("err = %v", err)
	}
}
