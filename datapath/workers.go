package datapath

// Crypto on several cores. A batch of packets (one TUN read, one recvmmsg)
// is split into contiguous chunks; the goroutine that read the batch and a
// few helper goroutines claim chunks until none is left, and the caller
// goes on once every chunk is done. Each packet keeps its place in the
// batch, so what the caller sends or writes next goes out in the order it
// came in (what wireguard-go's encryption and decryption queues get with a
// per-packet lock, here per batch, as the batch is the unit of I/O).
//
//	Run(n, fn) ──► claim a free run ──► one wake token per helper wanted
//	           ──► claim chunks (caller)          claim chunks (helpers)
//	           ──► wait until all chunks done ◄── the last one tells the caller
//
// A helper that wakes late finds the chunks taken (the caller claims what
// is left itself), so a busy machine slows a batch down to the caller's own
// pace, not much below it. Helpers and callers spin (yielding) for a
// moment before they sleep, see helperSpin and callerSpin: a fork and join per batch only
// pays off when nobody waits for a thread to wake up. A run's state is reused only after every helper
// woken for it has let go of it; while none is free, Run works inline.
// Nothing is allocated per Run: callers pass a method value made once, the
// tokens are pointers into an array made by NewWorkers.

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// MinParallel is the smallest batch Run spreads over the workers:
	// below it, waking a helper costs more than the crypto it would take.
	MinParallel = 8
	// minChunk is the fewest packets in a chunk.
	minChunk = 2
	// maxChunksPerWorker bounds how finely a batch is split: a few chunks
	// per worker even out packets of different sizes, and a helper that
	// the OS preempts in the middle of a chunk holds up only that chunk.
	maxChunksPerWorker = 4
	// runSlots is how many runs may be in flight at once (concurrent
	// callers, or helpers that have not yet let go of an earlier run).
	runSlots = 4
	// helperSpin is how long a helper looks for the next batch before it
	// sleeps. Waking a sleeping goroutine puts it on the waker's core
	// until another core's thread wakes up and takes it over, which on a
	// virtual machine takes tens of microseconds: longer than the batch.
	// While batches keep coming the helpers stay awake; when they stop,
	// a helper gives up its core after helperSpin.
	helperSpin = 50 * time.Microsecond
	// callerSpin is how long a caller waits for its helpers' last chunks
	// before it sleeps: long enough for a chunk, short enough that a
	// helper the OS has preempted gets the core back soon.
	callerSpin = 20 * time.Microsecond
)

// Caller states of a run, see wait.
const (
	awake    = iota // the caller has not gone to sleep
	asleep          // the caller sleeps on last
	finished        // the last chunk was done before the caller slept
)

// Workers is a fixed pool of helper goroutines for the crypto of one or
// more data-path loops. Run is safe for concurrent use; a nil *Workers
// runs everything inline.
type Workers struct {
	helpers int
	wake    chan *run // tokens; nil stops a helper
	runs    [runSlots]run
	wg      sync.WaitGroup // the helpers
	closed  atomic.Bool

	// When the helpers made a batch slower than the caller alone would
	// have been (their cores were busy with other work: the caller waited
	// for a preempted helper), the next skip batches run inline, and each
	// such batch in a row doubles backoff (see adapt).
	skip, backoff atomic.Int32
}

// run is the state of one Run call.
type run struct {
	// refs counts the holders: the caller and each helper woken for this
	// run. 0: free.
	refs atomic.Int32
	fn   func(lo, hi int)
	n    int
	nch  int32        // chunks
	next atomic.Int32 // the next chunk to claim
	done atomic.Int32 // chunks done
	// sleep says whether the caller sleeps on last (see wait and finish).
	sleep atomic.Int32
	last  chan struct{}
	_     [64]byte // runs are claimed from different cores
}

// NewWorkers starts a pool of n workers, the caller of Run counting as
// one (n-1 goroutines); n <= 0 means runtime.GOMAXPROCS(0). With one
// worker every Run is inline. Close stops the goroutines.
func NewWorkers(n int) *Workers {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	w := &Workers{helpers: n - 1}
	// Each run wakes at most every helper once, and Close sends one
	// token per helper: a send never blocks.
	w.wake = make(chan *run, w.helpers*(runSlots+1))
	for i := range w.runs {
		w.runs[i].last = make(chan struct{}, 1)
	}
	w.wg.Add(w.helpers)
	for range w.helpers {
		go w.helper()
	}
	return w
}

// Size is the number of workers, the caller of Run included; 1 for nil.
func (w *Workers) Size() int {
	if w == nil {
		return 1
	}
	return w.helpers + 1
}

// Run calls fn over [0, n) split into contiguous ranges [lo, hi), some of
// them on other goroutines at the same time, and returns when all are
// done. fn must be safe to call concurrently on disjoint ranges. A batch
// smaller than MinParallel, a pool of one, a closed pool or a nil one runs
// fn(0, n) inline.
func (w *Workers) Run(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if w == nil || w.helpers == 0 || n < MinParallel || w.closed.Load() {
		fn(0, n)
		return
	}
	if w.skip.Load() > 0 {
		w.skip.Add(-1)
		fn(0, n)
		return
	}
	nch := min(n/minChunk, (w.helpers+1)*maxChunksPerWorker)
	woken := min(w.helpers, nch-1)
	r := w.claim(int32(woken) + 1)
	if r == nil {
		fn(0, n)
		return
	}
	r.fn, r.n, r.nch = fn, n, int32(nch)
	r.next.Store(0)
	r.done.Store(0)
	r.sleep.Store(awake)
	for range woken {
		w.wake <- r
	}
	start := time.Now()
	last, did := r.work()
	if !last {
		worked := time.Since(start)
		r.wait()
		w.adapt(worked, time.Since(start), did, nch)
	}
	r.fn = nil
	r.refs.Add(-1)
}

// maxBackoff bounds the batches run inline after slow parallel ones.
const maxBackoff = 256

// adapt compares a batch's time with its caller's pace: it took total,
// of which worked went to did of nch chunks in the caller. Slower than
// the caller alone (worked*nch/did) means the helpers are starved of CPU:
// back off from them for a while.
func (w *Workers) adapt(worked, total time.Duration, did, nch int) {
	if did == 0 {
		return
	}
	if total*time.Duration(did) <= worked*time.Duration(nch) {
		w.backoff.Store(0)
		return
	}
	b := min(max(2*w.backoff.Load(), 1), maxBackoff)
	w.backoff.Store(b)
	w.skip.Store(b)
}

// wait returns when the helpers have done the chunks they claimed. It
// spins (yielding to other goroutines) for a while: a helper is most
// likely in the middle of its last chunk, and a caller that blocks hands
// its processor to the goroutine it wakes, which would put the two on one
// core. Then it sleeps until the helper with the last chunk wakes it.
func (r *run) wait() {
	deadline := time.Now().Add(callerSpin)
	for r.done.Load() != r.nch {
		if time.Now().Before(deadline) {
			runtime.Gosched()
			continue
		}
		if r.sleep.CompareAndSwap(awake, asleep) {
			<-r.last
		}
		return // asleep, or the last chunk was done in the meantime
	}
}

// finish is called by the helper that did a run's last chunk: it wakes
// the caller if the caller went to sleep.
func (r *run) finish() {
	if !r.sleep.CompareAndSwap(awake, finished) {
		r.last <- struct{}{}
	}
}

// claim takes a free run for a caller and the helpers it wakes, or nil
// when every run is in use.
func (w *Workers) claim(refs int32) *run {
	for i := range w.runs {
		r := &w.runs[i]
		if r.refs.Load() == 0 && r.refs.CompareAndSwap(0, refs) {
			return r
		}
	}
	return nil
}

// work claims and runs chunks until none is left, and reports whether it
// did the batch's last one and how many it did.
func (r *run) work() (last bool, did int) {
	for {
		c := r.next.Add(1) - 1
		if c >= r.nch {
			return last, did
		}
		lo, hi := r.n*int(c)/int(r.nch), r.n*int(c+1)/int(r.nch)
		r.fn(lo, hi)
		did++
		if r.done.Add(1) == r.nch {
			last = true
		}
	}
}

func (w *Workers) helper() {
	defer w.wg.Done()
	for {
		r := w.next()
		if r == nil {
			return
		}
		if last, _ := r.work(); last {
			r.finish()
		}
		r.refs.Add(-1)
	}
}

// next returns the next run to help with (nil: stop), looking for one
// for helperSpin before it sleeps.
func (w *Workers) next() *run {
	deadline := time.Now().Add(helperSpin)
	for {
		select {
		case r := <-w.wake:
			return r
		default:
		}
		if !time.Now().Before(deadline) {
			return <-w.wake
		}
		runtime.Gosched()
	}
}

// Close stops the helpers and waits for them; Run then works inline. It
// may be called while Run runs elsewhere, and more than once.
func (w *Workers) Close() {
	if w == nil || w.closed.Swap(true) {
		return
	}
	for range w.helpers {
		w.wake <- nil
	}
	w.wg.Wait()
}

// minCoresForWorkers is the fewest cores at which the data path spreads a
// batch's ESP over several: on 2 cores, shared with the TUN and socket
// work of the kernel (and on a test machine with the other tunnel end and
// iperf3), make bench-e2e measured the handoffs costing more than they
// gave (TCP x1 with AES-GCM 5.06 Gbit/s with workers, 5.84 without;
// AES-CBC 2.68 and 2.99), while go test -bench with 2 free cores measured
// AES-CBC+HMAC-SHA1 sealing 1.7x faster.
const minCoresForWorkers = 4

// CryptoWorkers is how many workers (the caller included) the data path
// gives a batch's ESP: GOMAXPROCS from minCoresForWorkers cores on, else 1
// (all inline). L2TPVPN_CRYPTO_WORKERS=N sets it (tests, measurements).
func CryptoWorkers() int {
	if s := os.Getenv("L2TPVPN_CRYPTO_WORKERS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 {
			return n
		}
	}
	if n := runtime.GOMAXPROCS(0); n >= minCoresForWorkers {
		return n
	}
	return 1
}

// NewCryptoWorkers is the data path's pool for one direction's ESP, or nil
// when CryptoWorkers is 1: the callers then seal and open each packet in
// their one pass, with no batch pass ahead of it.
func NewCryptoWorkers() *Workers {
	if n := CryptoWorkers(); n > 1 {
		return NewWorkers(n)
	}
	return nil
}
