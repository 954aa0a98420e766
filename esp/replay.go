package esp

// Anti-replay window, RFC 4303 section 3.4.3 and Appendix A, kept as the
// ring of 64-bit words described in RFC 6479: sliding the window clears
// whole words instead of shifting bits.

const (
	replayWords = 32               // power of two
	replayBits  = replayWords * 64 // bits in the ring
	// ReplayWindow is the number of sequence numbers below the highest one
	// received that are still accepted once (RFC 4303 recommends 64 at least;
	// we keep 1984 so that reordering by batched I/O is tolerated).
	ReplayWindow = replayBits - 64
)

// replayWindow tracks received sequence numbers. The zero value is ready:
// no packet received yet. It is not safe for concurrent use.
type replayWindow struct {
	top    uint64 // highest sequence number accepted, 0 before the first
	bitmap [replayWords]uint64
}

// check reports whether seq may be accepted; it does not record it.
func (w *replayWindow) check(seq uint64) bool {
	if seq == 0 {
		return false // RFC 4303 3.3.3: the first packet has sequence number 1
	}
	if seq > w.top {
		return true
	}
	if w.top-seq >= ReplayWindow {
		return false
	}
	bit := seq & (replayBits - 1)
	return w.bitmap[bit>>6]&(1<<(bit&63)) == 0
}

// accept records seq, which check must have approved, sliding the window
// forward when seq is the new highest.
func (w *replayWindow) accept(seq uint64) {
	if seq > w.top {
		cur, next := w.top>>6, seq>>6
		diff := next - cur
		if diff > replayWords {
			diff = replayWords
		}
		for i := uint64(1); i <= diff; i++ {
			w.bitmap[(cur+i)&(replayWords-1)] = 0
		}
		w.top = seq
	}
	bit := seq & (replayBits - 1)
	w.bitmap[bit>>6] |= 1 << (bit & 63)
}
