package esp

import "testing"

const benchSize = 1400

func benchTransforms() []testTransform {
	return []testTransform{
		{Transform{AESCBC, HMACSHA1_96}, 16 + 20},
		{Transform{AESCBC, HMACSHA256_128}, 16 + 32},
		{Transform{AESCBC, HMACSHA256_128}, 32 + 32},
		{Transform{AESCBC, HMACSHA384_192}, 32 + 48},
		{Transform{AESCBC, HMACSHA512_256}, 32 + 64},
		{Transform{AESCBC, HMACMD5_96}, 16 + 16},
		{Transform{TripleDES, HMACSHA1_96}, 24 + 20},
		{Transform{Enc: AESGCM16}, 16 + 4},
		{Transform{Enc: AESGCM16}, 32 + 4},
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, tt := range benchTransforms() {
		b.Run(tt.String(), func(b *testing.B) {
			out, _ := newPair(b, tt, Transport)
			buf := make([]byte, out.Headroom()+benchSize+out.Tailroom())
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := out.Seal(buf, out.Headroom(), benchSize, 17); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen opens the same sealed packet again and again; each round
// copies it back (the decryption is in place) and clears the replay window.
func BenchmarkOpen(b *testing.B) {
	for _, tt := range benchTransforms() {
		b.Run(tt.String(), func(b *testing.B) {
			out, in := newPair(b, tt, Transport)
			pkt := seal(b, out, make([]byte, benchSize), 17)
			work := make([]byte, len(pkt))
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				copy(work, pkt)
				in.window = replayWindow{}
				if _, _, err := in.Open(work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
