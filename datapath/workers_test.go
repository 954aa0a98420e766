package datapath

import (
	"crypto/sha256"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// cover records which indexes fn was called for, and how often.
type cover struct {
	hits []atomic.Int32
	bad  atomic.Int32 // ranges out of [0, n) or empty
}

func (c *cover) fn(lo, hi int) {
	if lo < 0 || hi > len(c.hits) || lo >= hi {
		c.bad.Add(1)
		return
	}
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func (c *cover) check(t *testing.T, what string) {
	t.Helper()
	if c.bad.Load() != 0 {
		t.Fatalf("%s: %d bad ranges", what, c.bad.Load())
	}
	for i := range c.hits {
		if h := c.hits[i].Load(); h != 1 {
			t.Fatalf("%s: index %d done %d times, want 1", what, i, h)
		}
	}
}

// Every index of a batch is handed out exactly once, whatever the batch
// size and pool size, and Run returns only when all are done.
func TestWorkersCoverEachIndexOnce(t *testing.T) {
	for _, size := range []int{1, 2, 3, 8} {
		w := NewWorkers(size)
		for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 64, 1000} {
			for range 20 {
				c := &cover{hits: make([]atomic.Int32, n)}
				w.Run(n, c.fn)
				c.check(t, "run")
			}
		}
		w.Close()
	}
}

// The ranges are contiguous and fn sees whole chunks: a batch written by
// index comes out in order (what the data path relies on for in-order
// delivery: each packet stays in its slot).
func TestWorkersInOrder(t *testing.T) {
	w := NewWorkers(4)
	defer w.Close()
	const n = 64
	out := make([]int, n)
	fill := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = i * 3
		}
	}
	for range 100 {
		clear(out)
		w.Run(n, fill)
		for i, v := range out {
			if v != i*3 {
				t.Fatalf("out[%d] = %d, want %d", i, v, i*3)
			}
		}
	}
}

// Below MinParallel, with a pool of one and with a nil pool, fn runs once,
// inline, over the whole batch.
func TestWorkersInline(t *testing.T) {
	one := NewWorkers(1)
	defer one.Close()
	many := NewWorkers(4)
	defer many.Close()
	for _, tc := range []struct {
		name string
		w    *Workers
		n    int
	}{{"small batch", many, MinParallel - 1}, {"pool of one", one, 64}, {"nil", nil, 64}} {
		calls := 0
		w := tc.w
		w.Run(tc.n, func(lo, hi int) {
			calls++
			if lo != 0 || hi != tc.n {
				t.Errorf("%s: fn(%d, %d), want fn(0, %d)", tc.name, lo, hi, tc.n)
			}
		})
		if calls != 1 {
			t.Errorf("%s: %d calls, want 1", tc.name, calls)
		}
	}
	if (*Workers)(nil).Size() != 1 || one.Size() != 1 || many.Size() != 4 {
		t.Errorf("sizes %d %d %d, want 1 1 4", (*Workers)(nil).Size(), one.Size(), many.Size())
	}
}

// Several goroutines share one pool (the server's read loops and TUN
// loop): each Run still covers its own batch exactly once.
func TestWorkersConcurrentRuns(t *testing.T) {
	w := NewWorkers(3)
	defer w.Close()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 200 {
				c := &cover{hits: make([]atomic.Int32, 33)}
				w.Run(len(c.hits), c.fn)
				c.check(t, "concurrent run")
			}
		})
	}
	wg.Wait()
}

// Close stops every helper; Run afterwards, and Run racing with Close,
// still covers the batch (inline or by whichever helpers remain).
func TestWorkersClose(t *testing.T) {
	before := helpers()
	w := NewWorkers(4)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 500 {
			c := &cover{hits: make([]atomic.Int32, 40)}
			w.Run(len(c.hits), c.fn)
			c.check(t, "run racing close")
		}
	})
	w.Close()
	wg.Wait()
	w.Close() // again: nothing happens
	c := &cover{hits: make([]atomic.Int32, 40)}
	w.Run(len(c.hits), c.fn)
	c.check(t, "run after close")
	// A helper may be on its way out, in its deferred Done.
	n := helpers()
	for i := 0; i < 1000 && n > before; i++ {
		runtime.Gosched()
		n = helpers()
	}
	if n > before {
		t.Errorf("%d helpers left after Close", n-before)
	}
}

// helpers counts the goroutines in Workers.helper.
func helpers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "datapath.(*Workers).helper(")
}

// Run allocates nothing: the caller's method value is made once.
func TestWorkersRunAllocs(t *testing.T) {
	w := NewWorkers(2)
	defer w.Close()
	c := &cover{hits: make([]atomic.Int32, 64)}
	fn := c.fn
	if a := testing.AllocsPerRun(1000, func() { w.Run(64, fn) }); a != 0 {
		t.Errorf("Run: %v allocs, want 0", a)
	}
}

// BenchmarkWorkersRun spreads batches of 16 hashes of 1400 bytes (about
// the work of sealing a packet with HMAC-SHA1) over the pool: ns/op per
// batch, compare -cpu 1 and -cpu 2.
func BenchmarkWorkersRun(b *testing.B) {
	w := NewWorkers(0)
	defer w.Close()
	data := make([][1400]byte, 16)
	sums := make([][sha256.Size]byte, 16)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sums[i] = sha256.Sum256(data[i][:])
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		w.Run(len(data), fn)
	}
}

// CryptoWorkers: inline below 4 cores, every core from 4 on, and the
// environment's number when it is one.
func TestCryptoWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("L2TPVPN_CRYPTO_WORKERS", "")
	for procs, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 4, 8: 8} {
		runtime.GOMAXPROCS(procs)
		if got := CryptoWorkers(); got != want {
			t.Errorf("%d cores: %d workers, want %d", procs, got, want)
		}
	}
	runtime.GOMAXPROCS(2)
	for env, want := range map[string]int{"3": 3, "1": 1, "0": 1, "x": 1} {
		t.Setenv("L2TPVPN_CRYPTO_WORKERS", env)
		if got := CryptoWorkers(); got != want {
			t.Errorf("L2TPVPN_CRYPTO_WORKERS=%s: %d workers, want %d", env, got, want)
		}
		// One worker is no pool: the data path takes its one-pass road.
		w := NewCryptoWorkers()
		if (w == nil) != (want == 1) || w.Size() != want {
			t.Errorf("L2TPVPN_CRYPTO_WORKERS=%s: pool %v of size %d", env, w != nil, w.Size())
		}
		w.Close()
	}
}
