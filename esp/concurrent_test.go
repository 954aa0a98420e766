package esp

// One SA used by several goroutines at once, as parallel crypto workers use
// it: Seal hands out every sequence number once and never past 2^32-1, Open
// accepts a packet once however many copies arrive at the same time, and
// nothing per call is shared between calls (run with -race: a shared CBC or
// HMAC state shows up as a data race, and as packets that fail to open).

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// concurrentTransforms are the AEAD and a CBC + HMAC of each hash family.
func concurrentTransforms() []testTransform {
	return []testTransform{
		{Transform{Enc: AESGCM16}, 16 + 4},
		{Transform{AESCBC, HMACSHA1_96}, 16 + 20},
		{Transform{AESCBC, HMACSHA256_128}, 32 + 32},
		{Transform{AESCBC, HMACSHA512_256}, 32 + 64},
		{Transform{TripleDES, HMACMD5_96}, 24 + 16},
	}
}

// workers is more goroutines than there are processors, so that calls
// overlap and the SA's per-call state runs out.
func workers() int { return 2*runtime.GOMAXPROCS(0) + 3 }

// Seal from many goroutines at once, then Open from many goroutines at
// once: every sequence number from 1 to the count is used exactly once and
// every packet opens to what was sealed.
func TestConcurrentSealOpen(t *testing.T) {
	for _, tt := range concurrentTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			out, in := newPair(t, tt, Transport)
			w, each := workers(), 40
			pkts := make([][][]byte, w)
			var wg sync.WaitGroup
			for g := range w {
				wg.Go(func() {
					for i := range each {
						payload := []byte{byte(g), byte(i), 0x45, 0x00}
						buf := make([]byte, out.Headroom()+len(payload)+out.Tailroom())
						copy(buf[out.Headroom():], payload)
						pkt, err := out.Seal(buf, out.Headroom(), len(payload), NextHeaderUDP)
						if err != nil {
							t.Error(err)
							return
						}
						pkts[g] = append(pkts[g], pkt)
					}
				})
			}
			wg.Wait()
			var seqs []uint32
			for _, ps := range pkts {
				for _, p := range ps {
					seqs = append(seqs, uint32(p[4])<<24|uint32(p[5])<<16|uint32(p[6])<<8|uint32(p[7]))
				}
			}
			slices.Sort(seqs)
			for i, s := range seqs {
				if s != uint32(i+1) {
					t.Fatalf("sequence numbers used: %v..., want 1 to %d once each", seqs[:i+1], w*each)
				}
			}
			if len(seqs) != w*each || out.Seq() != uint64(w*each) {
				t.Fatalf("%d packets, Seq() = %d, want %d", len(seqs), out.Seq(), w*each)
			}

			// Each goroutine opens another's packets, all at the same time.
			for g := range w {
				wg.Go(func() {
					for i, p := range pkts[(g+1)%w] {
						payload, nh, err := in.Open(p)
						want := []byte{byte((g + 1) % w), byte(i), 0x45, 0x00}
						if err != nil || nh != NextHeaderUDP || string(payload) != string(want) {
							t.Errorf("packet %d of %d: % x, %d, %v", i, (g+1)%w, payload, nh, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if in.Seq() != uint64(w*each) {
				t.Fatalf("inbound Seq() = %d, want %d", in.Seq(), w*each)
			}
		})
	}
}

// Copies of one packet opened by many goroutines at the same moment: the
// window is checked before the ICV but updated only after it, so several
// copies may pass the first check; exactly one is accepted, every other
// one is a replay.
func TestConcurrentOpenDuplicate(t *testing.T) {
	for _, tt := range concurrentTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			out, in := newPair(t, tt, Transport)
			w := workers()
			for round := range 50 {
				pkt := seal(t, out, []byte("one packet, many copies"), NextHeaderUDP)
				copies := make([][]byte, w)
				for i := range copies {
					copies[i] = slices.Clone(pkt)
				}
				errs := make([]error, w)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for g := range w {
					wg.Go(func() {
						<-start
						_, _, errs[g] = in.Open(copies[g])
					})
				}
				close(start)
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case !errors.Is(err, ErrReplay):
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d of %d copies accepted, want exactly 1", round, ok, w)
				}
				if in.Seq() != uint64(round+1) {
					t.Fatalf("round %d: Seq() = %d", round, in.Seq())
				}
			}
		})
	}
}

// Forgeries opened at the same time as genuine packets never move the
// window: a forged packet far ahead fails its ICV, and the genuine ones
// behind it still open.
func TestConcurrentOpenForgery(t *testing.T) {
	for _, tt := range concurrentTransforms() {
		t.Run(tt.String(), func(t *testing.T) {
			out, in := newPair(t, tt, Transport)
			w := workers()
			genuine := make([][]byte, w)
			for i := range genuine {
				genuine[i] = seal(t, out, []byte{byte(i)}, NextHeaderUDP)
			}
			forged := slices.Clone(genuine[0])
			forged[4], forged[5] = 0x7f, 0xff // far ahead of the window
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range w {
				wg.Go(func() {
					<-start
					if _, _, err := in.Open(slices.Clone(forged)); !errors.Is(err, ErrAuth) {
						t.Errorf("forgery: %v, want ErrAuth", err)
					}
					if _, _, err := in.Open(genuine[g]); err != nil {
						t.Errorf("genuine %d: %v", g, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if in.Seq() != uint64(w) {
				t.Fatalf("Seq() = %d, want %d", in.Seq(), w)
			}
		})
	}
}

// The last sequence numbers sealed by many goroutines at once: each of the
// remaining numbers is used once, every other call fails with
// ErrSeqExhausted, and Seq() stays at 2^32-1.
func TestConcurrentSeqExhausted(t *testing.T) {
	for _, tt := range concurrentTransforms()[:2] {
		t.Run(tt.String(), func(t *testing.T) {
			out, _ := newPair(t, tt, Transport)
			const left = 10
			out.seq.Store(maxSeq - left)
			w, each := workers(), 8
			var mu sync.Mutex
			var used []uint32
			exhausted := 0
			var wg sync.WaitGroup
			for range w {
				wg.Go(func() {
					buf := make([]byte, out.Headroom()+8+out.Tailroom())
					for range each {
						pkt, err := out.Seal(buf, out.Headroom(), 8, NextHeaderUDP)
						mu.Lock()
						switch {
						case err == nil:
							used = append(used, uint32(pkt[4])<<24|uint32(pkt[5])<<16|uint32(pkt[6])<<8|uint32(pkt[7]))
						case errors.Is(err, ErrSeqExhausted):
							exhausted++
						default:
							t.Error(err)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			slices.Sort(used)
			if len(used) != left || used[0] != maxSeq-left+1 || used[left-1] != maxSeq ||
				len(slices.Compact(used)) != left || exhausted != w*each-left {
				t.Fatalf("used %v, %d exhausted, want %d..%d once each", used, exhausted, uint32(maxSeq-left+1), uint32(maxSeq))
			}
			if out.Seq() != maxSeq {
				t.Fatalf("Seq() = %d, want %d", out.Seq(), uint64(maxSeq))
			}
		})
	}
}

// The scratch pool: a single caller reuses one scratch; with every slot
// held, a call gets a fresh scratch that goes back to no slot; a released
// slot is reused without building another.
func TestScratchPool(t *testing.T) {
	built := 0
	var p scratchPool
	p.init(func() *scratch { built++; return new(scratch) })
	a, sa := p.get()
	p.put(sa)
	if b, sb := p.get(); b != a || sb != sa || built != 1 {
		t.Fatalf("a single caller got another scratch (built %d)", built)
	} else {
		p.put(sb)
	}
	held := make([]*scratchSlot, len(p.slots))
	seen := map[*scratch]bool{}
	for i := range held {
		var s *scratch
		s, held[i] = p.get()
		if held[i] == nil || seen[s] {
			t.Fatalf("slot %d of %d: shared or no slot", i, len(held))
		}
		seen[s] = true
	}
	extra, sl := p.get()
	if sl != nil || seen[extra] {
		t.Fatal("a call with every slot held shared a scratch")
	}
	p.put(sl) // a no-op
	p.put(held[3%len(held)])
	n := built
	if s, sl := p.get(); sl != held[3%len(held)] || !seen[s] || built != n {
		t.Fatal("a released slot was not reused")
	}
}

// The lock-free check racing with accept never refuses a number that was
// never accepted and is within the window. The writer accepts numbers
// 0 mod 4 in even laps of the ring (replayBits numbers) and 2 mod 4 in odd
// laps, sometimes jumping ahead; readers check numbers 0 mod 4 in odd laps,
// never accepted, each in the ring position of a number accepted one lap
// before: a bit not cleared in time refuses it. A refusal is right only if
// the top had moved far enough by then to make the number too old.
func TestReplayWindowConcurrentCheck(t *testing.T) {
	var w replayWindow
	steps := 200000
	if testing.Short() {
		steps = 20000
	}
	oddLap := func(n uint64) bool { return n/replayBits%2 == 1 }
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		seq := uint64(0)
		for i := range steps {
			seq += 2
			if i%1000 == 999 {
				seq += []uint64{64, ReplayWindow, replayBits, 3 * replayBits}[i/1000%4]
			}
			if seq%4 == 0 != oddLap(seq) {
				w.accept(seq)
			}
		}
	})
	for g := range max(runtime.GOMAXPROCS(0)-1, 1) {
		wg.Go(func() {
			for i := uint64(g); ; i += 7 {
				select {
				case <-done:
					return
				default:
				}
				top := w.top.Load()
				back := i % ReplayWindow
				if top < back+4 {
					continue
				}
				n := (top - back) &^ 3
				if !oddLap(n) || n == 0 {
					continue
				}
				if !w.check(n) {
					if now := w.top.Load(); now-n < ReplayWindow {
						t.Errorf("%d refused with top %d: never accepted, within the window", n, now)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
