package server

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestNewPool(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		exclude []netip.Addr
		size    int
		err     string
	}{
		{"198.51.100.0/24", nil, 254, ""},
		{"198.51.100.0/24", []netip.Addr{addr("198.51.100.1"), addr("192.0.2.1")}, 253, ""},
		{" 198.51.100.10-198.51.100.200 ", nil, 191, ""},
		{"198.51.100.10-198.51.100.200", []netip.Addr{addr("198.51.100.10")}, 190, ""},
		{"198.51.100.7-198.51.100.7", nil, 1, ""},
		{"198.51.100.0/31", nil, 2, ""},
		{"198.51.100.9/32", nil, 1, ""},
		{"198.51.100.0/30", nil, 2, ""},
		{"198.51.100.0/30", []netip.Addr{addr("198.51.100.1"), addr("198.51.100.2")}, 0, "no address left"},
		{"198.51.100.9/32", []netip.Addr{addr("198.51.100.9")}, 0, "no address left"},
		{"10.0.0.0/8", nil, 1<<24 - 2, ""},
		{"10.0.0.0/7", nil, 0, "more than"},
		{"198.51.100.5/24", nil, 0, "did you mean 198.51.100.0/24?"},
		{"198.51.100.200-198.51.100.10", nil, 0, "ends before it starts"},
		{"2001:db8::/64", nil, 0, "IPv4 addresses only"},
		{"::1-::9", nil, 0, "IPv4 addresses only"},
		{"198.51.100.1-x", nil, 0, "want a prefix"},
		{"pool", nil, 0, "want a prefix"},
		{"", nil, 0, "want a prefix"},
	} {
		p, err := NewPool(tc.spec, tc.exclude...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "server: ") {
				t.Errorf("NewPool(%q) = %v, want error with %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewPool(%q): %v", tc.spec, err)
			continue
		}
		if p.Size() != tc.size {
			t.Errorf("NewPool(%q).Size() = %d, want %d", tc.spec, p.Size(), tc.size)
		}
	}
}

// A /29 hands out .1 to .6 less our own address, never .0 or .7, each once,
// then reports exhaustion naming the pool; a released address is handed
// out again.
func TestPoolExhaustion(t *testing.T) {
	p, err := NewPool("198.51.100.0/29", addr("198.51.100.1"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 5 {
		a, err := p.Acquire(fmt.Sprint("u", i), netip.Addr{})
		if err != nil {
			t.Fatalf("Acquire %d: %v", i, err)
		}
		got = append(got, a.String())
	}
	if want := "198.51.100.2 198.51.100.3 198.51.100.4 198.51.100.5 198.51.100.6"; strings.Join(got, " ") != want {
		t.Fatalf("handed out %v, want %s", got, want)
	}
	if p.InUse() != 5 || p.Size() != 5 {
		t.Fatalf("InUse %d Size %d", p.InUse(), p.Size())
	}
	_, err = p.Acquire("u9", netip.Addr{})
	if !errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), "198.51.100.0/29") {
		t.Fatalf("Acquire on a full pool = %v", err)
	}
	p.Release(addr("198.51.100.4"))
	p.Release(addr("198.51.100.4")) // twice: no effect
	p.Release(addr("192.0.2.1"))    // not ours: no effect
	if p.InUse() != 4 {
		t.Fatalf("InUse after release = %d", p.InUse())
	}
	if a, err := p.Acquire("u9", netip.Addr{}); err != nil || a != addr("198.51.100.4") {
		t.Fatalf("Acquire after release = %v, %v", a, err)
	}
}

// Next-fit: a released address goes to somebody else last; a reconnecting
// user gets its previous address back while it is free.
func TestPoolReuse(t *testing.T) {
	p, err := NewPool("198.51.100.10-198.51.100.14")
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := p.Acquire("alice", netip.Addr{})
	bob, _ := p.Acquire("bob", netip.Addr{})
	if alice != addr("198.51.100.10") || bob != addr("198.51.100.11") {
		t.Fatalf("alice %v bob %v", alice, bob)
	}
	p.Release(alice)
	if c, _ := p.Acquire("carol", netip.Addr{}); c != addr("198.51.100.12") {
		t.Fatalf("carol got %v, want the next fresh address", c)
	}
	if a, _ := p.Acquire("alice", netip.Addr{}); a != alice {
		t.Fatalf("alice reconnected with %v, want her previous %v", a, alice)
	}
	// Bob's previous address is taken by now: he gets another.
	p.Release(bob)
	if d, _ := p.Acquire("dave", bob); d != bob {
		t.Fatalf("dave asked for %v, got %v", bob, d)
	}
	if b, _ := p.Acquire("bob", netip.Addr{}); b == bob || !b.IsValid() {
		t.Fatalf("bob got %v while his old address is dave's", b)
	}
}

func TestPoolFixed(t *testing.T) {
	p, err := NewPool("198.51.100.0/24", addr("198.51.100.1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve([]netip.Addr{addr("198.51.100.2"), addr("198.51.100.3")}); err != nil {
		t.Fatal(err)
	}
	// Reserved addresses are skipped by dynamic allocation.
	if a, _ := p.Acquire("bob", netip.Addr{}); a != addr("198.51.100.4") {
		t.Fatalf("bob got %v, want 198.51.100.4 (.2 and .3 are reserved)", a)
	}
	for _, tc := range []struct {
		user, want string
		err        error
	}{
		{"alice", "198.51.100.2", nil},
		{"mallory", "198.51.100.2", ErrAddressInUse},
		{"carol", "198.51.100.4", ErrAddressInUse}, // bob's
		{"carol", "198.51.100.1", ErrNotInPool},    // ours
		{"carol", "198.51.100.0", ErrNotInPool},    // network
		{"carol", "198.51.100.255", ErrNotInPool},  // broadcast
		{"carol", "192.0.2.9", ErrNotInPool},
		{"carol", "2001:db8::1", ErrNotInPool},
		{"carol", "198.51.100.77", nil}, // a fixed address need not be reserved
	} {
		a, err := p.Acquire(tc.user, addr(tc.want))
		if !errors.Is(err, tc.err) || err == nil && a != addr(tc.want) {
			t.Errorf("Acquire(%s, %s) = %v, %v; want error %v", tc.user, tc.want, a, err, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not name %s", err, tc.want)
		}
	}
	// A released reserved address stays reserved.
	p.Release(addr("198.51.100.2"))
	if a, _ := p.Acquire("alice", netip.Addr{}); a == addr("198.51.100.2") || a == addr("198.51.100.3") {
		t.Fatalf("dynamic Acquire handed out the reserved %v", a)
	}
	// Un-reserving frees .3 for everyone; .2 is no longer held back.
	if err := p.Reserve(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve([]netip.Addr{addr("198.51.100.1")}); !errors.Is(err, ErrNotInPool) {
		t.Fatalf("Reserve(our own address) = %v", err)
	}
	if !p.Contains(addr("198.51.100.3")) || p.Contains(addr("198.51.100.1")) || p.Contains(addr("198.51.101.3")) {
		t.Fatal("Contains")
	}
}

// Many goroutines acquiring at once never get the same address, and every
// address is handed out exactly once (run with -race).
func TestPoolConcurrent(t *testing.T) {
	p, err := NewPool("10.1.0.0/22", addr("10.1.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	var (
		mu   sync.Mutex
		seen = make(map[netip.Addr]string)
		wg   sync.WaitGroup
	)
	exhausted := 0
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				user := fmt.Sprintf("w%d-%d", w, i)
				a, err := p.Acquire(user, netip.Addr{})
				mu.Lock()
				if err != nil {
					if !errors.Is(err, ErrPoolExhausted) {
						t.Errorf("Acquire: %v", err)
					}
					exhausted++
					mu.Unlock()
					return
				}
				if prev, dup := seen[a]; dup {
					t.Errorf("%v handed to %s and %s", a, prev, user)
				}
				seen[a] = user
				mu.Unlock()
				if i%7 == 3 { // churn: release and take again
					mu.Lock()
					delete(seen, a) // before Release: another may get it at once
					mu.Unlock()
					p.Release(a)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != p.Size() || p.InUse() != p.Size() || exhausted != workers {
		t.Fatalf("seen %d, InUse %d, Size %d, exhausted %d", len(seen), p.InUse(), p.Size(), exhausted)
	}
	for a := range seen {
		if a == addr("10.1.0.0") || a == addr("10.1.3.255") || a == addr("10.1.0.1") {
			t.Errorf("handed out %v", a)
		}
	}
}
