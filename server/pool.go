package server

// The address pool: the IPv4 addresses IPCP hands to clients (IPCP knows
// IPv4 only). A pool is a prefix ("198.51.100.0/24", whose network and
// broadcast addresses are never handed out, except in a /31 or /32) or an
// inclusive range ("198.51.100.10-198.51.100.200"), less the excluded
// addresses (our own, server-ip).
//
// Allocation is next-fit: a cursor moves forward through the pool, so an
// address just released is the last one given to somebody else, and a
// client that reconnects gets its previous address back when it is still
// free. Reserved addresses (the fixed addresses of the users file) are
// handed out only to whoever asks for them by name.

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"sync"
)

// Errors of Acquire; the returned errors wrap them and name the pool or
// the address.
var (
	ErrPoolExhausted = errors.New("server: address pool exhausted")
	ErrAddressInUse  = errors.New("server: address in use by another session")
	ErrNotInPool     = errors.New("server: address not in the pool")
)

// maxPoolSize bounds a pool: a /8, whose bitmap takes 2 MiB.
const maxPoolSize = 1 << 24

// maxRemembered bounds the map of each user's last address; past it the
// map starts again.
const maxRemembered = 1 << 16

// Pool hands out IPv4 addresses. It is safe for concurrent use.
type Pool struct {
	spec  string
	first uint32 // the pool's first address
	n     uint32 // addresses in [first, first+n), excluded ones included
	size  int    // n less the excluded addresses

	mu       sync.Mutex
	blocked  []uint64          // bit i: first+i is in use, excluded or reserved (or past n)
	owner    map[uint32]string // in use -> user
	excluded map[uint32]bool   // never handed out
	reserved map[uint32]bool   // handed out only when asked for
	last     map[string]uint32 // the last address each user had
	next     uint32            // where the next search starts (an index)
}

// NewPool parses a prefix or a range (see the file comment) and leaves out
// exclude (addresses outside the pool are ignored). It fails when no
// address is left.
func NewPool(prefixOrRange string, exclude ...netip.Addr) (*Pool, error) {
	spec := strings.TrimSpace(prefixOrRange)
	first, last, err := parsePool(spec)
	if err != nil {
		return nil, err
	}
	if uint64(last)-uint64(first)+1 > maxPoolSize {
		return nil, fmt.Errorf("server: pool %s: more than %d addresses; use a /8 or smaller", spec, maxPoolSize)
	}
	p := &Pool{
		spec:     spec,
		first:    first,
		n:        last - first + 1,
		owner:    make(map[uint32]string),
		excluded: make(map[uint32]bool),
		reserved: make(map[uint32]bool),
		last:     make(map[string]uint32),
	}
	p.blocked = make([]uint64, (p.n+63)/64)
	for i := p.n; i < uint32(len(p.blocked))*64; i++ {
		p.set(i)
	}
	if pfx, err := netip.ParsePrefix(spec); err == nil && pfx.Bits() <= 30 {
		p.exclude(0)
		p.exclude(p.n - 1)
	}
	for _, a := range exclude {
		if i, ok := p.index(a); ok {
			p.exclude(i)
		}
	}
	p.size = int(p.n) - len(p.excluded)
	if p.size <= 0 {
		return nil, fmt.Errorf("server: pool %s has no address left for clients (our own address is excluded from it)", spec)
	}
	return p, nil
}

// parsePool reads a prefix or a range as the first and last address.
func parsePool(spec string) (first, last uint32, err error) {
	if lo, hi, ok := strings.Cut(spec, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("server: pool %q: want a prefix such as 198.51.100.0/24 or a range such as 198.51.100.10-198.51.100.200", spec)
		}
		a, b = a.Unmap(), b.Unmap()
		if !a.Is4() || !b.Is4() {
			return 0, 0, fmt.Errorf("server: pool %s: IPv4 addresses only (IPCP assigns IPv4)", spec)
		}
		first, last = addrU32(a), addrU32(b)
		if first > last {
			return 0, 0, fmt.Errorf("server: pool %s: the range ends before it starts", spec)
		}
		return first, last, nil
	}
	pfx, err := netip.ParsePrefix(spec)
	if err != nil {
		return 0, 0, fmt.Errorf("server: pool %q: want a prefix such as 198.51.100.0/24 or a range such as 198.51.100.10-198.51.100.200", spec)
	}
	if !pfx.Addr().Is4() {
		return 0, 0, fmt.Errorf("server: pool %s: IPv4 addresses only (IPCP assigns IPv4)", spec)
	}
	if m := pfx.Masked(); m != pfx {
		return 0, 0, fmt.Errorf("server: pool %s has host bits set; did you mean %s?", spec, m)
	}
	first = addrU32(pfx.Addr())
	last = first | uint32(uint64(1)<<(32-pfx.Bits())-1)
	return first, last, nil
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// index is a's position in the pool.
func (p *Pool) index(a netip.Addr) (uint32, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	v := addrU32(a)
	if v < p.first || v-p.first >= p.n {
		return 0, false
	}
	return v - p.first, true
}

func (p *Pool) set(i uint32)        { p.blocked[i/64] |= 1 << (i % 64) }
func (p *Pool) clear(i uint32)      { p.blocked[i/64] &^= 1 << (i % 64) }
func (p *Pool) isSet(i uint32) bool { return p.blocked[i/64]&(1<<(i%64)) != 0 }

func (p *Pool) exclude(i uint32) {
	p.excluded[i] = true
	p.set(i)
}

// String is the pool as configured.
func (p *Pool) String() string { return p.spec }

// Size is how many addresses the pool can hand out, reserved ones included.
func (p *Pool) Size() int { return p.size }

// InUse is how many addresses are handed out.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.owner)
}

// Contains reports whether a is an address the pool can hand out: inside
// it and not excluded.
func (p *Pool) Contains(a netip.Addr) bool {
	i, ok := p.index(a)
	return ok && !p.excluded[i] // excluded is written only by NewPool
}

// Reserve replaces the set of reserved addresses: those are skipped by
// dynamic allocation and handed out only to an Acquire that asks for one.
// Addresses the pool cannot hand out are an error, and nothing changes.
// Addresses in use stay in use.
func (p *Pool) Reserve(addrs []netip.Addr) error {
	idx := make(map[uint32]bool, len(addrs))
	for _, a := range addrs {
		i, ok := p.index(a)
		if !ok || p.excluded[i] {
			return fmt.Errorf("%w: %s is not an address pool %s hands out", ErrNotInPool, a, p.spec)
		}
		idx[i] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.reserved
	p.reserved = idx
	for i := range old {
		if _, used := p.owner[i]; !used && !idx[i] {
			p.clear(i)
		}
	}
	for i := range idx {
		p.set(i)
	}
	return nil
}

// Acquire hands an address to user's new session. want is the user's fixed
// address, or the zero Addr for any: a fixed address must be in the pool
// (ErrNotInPool) and free (ErrAddressInUse). Any address is the user's
// previous one when it is free, else the next free one; none left is
// ErrPoolExhausted. An address is never handed out twice before Release.
func (p *Pool) Acquire(user string, want netip.Addr) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if want.IsValid() {
		i, ok := p.index(want)
		if !ok || p.excluded[i] {
			return netip.Addr{}, fmt.Errorf("%w: %s is not an address pool %s hands out", ErrNotInPool, want, p.spec)
		}
		if _, used := p.owner[i]; used {
			return netip.Addr{}, fmt.Errorf("%w: %s", ErrAddressInUse, want)
		}
		return p.take(user, i), nil
	}
	if i, ok := p.last[user]; ok && !p.isSet(i) {
		return p.take(user, i), nil
	}
	i, ok := p.findFree()
	if !ok {
		return netip.Addr{}, fmt.Errorf("%w: pool %s has all its %d addresses in use or reserved", ErrPoolExhausted, p.spec, p.size)
	}
	p.next = i + 1
	if p.next >= p.n {
		p.next = 0
	}
	return p.take(user, i), nil
}

// take marks index i in use by user. The caller holds p.mu.
func (p *Pool) take(user string, i uint32) netip.Addr {
	p.set(i)
	p.owner[i] = user
	if _, ok := p.last[user]; !ok && len(p.last) >= maxRemembered {
		clear(p.last)
	}
	p.last[user] = i
	return u32Addr(p.first + i)
}

// findFree returns the first clear bit at or after p.next, wrapping
// around. The caller holds p.mu.
func (p *Pool) findFree() (uint32, bool) {
	words := uint32(len(p.blocked))
	start := p.next / 64
	for k := uint32(0); k <= words; k++ {
		w := (start + k) % words
		free := ^p.blocked[w]
		if k == 0 {
			free &= ^uint64(0) << (p.next % 64) // from p.next on
		}
		if k == words {
			free = ^p.blocked[w] &^ (^uint64(0) << (p.next % 64)) // before p.next
		}
		if free != 0 {
			return w*64 + uint32(bits.TrailingZeros64(free)), true
		}
	}
	return 0, false
}

// Release returns addr to the pool. Releasing an address not in use does
// nothing.
func (p *Pool) Release(addr netip.Addr) {
	i, ok := p.index(addr)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, used := p.owner[i]; !used {
		return
	}
	delete(p.owner, i)
	if !p.reserved[i] && !p.excluded[i] {
		p.clear(i)
	}
}
