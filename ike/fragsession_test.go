package ike

// Session tests of IKE fragmentation: a harness whose Send reassembles the
// session's fragments before the fake responder of responder_test.go sees
// them, and a fake whose replies arrive as fragments.

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
