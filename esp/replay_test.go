package esp

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestReplayWindowBasics(t *testing.T) {
	var w replayWindow
	try := func(seq uint64) bool {
		if !w.check(seq) {
			return false
		}
		w.accept(seq)
		return true
	}
	if try(0) {
		t.Fatal("sequence number 0 accepted")
	}
	for _, s := range []uint64{1, 2, 3} {
		if !try(s) {
			t.Fatalf("%d refused", s)
		}
	}
	if try(2) {
		t.Fatal("duplicate 2 accepted")
	}
	// Out of order within the window: 10 first, then 5..9.
	if !try(10) {
		t.Fatal("10 refused")
	}
	for s := uint64(5); s < 10; s++ {
		if !try(s) {
			t.Fatalf("out-of-order %d refused", s)
		}
		if try(s) {
			t.Fatalf("duplicate %d accepted", s)
		}
	}
	if !try(4) {
		t.Fatal("4 refused")
	}
	// Slide: jump ahead so that 10 is exactly at the edge, then past it.
	top := 10 + uint64(ReplayWindow) - 1
	if !try(top) {
		t.Fatal("top refused")
	}
	if try(10) {
		t.Fatal("10 (already seen, still in window) accepted")
	}
	if !try(11) {
		t.Fatal("11 (unseen, oldest in window) refused")
	}
	if !try(top + 1) {
		t.Fatal("top+1 refused")
	}
	if try(10) || try(11) {
		t.Fatal("10 (fell out of the window) or 11 (duplicate) accepted")
	}
	if !try(12) {
		t.Fatal("12 (unseen, in window) refused")
	}
	// A huge jump clears the whole window.
	if !try(top + 100000) {
		t.Fatal("jump refused")
	}
	if !try(top + 100000 - 1) {
		t.Fatal("just below the new top refused after jump")
	}
	if try(top + 100000 - uint64(ReplayWindow)) {
		t.Fatal("one past the window accepted")
	}
	if ReplayWindow < 1024 {
		t.Fatalf("window %d smaller than the 1024 required", ReplayWindow)
	}
}

// TestReplayWindowModel compares the bitmap with a map-based model under
// random reordering and duplication.
func TestReplayWindowModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var w replayWindow
	seen := map[uint64]bool{}
	var top uint64
	next := uint64(1)
	for range 200000 {
		var seq uint64
		switch r.IntN(10) {
		case 0:
			seq = next + uint64(r.IntN(5000)) // jump
		case 1, 2:
			if top > 0 {
				seq = top - uint64(r.IntN(int(min(top, 2*ReplayWindow)))) // old or duplicate
			}
		default:
			seq = next
		}
		want := seq != 0 && !seen[seq] && (seq > top || top-seq < ReplayWindow)
		got := w.check(seq)
		if got != want {
			t.Fatalf("seq %d top %d: check = %v, want %v", seq, top, got, want)
		}
		if got {
			w.accept(seq)
			seen[seq] = true
			top = max(top, seq)
			next = top + 1
		}
	}
}

// TestSAReplay drives the window through Open.
func TestSAReplay(t *testing.T) {
	out, in := newPair(t, testTransform{Transform{Enc: AESGCM16}, 36}, Transport)
	pkts := make([][]byte, ReplayWindow+10)
	for i := range pkts {
		pkts[i] = seal(t, out, []byte{byte(i)}, 17)
	}
	open := func(i int) error {
		c := append([]byte{}, pkts[i]...)
		_, _, err := in.Open(c)
		return err
	}
	// Packets 5, 3, 4 (reordered), then duplicates.
	for _, i := range []int{5, 3, 4} {
		if err := open(i); err != nil {
			t.Fatalf("pkt %d: %v", i, err)
		}
	}
	for _, i := range []int{5, 3} {
		if err := open(i); !errors.Is(err, ErrReplay) {
			t.Fatalf("duplicate %d: %v", i, err)
		}
	}
	if in.Seq() != 6 {
		t.Fatalf("Seq() = %d, want 6", in.Seq())
	}
	// The last packet moves the window past the first ones.
	last := len(pkts) - 1
	if err := open(last); err != nil {
		t.Fatal(err)
	}
	if err := open(0); !errors.Is(err, ErrReplay) {
		t.Fatalf("too old: %v", err)
	}
	if err := open(last - 1); err != nil {
		t.Fatalf("within window: %v", err)
	}
}
