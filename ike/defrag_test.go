package ike

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
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

// fragHarness is a harness whose Send reassembles the session's fragments
// (independently of the package) before the fake responder sees them.
type fragHarness struct {
	*harness
	mu     sync.Mutex
	frames []sentMsg                  // every datagram the session sent
	whole  []sentMsg                  // the messages, fragmented ones reassembled
	isFrag map[int]bool               // index into whole: it came as fragments
	parts  map[uint16]map[byte][]byte // reassembly by fragment ID
	lastOf map[uint16]byte            // the last fragment's number
	ids    map[uint16]map[string]bool // fragment ID -> distinct fragment datagrams
	sizes  []int                      // datagram sizes of the fragments
}

func newFragHarness(t *testing.T, cfg Config, rc respConfig, split func(reply []byte) [][]byte) *fragHarness {
	t.Helper()
	cfg.PSK = secret.New(testPSK)
	rc.PSK = testPSK
	rc.AcceptIKE, rc.AcceptESP = cfg.IKE, cfg.ESP
	cfg.Local, cfg.Remote = testLocal, testRemote
	r := newFakeResponder(t, rc, testLocal, testRemote)
	r.split = split
	h := &harness{t: t, r: r, events: make(chan Event, 256), start: time.Now()}
	fh := &fragHarness{harness: h, isFrag: map[int]bool{}, parts: map[uint16]map[byte][]byte{},
		lastOf: map[uint16]byte{}, ids: map[uint16]map[string]bool{}}
	cfg.Send = fh.send
	cfg.Events = func(e Event) {
		select {
		case h.events <- e:
		default:
			t.Errorf("event queue full")
		}
	}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.s, r.s = s, s
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { _ = s.Run(ctx) }()
	t.Cleanup(h.stop)
	return fh
}

// send takes the session's datagrams: fragments are parsed by offset, per
// [MS-IKEE] 2.2.3.1, and reassembled by fragment ID.
func (fh *fragHarness) send(msg []byte, natt bool) error {
	fh.mu.Lock()
	b := bytes.Clone(msg)
	fh.frames = append(fh.frames, sentMsg{at: time.Now(), b: b, natt: natt})
	if len(b) < 36 || b[16] != byte(PayloadFragment) {
		fh.whole = append(fh.whole, sentMsg{b: b, natt: natt})
		fh.mu.Unlock()
		return fh.r.send(b, natt)
	}
	size := 28 + len(b)
	if natt {
		size += 4
	}
	fh.sizes = append(fh.sizes, size)
	id, num, flags := binary.BigEndian.Uint16(b[32:34]), b[34], b[35]
	if fh.ids[id] == nil {
		fh.ids[id] = map[string]bool{}
	}
	fh.ids[id][string(b)] = true
	if fh.parts[id] == nil {
		fh.parts[id] = map[byte][]byte{}
	}
	fh.parts[id][num] = b[36:]
	if flags&1 != 0 {
		fh.lastOf[id] = num
	}
	last := fh.lastOf[id]
	if last == 0 || len(fh.parts[id]) != int(last) {
		fh.mu.Unlock()
		return nil
	}
	var whole []byte
	for i := byte(1); i <= last; i++ {
		whole = append(whole, fh.parts[id][i]...)
	}
	delete(fh.parts, id)
	delete(fh.lastOf, id)
	fh.isFrag[len(fh.whole)] = true
	fh.whole = append(fh.whole, sentMsg{b: whole, natt: natt})
	fh.mu.Unlock()
	return fh.r.send(whole, natt)
}

// kinds lists the messages sent as "<exchange> <E flag> <f when fragmented>".
func (fh *fragHarness) kinds() []string {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	var out []string
	for i, m := range fh.whole {
		k := ExchangeType(m.b[18]).String()
		if Flags(m.b[19])&FlagEncryption != 0 {
			k += " E"
		}
		if fh.isFrag[i] {
			k += " f"
		}
		out = append(out, k)
	}
	return out
}

// mm1Fragmentation says whether the session's first Main Mode message has
// the FRAGMENTATION vendor ID.
func (fh *fragHarness) mm1Fragmentation(t *testing.T) bool {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	m, err := Parse(fh.whole[0].b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Payloads {
		if v, ok := p.(*VendorID); ok && v.Vendor() == VendorFragmentation && bytes.Equal(v.Data, VendorFragmentation.ID()) {
			return true
		}
	}
	return false
}

func fragConfig(t *testing.T, mode FragmentMode, size int) Config {
	return Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"), DPDDelay: -1,
		Fragmentation: mode, FragmentSize: size}
}

// Forced, with a small fragment size, every message of ours larger than it
// goes out as fragments no larger than it, and the connection comes up.
func TestSessionFragmentForce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fh := newFragHarness(t, fragConfig(t, FragmentForce, 200), respConfig{}, nil)
		checkInterop(t, fh.r, fh.event(ChildUp, 10*time.Second).Child)
		if !fh.mm1Fragmentation(t) {
			t.Error("no FRAGMENTATION vendor ID in MM1")
		}
		got := fh.kinds()
		want := []string{"ID_PROT f", "ID_PROT f", "ID_PROT E", "QUICK_MODE E f", "QUICK_MODE E"}
		if len(got) != len(want) {
			t.Fatalf("sent %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("message %d: %q, want %q (all: %v)", i+1, got[i], want[i], got)
			}
		}
		fh.mu.Lock()
		defer fh.mu.Unlock()
		for _, n := range fh.sizes {
			if n > 200 {
				t.Errorf("a %d-byte fragment datagram, size 200", n)
			}
		}
		if len(fh.ids) != 3 || fh.ids[1] == nil || fh.ids[2] == nil || fh.ids[3] == nil {
			t.Errorf("%d fragment IDs, want 1, 2, 3", len(fh.ids))
		}
	})
}

// Retransmissions resend the same fragments.
func TestSessionFragmentRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fragConfig(t, FragmentForce, 200)
		cfg.Retransmits = 2
		fh := newFragHarness(t, cfg, respConfig{Mute: true}, nil)
		if err := fh.done(time.Minute); err == nil {
			t.Fatal("no error from a mute server")
		}
		fh.mu.Lock()
		defer fh.mu.Unlock()
		if len(fh.ids) != 1 || len(fh.ids[1]) < 2 {
			t.Fatalf("%d fragment IDs (%d fragments with ID 1), want one, with several fragments", len(fh.ids), len(fh.ids[1]))
		}
		if len(fh.frames) != 3*len(fh.ids[1]) || len(fh.whole) != 3 {
			t.Errorf("%d datagrams, %d messages; want 3 sends of %d fragments", len(fh.frames), len(fh.whole), len(fh.ids[1]))
		}
		for i, m := range fh.whole[1:] {
			if !bytes.Equal(m.b, fh.whole[0].b) {
				t.Errorf("retransmission %d differs", i+1)
			}
		}
	})
}

// withVendors returns a split function that adds vendor IDs to MM2.
func withVendors(vs ...[]byte) func(reply []byte) [][]byte {
	return func(reply []byte) [][]byte {
		m, err := Parse(reply)
		if err != nil || !hasPayload[*SA](m.Payloads) || m.Header.Exchange != ExchangeIDProt {
			return [][]byte{reply}
		}
		for _, v := range vs {
			m.Payloads = append(m.Payloads, &VendorID{Data: v})
		}
		return [][]byte{m.Append(nil)}
	}
}

// Auto: nothing is fragmented unless the server announced FRAGMENTATION;
// to Windows only the encrypted Main Mode message; off: nothing, and MM1
// does not announce it.
func TestSessionFragmentAuto(t *testing.T) {
	frag16 := VendorFragmentation.ID()[:16]
	for _, tc := range []struct {
		name    string
		mode    FragmentMode
		vendors [][]byte
		want    []string
	}{
		{"auto, not announced", FragmentAuto, nil,
			[]string{"ID_PROT", "ID_PROT", "ID_PROT E", "QUICK_MODE E", "QUICK_MODE E"}},
		{"auto, announced", FragmentAuto, [][]byte{VendorFragmentation.ID()},
			[]string{"ID_PROT", "ID_PROT f", "ID_PROT E f", "QUICK_MODE E f", "QUICK_MODE E"}},
		{"auto, windows", FragmentAuto, [][]byte{VendorMSNT5ISAKMPOAKLEY.ID(), frag16},
			[]string{"ID_PROT", "ID_PROT", "ID_PROT E f", "QUICK_MODE E", "QUICK_MODE E"}},
		{"off, announced", FragmentOff, [][]byte{frag16},
			[]string{"ID_PROT", "ID_PROT", "ID_PROT E", "QUICK_MODE E", "QUICK_MODE E"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fh := newFragHarness(t, fragConfig(t, tc.mode, 120), respConfig{}, withVendors(tc.vendors...))
				checkInterop(t, fh.r, fh.event(ChildUp, 10*time.Second).Child)
				if got := fh.mm1Fragmentation(t); got != (tc.mode != FragmentOff) {
					t.Errorf("FRAGMENTATION vendor ID in MM1: %v", got)
				}
				got := fh.kinds()
				if len(got) != len(tc.want) {
					t.Fatalf("sent %v, want %v", got, tc.want)
				}
				for i := range tc.want {
					if got[i] != tc.want[i] {
						t.Errorf("message %d: %q, want %q (all: %v)", i+1, got[i], tc.want[i], got)
					}
				}
			})
		})
	}
}

// splitReplies returns a split function that delivers the server's clear
// Main Mode messages (MM2, MM4) as fragments, all with fragment ID 1 as
// strongSwan sends them, out of order and one twice; before MM4 comes a
// late copy of MM2's last fragment.
func splitReplies() func(reply []byte) [][]byte {
	var prevLast []byte
	return func(reply []byte) [][]byte {
		if ExchangeType(reply[18]) != ExchangeIDProt || Flags(reply[19])&FlagEncryption != 0 {
			return [][]byte{reply}
		}
		per := (len(reply) + 2) / 3
		var fs [][]byte
		for i := 0; i < 3; i++ {
			last := byte(0)
			if i == 2 {
				last = FragmentLast
			}
			fs = append(fs, specFragment(reply, ExchangeIDProt, 1, byte(i+1), last, reply[i*per:min((i+1)*per, len(reply))]))
		}
		out := [][]byte{fs[2], fs[0], fs[2], fs[1]}
		if prevLast != nil {
			out = append([][]byte{prevLast}, out...)
		}
		prevLast = fs[2]
		return out
	}
}

// The server's MM2 and MM4 arrive as fragments: the session reassembles
// them and comes up, with fragmentation off as well (received fragments are
// always reassembled). The late fragment of MM2 conflicts with MM4's last
// one: that set (of one) is dropped and counted, and MM4's fragment starts
// a new one.
func TestSessionReceivesFragments(t *testing.T) {
	for _, mode := range []FragmentMode{FragmentAuto, FragmentOff} {
		synctest.Test(t, func(t *testing.T) {
			fh := newFragHarness(t, fragConfig(t, mode, 0), respConfig{}, splitReplies())
			checkInterop(t, fh.r, fh.event(ChildUp, 10*time.Second).Child)
			if d := fh.s.FragmentsDropped(); d != 1 {
				t.Errorf("mode %d: %d fragment sets dropped, want 1", mode, d)
			}
			fh.mu.Lock()
			defer fh.mu.Unlock()
			if len(fh.whole) != 5 {
				t.Errorf("mode %d: the session sent %d messages, want 5 (no retransmission)", mode, len(fh.whole))
			}
		})
	}
}
