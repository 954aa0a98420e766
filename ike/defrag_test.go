package ike

import (
	"bytes"
	"testing"
	"time"
)

var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fragsOf cuts msg into n fragments (the last takes the remainder) with
// fragment ID id, decoded as the reassembler gets them.
func fragsOf(t testing.TB, msg []byte, id uint16, n int) []*Fragment {
	t.Helper()
	per := (len(msg) + n - 1) / n
	var out []*Fragment
	for i := 0; i < n; i++ {
		last := byte(0)
		if i == n-1 {
			last = FragmentLast
		}
		b := specFragment(msg, ExchangeIDProt, id, byte(i+1), last, msg[i*per:min((i+1)*per, len(msg))])
		_, f, err := ParseFragment(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// fragHeader is the header fragments of msg carry.
func fragHeader(msg []byte) Header {
	var h Header
	copy(h.InitiatorCookie[:], msg[0:8])
	copy(h.ResponderCookie[:], msg[8:16])
	h.NextPayload, h.Version, h.Exchange = PayloadFragment, Version, ExchangeIDProt
	return h
}

func TestReassemblyOrders(t *testing.T) {
	msg := testMessage(1000, ExchangeIDProt, FlagEncryption, 0)
	fs := fragsOf(t, msg, 3, 5)
	for _, order := range [][]int{
		{0, 1, 2, 3, 4},
		{4, 3, 2, 1, 0},
		{2, 4, 0, 3, 1},
		{0, 0, 1, 4, 4, 2, 1, 3},    // duplicates before the end
		{4, 1, 4, 1, 0, 0, 3, 2},    // the last one first, repeated
		{1, 2, 3, 4, 1, 2, 3, 4, 0}, // a retransmitted set completes it
	} {
		var r reassembler
		var got [][]byte
		for _, i := range order {
			w, why := r.add(fragHeader(msg), fs[i], testEpoch)
			if why != "" {
				t.Errorf("order %v: dropped: %s", order, why)
			}
			if w != nil {
				got = append(got, w)
			}
		}
		if len(got) != 1 || !bytes.Equal(got[0], msg) {
			t.Errorf("order %v: %d messages reassembled", order, len(got))
		}
		if n, size := r.held(); n != 0 || size != 0 || r.dropped.Load() != 0 {
			t.Errorf("order %v: holds %d sets, %d bytes; dropped %d", order, n, size, r.dropped.Load())
		}
	}
	// A single fragment, last, is a whole message.
	var r reassembler
	if w, _ := r.add(fragHeader(msg), fragsOf(t, msg, 1, 1)[0], testEpoch); !bytes.Equal(w, msg) {
		t.Error("a one-fragment message was not reassembled")
	}
}

func TestReassemblyConflicts(t *testing.T) {
	msg := testMessage(1000, ExchangeIDProt, 0, 0)
	h := fragHeader(msg)
	fs := fragsOf(t, msg, 3, 4)
	with := func(f *Fragment, num, flags byte, data []byte) *Fragment {
		c := *f
		c.Number, c.Flags = num, flags
		if data != nil {
			c.Data = data
		}
		return &c
	}
	for _, tc := range []struct {
		name string
		held []*Fragment // delivered first
		bad  *Fragment
		// restart: the bad fragment starts a new set (it is held).
		restart bool
	}{
		{name: "other data for a number", held: fs[:2], bad: with(fs[1], 2, 0, []byte("other")), restart: true},
		{name: "second last", held: []*Fragment{fs[0], fs[3]}, bad: with(fs[2], 3, FragmentLast, nil), restart: true},
		{name: "beyond the last", held: []*Fragment{fs[0], fs[3]}, bad: with(fs[2], 5, 0, nil), restart: true},
		{name: "last below a held number", held: []*Fragment{fs[0], with(fs[3], 4, 0, nil)}, bad: with(fs[1], 2, FragmentLast, nil), restart: true},
		{name: "number zero", held: fs[:2], bad: with(fs[2], 0, 0, nil)},
		{name: "number 17", held: fs[:2], bad: with(fs[2], 17, 0, nil)},
		{name: "number 255 last", held: fs[:2], bad: with(fs[2], 255, FragmentLast, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r reassembler
			for _, f := range tc.held {
				if w, why := r.add(h, f, testEpoch); w != nil || why != "" {
					t.Fatalf("setup: %v %q", w != nil, why)
				}
			}
			if w, why := r.add(h, tc.bad, testEpoch); w != nil || why == "" {
				t.Fatalf("bad fragment: reassembled %v, dropped %q", w != nil, why)
			}
			if r.dropped.Load() != 1 {
				t.Errorf("dropped %d, want 1", r.dropped.Load())
			}
			n, size := r.held()
			if tc.restart && (n != 1 || size != len(tc.bad.Data)) || !tc.restart && (n != 0 || size != 0) {
				t.Errorf("holds %d sets, %d bytes after the drop", n, size)
			}
			// The rest of the original set does not complete a message
			// out of the dropped fragments.
			for _, f := range fs {
				if w, _ := r.add(h, f, testEpoch); w != nil && !bytes.Equal(w, msg) {
					t.Fatal("reassembled a message mixing the sets")
				}
			}
		})
	}
}

func TestReassemblyBounds(t *testing.T) {
	msg := testMessage(3000, ExchangeIDProt, 0, 0)
	h := fragHeader(msg)
	t.Run("10000 fragment IDs", func(t *testing.T) {
		var r reassembler
		fs := fragsOf(t, msg, 0, 3)
		for id := 0; id < 10000; id++ {
			f := *fs[id%2] // never the last: nothing completes
			f.ID = uint16(id)
			r.add(h, &f, testEpoch)
			if n, size := r.held(); n > maxReassemblies || size > maxReassemblies*1000 {
				t.Fatalf("after %d IDs: holds %d sets, %d bytes", id+1, n, size)
			}
		}
		if d := r.dropped.Load(); d != 10000-maxReassemblies {
			t.Errorf("dropped %d sets, want %d", d, 10000-maxReassemblies)
		}
	})
	t.Run("oversized set", func(t *testing.T) {
		var r reassembler
		big := bytes.Repeat([]byte{1}, 30000)
		for i := 1; i <= maxFragments; i++ {
			r.add(h, &Fragment{ID: 9, Number: uint8(i), Data: big}, testEpoch)
			if _, size := r.held(); size > maxReassembly {
				t.Fatalf("holds %d bytes", size)
			}
		}
		if d := r.dropped.Load(); d == 0 {
			t.Error("an oversized set was not dropped")
		}
		// One fragment larger than the bound on its own.
		r.add(h, &Fragment{ID: 10, Number: 1, Flags: FragmentLast, Data: make([]byte, maxReassembly+1)}, testEpoch)
		if _, size := r.held(); size > maxReassembly {
			t.Fatalf("holds %d bytes", size)
		}
	})
	t.Run("largest message", func(t *testing.T) {
		// 16 fragments of 4 KiB: exactly the bound, reassembled.
		var r reassembler
		big := testMessage(maxReassembly, ExchangeIDProt, 0, 0)
		var w []byte
		for i, f := range fragsOf(t, big, 1, maxFragments) {
			if w, _ = r.add(fragHeader(big), f, testEpoch); (w != nil) != (i == maxFragments-1) {
				t.Fatalf("fragment %d: reassembled %v", i+1, w != nil)
			}
		}
		if !bytes.Equal(w, big) {
			t.Error("64 KiB message not reassembled")
		}
	})
	t.Run("third message evicts the oldest", func(t *testing.T) {
		var r reassembler
		fs := fragsOf(t, msg, 0, 2)
		for id := uint16(1); id <= 3; id++ {
			f := *fs[0]
			f.ID = id
			r.add(h, &f, testEpoch.Add(time.Duration(id)*time.Second))
		}
		if n, _ := r.held(); n != 2 || r.find(fragKey{h.InitiatorCookie, h.ResponderCookie, 1}) != nil {
			t.Errorf("holds %d sets, the oldest among them: %v", n, r.find(fragKey{h.InitiatorCookie, h.ResponderCookie, 1}) != nil)
		}
		// ID 2 can still complete.
		f := *fs[1]
		f.ID = 2
		if w, _ := r.add(h, &f, testEpoch.Add(4*time.Second)); !bytes.Equal(w, msg) {
			t.Error("the newer set did not complete")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		var r reassembler
		fs := fragsOf(t, msg, 5, 2)
		r.add(h, fs[0], testEpoch)
		if w, why := r.add(h, fs[1], testEpoch.Add(reassemblyTimeout)); w != nil || why != "" {
			t.Errorf("completed a set %s old: %v %q", reassemblyTimeout, w != nil, why)
		}
		if r.dropped.Load() != 1 {
			t.Errorf("dropped %d, want 1", r.dropped.Load())
		}
		if w, _ := r.add(h, fs[0], testEpoch.Add(reassemblyTimeout+time.Second)); !bytes.Equal(w, msg) {
			t.Error("the fresh set did not complete")
		}
	})
	t.Run("cookies", func(t *testing.T) {
		// Fragments under other cookies than the message inside.
		var r reassembler
		other := h
		other.InitiatorCookie[0] ^= 1
		if w, why := r.add(other, fragsOf(t, msg, 1, 1)[0], testEpoch); w != nil || why == "" || r.dropped.Load() != 1 {
			t.Errorf("reassembled %v, dropped %q", w != nil, why)
		}
		// A fragment of a fragment.
		inner := specFragment(msg, ExchangeIDProt, 1, 1, FragmentLast, []byte{1})
		if w, why := r.add(h, fragsOf(t, inner, 1, 1)[0], testEpoch); w != nil || why == "" {
			t.Errorf("nested fragment: reassembled %v, dropped %q", w != nil, why)
		}
		if n, size := r.held(); n != 0 || size != 0 {
			t.Errorf("holds %d sets, %d bytes", n, size)
		}
	})
}

// FuzzReassembly feeds random sequences of fragments (4 bytes each: ID,
// number, flags, length and time step) cut from one message: the
// reassembler never panics, never holds more than its bounds and only
// returns messages it was given.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 1, 0, 100, 0, 2, 1, 100})
	f.Add([]byte{0, 2, 1, 100, 0, 1, 0, 100, 0, 2, 1, 100, 1, 1, 1, 255})
	f.Add([]byte{0, 0, 0, 0, 0, 17, 1, 9, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		msg := testMessage(1200, ExchangeIDProt, 0, 0)
		h := fragHeader(msg)
		var r reassembler
		now := testEpoch
		for len(ops) >= 4 {
			id, num, flags, n := uint16(ops[0]%4), ops[1], ops[2], int(ops[3])
			ops = ops[4:]
			now = now.Add(time.Duration(flags>>4) * time.Second)
			// Fragment num carries msg[(num-1)*100:][:n] (its slice of
			// msg when n is 100).
			start := min(max(int(num)-1, 0)*100, len(msg))
			data := msg[start:min(start+n, len(msg))]
			w, _ := r.add(h, &Fragment{ID: id, Number: num, Flags: flags & 1, Data: data}, now)
			if w != nil && (len(w) > maxReassembly || !bytes.Equal(w[:16], msg[:16])) {
				t.Fatalf("reassembled %d bytes, cookies %x", len(w), w[:min(16, len(w))])
			}
			sets, size := r.held()
			if sets > maxReassemblies || size > maxReassemblies*maxReassembly {
				t.Fatalf("holds %d sets, %d bytes", sets, size)
			}
			for _, s := range r.sets {
				if s.size > maxReassembly || s.have>>(maxFragments+1) != 0 || s.have&1 != 0 {
					t.Fatalf("set %+v out of bounds", s.key)
				}
			}
		}
	})
}
