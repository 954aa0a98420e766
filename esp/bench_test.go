package esp

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

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

// BenchmarkOpen opens packets from a ring of openRing sealed ones (the
// decryption is in place: each is copied first), clearing the replay window
// after each round.
func BenchmarkOpen(b *testing.B) {
	for _, tt := range benchTransforms() {
		b.Run(tt.String(), func(b *testing.B) {
			out, in := newPair(b, tt, Transport)
			ring := make([][]byte, openRing)
			for i := range ring {
				ring[i] = seal(b, out, make([]byte, benchSize), 17)
			}
			work := make([]byte, len(ring[0]))
			b.SetBytes(benchSize)
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				if k == openRing {
					in.resetReplay()
					k = 0
				}
				copy(work, ring[k])
				k++
				if _, _, err := in.Open(work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// openRing is how many sealed packets the Open benchmarks cycle through:
// within the replay window.
const openRing = 1024

// parallelTransforms are what the parallel benchmarks run: the AEAD and the
// most common CBC + HMAC.
func parallelTransforms() []testTransform {
	return []testTransform{
		{Transform{AESCBC, HMACSHA1_96}, 16 + 20},
		{Transform{Enc: AESGCM16}, 16 + 4},
	}
}

// BenchmarkSealParallel: GOMAXPROCS goroutines seal with one SA, each into
// its own buffer.
func BenchmarkSealParallel(b *testing.B) {
	for _, tt := range parallelTransforms() {
		b.Run(tt.String(), func(b *testing.B) {
			out, _ := newPair(b, tt, Transport)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, out.Headroom()+benchSize+out.Tailroom())
				for pb.Next() {
					if _, err := out.Seal(buf, out.Headroom(), benchSize, 17); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkOpenParallel: GOMAXPROCS goroutines open with one SA. The
// packets come from a ring of openRing sealed ones (sequence numbers 1 to
// openRing), each opened once per round; openSAs inbound SAs take turns by
// round, and the first goroutine to need an SA for a new round clears its
// window (the others wait for that). Only a goroutine descheduled for
// openSAs rounds (thousands of packets) meets a window cleared under it;
// its packet is refused as a replay and counted (replays/op), not failed.
func BenchmarkOpenParallel(b *testing.B) {
	const (
		openSAs   = 16
		openChunk = 64 // divides openRing
	)
	for _, tt := range parallelTransforms() {
		b.Run(tt.String(), func(b *testing.B) {
			out, _ := newPair(b, tt, Transport)
			var ins [openSAs]struct {
				sa    *SA
				mu    sync.Mutex
				round atomic.Uint64 // the round whose packets the SA takes
			}
			for i := range ins {
				_, ins[i].sa = newPair(b, tt, Transport)
				ins[i].round.Store(uint64(i))
			}
			ring := make([][]byte, openRing)
			for i := range ring {
				ring[i] = seal(b, out, make([]byte, benchSize), 17)
			}
			var next, replays atomic.Uint64
			b.SetBytes(benchSize)
			b.ReportAllocs()
			b.ResetTimer() // not the ring and the SAs
			b.RunParallel(func(pb *testing.PB) {
				work := make([]byte, len(ring[0]))
				var j, end uint64 // this goroutine's share of the packets
				for pb.Next() {
					if j == end { // take openChunk packets at a time, not one shared add per packet
						end = next.Add(openChunk)
						j = end - openChunk
					}
					round, k := j/openRing, j%openRing
					j++
					in := &ins[round%openSAs]
					if in.round.Load() != round {
						in.mu.Lock()
						if in.round.Load() != round {
							in.sa.resetReplay()
							in.round.Store(round)
						}
						in.mu.Unlock()
					}
					copy(work, ring[k])
					if _, _, err := in.sa.Open(work); errors.Is(err, ErrReplay) {
						replays.Add(1)
					} else if err != nil {
						b.Error(err)
						return
					}
				}
			})
			if r := replays.Load(); r > 0 {
				b.ReportMetric(float64(r)/float64(b.N), "replays/op")
			}
		})
	}
}

// resetReplay forgets every sequence number received (benchmarks only).
func (s *SA) resetReplay() {
	s.mu.Lock()
	s.window.reset()
	s.mu.Unlock()
}
