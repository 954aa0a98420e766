package esp

// ReserveSeq and SealSeq: a batch reserves its sequence numbers in sending
// order and seals in parallel; the numbers on the wire follow the batch's
// order whichever goroutine sealed which packet.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

// A batch of 64 sealed by 4 goroutines, each taking every 4th packet (so
// that they finish out of order): in batch order the packets carry
// first, first+1, ... and open in that order on a receiver, the replay
// window moving one by one. AES-GCM's output is the same bytes that Seal
// makes with the same number.
func TestReserveSeqParallelBatch(t *testing.T) {
	for _, tt := range concurrentTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			out, in := newPair(t, tt, Transport)
			seal(t, out, []byte("before the batch"), NextHeaderUDP) // number 1
			const n = 64
			first, err := out.ReserveSeq(n)
			if err != nil || first != 2 {
				t.Fatalf("ReserveSeq(%d) = %d, %v, want 2", n, first, err)
			}
			pkts := make([][]byte, n)
			payload := func(i int) []byte { return []byte{0x45, byte(i), byte(i >> 8), 0xaa, 0xbb} }
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := 3 - g; i < n; i += 4 {
						p := payload(i)
						buf := make([]byte, out.Headroom()+len(p)+out.Tailroom())
						copy(buf[out.Headroom():], p)
						pkt, err := out.SealSeq(buf, out.Headroom(), len(p), NextHeaderUDP, first+uint64(i))
						if err != nil {
							t.Error(err)
							return
						}
						pkts[i] = pkt
					}
				})
			}
			wg.Wait()
			if out.Seq() != 1+n {
				t.Fatalf("Seq() = %d, want %d", out.Seq(), 1+n)
			}
			sealed10 := bytes.Clone(pkts[10]) // Open decrypts in place
			for i, pkt := range pkts {
				if got := binary.BigEndian.Uint32(pkt[4:]); uint64(got) != first+uint64(i) {
					t.Fatalf("packet %d has sequence number %d, want %d", i, got, first+uint64(i))
				}
				got, nh, err := in.Open(pkt)
				if err != nil || nh != NextHeaderUDP || !bytes.Equal(got, payload(i)) {
					t.Fatalf("packet %d: % x, %d, %v", i, got, nh, err)
				}
				if in.Seq() != first+uint64(i) {
					t.Fatalf("after packet %d the window's top is %d", i, in.Seq())
				}
			}
			if tt.t.Enc != AESGCM16 {
				return // CBC IVs come from a random secret of each SA
			}
			twin, _ := newPair(t, tt, Transport)
			twin.seq.Store(first + 9)
			if want := seal(t, twin, payload(10), NextHeaderUDP); !bytes.Equal(sealed10, want) {
				t.Fatalf("SealSeq made\n% x\nSeal made\n% x", sealed10, want)
			}
		})
	}
}

// Batches reserved by goroutines at the same time get disjoint blocks that
// together are every number once.
func TestReserveSeqConcurrentBlocks(t *testing.T) {
	out, _ := newPair(t, concurrentTransforms()[0], Transport)
	const g, each, size = 8, 50, 7
	firsts := make([][]uint64, g)
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			for range each {
				f, err := out.ReserveSeq(size)
				if err != nil {
					t.Error(err)
					return
				}
				firsts[i] = append(firsts[i], f)
			}
		})
	}
	wg.Wait()
	seen := make([]bool, g*each*size+1)
	for _, fs := range firsts {
		for _, f := range fs {
			for s := f; s < f+size; s++ {
				if seen[s] {
					t.Fatalf("number %d reserved twice", s)
				}
				seen[s] = true
			}
		}
	}
	for s := 1; s < len(seen); s++ {
		if !seen[s] {
			t.Fatalf("number %d never reserved", s)
		}
	}
	if f, err := out.ReserveSeq(0); err != nil || f != uint64(len(seen)) || out.Seq() != uint64(len(seen)-1) {
		t.Fatalf("ReserveSeq(0) = %d, %v (Seq %d): it must reserve nothing", f, err, out.Seq())
	}
}

// A block that runs past 2^32-1: its numbers up to 2^32-1 seal, the rest
// fail with ErrSeqExhausted as Seal does, the next reservation fails, and
// Seq() stays at 2^32-1. SealSeq refuses 0 and a buffer without room.
func TestReserveSeqExhausted(t *testing.T) {
	for _, tt := range concurrentTransforms()[:2] {
		out, in := newPair(t, tt, Transport)
		out.seq.Store(maxSeq - 3)
		first, err := out.ReserveSeq(8)
		if err != nil || first != maxSeq-2 {
			t.Fatalf("%v: ReserveSeq(8) = %d, %v, want %d", tt, first, err, uint64(maxSeq-2))
		}
		for i := range uint64(8) {
			buf := make([]byte, out.Headroom()+4+out.Tailroom())
			pkt, err := out.SealSeq(buf, out.Headroom(), 4, NextHeaderUDP, first+i)
			if first+i <= maxSeq {
				if err != nil {
					t.Fatalf("%v: number %d: %v", tt, first+i, err)
				}
				if _, _, err := in.Open(pkt); err != nil {
					t.Fatalf("%v: number %d does not open: %v", tt, first+i, err)
				}
				continue
			}
			if !errors.Is(err, ErrSeqExhausted) {
				t.Fatalf("%v: number %d: err = %v, want ErrSeqExhausted", tt, first+i, err)
			}
		}
		if _, err := out.ReserveSeq(1); !errors.Is(err, ErrSeqExhausted) {
			t.Fatalf("%v: ReserveSeq after the last number: %v, want ErrSeqExhausted", tt, err)
		}
		buf := make([]byte, 100)
		if _, err := out.Seal(buf, out.Headroom(), 4, NextHeaderUDP); !errors.Is(err, ErrSeqExhausted) {
			t.Fatalf("%v: Seal: %v, want ErrSeqExhausted", tt, err)
		}
		if out.Seq() != maxSeq {
			t.Fatalf("%v: Seq() = %d", tt, out.Seq())
		}
	}

	out, _ := newPair(t, concurrentTransforms()[0], Transport)
	buf := make([]byte, 100)
	if _, err := out.SealSeq(buf, out.Headroom(), 4, NextHeaderUDP, 0); err == nil {
		t.Error("SealSeq with number 0 succeeded")
	}
	if _, err := out.SealSeq(buf[:0:20], out.Headroom(), 4, NextHeaderUDP, 1); !errors.Is(err, ErrBufferSpace) {
		t.Errorf("SealSeq without room: %v, want ErrBufferSpace", err)
	}
	if out.Seq() != 0 {
		t.Errorf("Seq() = %d after failed SealSeqs, want 0", out.Seq())
	}
}
