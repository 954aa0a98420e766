package esp

// Anti-replay window, RFC 4303 section 3.4.3 and Appendix A, kept as the
// ring of 64-bit words described in RFC 6479: sliding the window clears
// whole words instead of shifting bits.

import "sync/atomic"

const (
	replayWords = 32               // power of two
	replayBits  = replayWords * 64 // bits in the ring
	// ReplayWindow is the number of sequence numbers below the highest one
	// received that are still accepted once (RFC 4303 recommends 64 at least;
	// we keep 1984 so that reordering by batched I/O is tolerated).
	ReplayWindow = replayBits - 64
)

// replayWindow tracks received sequence numbers. The zero value is ready:
// no packet received yet. check may run at any time, concurrently with
// anything; accept (and check followed by accept, to be exact) must be
// serialised by the caller.
//
// A check racing with accept errs only towards accepting: accept clears the
// words it slides into before it publishes the new top, so a check that
// loads a top sees those words cleared, and a bit it finds set belongs to
// seq itself or to a number 2048 (replayBits) above it, which makes seq too
// old anyway. A sequence number not yet accepted and within the window is
// therefore never refused; a duplicate may pass a racing check, and the
// serialised check that precedes accept refuses it.
type replayWindow struct {
	top    atomic.Uint64 // highest sequence number accepted, 0 before the first
	bitmap [replayWords]atomic.Uint64
}

// check reports whether seq may be accepted; it does not record it.
func (w *replayWindow) check(seq uint64) bool {
	if seq == 0 {
		return false // RFC 4303 3.3.3: the first packet has sequence number 1
	}
	top := w.top.Load()
	if seq > top {
		return true
	}
	if top-seq >= ReplayWindow {
		return false
	}
	bit := seq & (replayBits - 1)
	return w.bitmap[bit>>6].Load()&(1<<(bit&63)) == 0
}

// accept records seq, which check must have approved, sliding the window
// forward when seq is the new highest. Calls must be serialised.
func (w *replayWindow) accept(seq uint64) {
	if top := w.top.Load(); seq > top {
		cur, next := top>>6, seq>>6
		diff := min(next-cur, replayWords)
		for i := uint64(1); i <= diff; i++ {
			w.bitmap[(cur+i)&(replayWords-1)].Store(0)
		}
		w.top.Store(seq) // after the clearing: see the type's comment
	}
	bit := seq & (replayBits - 1)
	w.bitmap[bit>>6].Or(1 << (bit & 63))
}

// reset forgets every sequence number received. Calls must be serialised
// with accept.
func (w *replayWindow) reset() {
	for i := range w.bitmap {
		w.bitmap[i].Store(0)
	}
	w.top.Store(0)
}
