package esp

// Per-call state of Seal and Open. The keyed parts of an SA are shared by
// every call (the AES-GCM AEAD and the block ciphers only read their key
// schedules); what a call writes as it goes (the GCM nonce, a CBC mode's IV,
// an HMAC's running hash, output arrays) is scratch that each call in
// flight holds alone. An SA keeps a few of these in slots, claimed and
// released with one atomic operation each and created on first use, so
// parallel callers neither lock nor allocate in steady state.
//
// Not a sync.Pool: under the race detector Put drops a quarter of what it is
// given, and a miss here builds CBC modes and an HMAC state (several
// allocations), which would break the zero-allocation tests under -race;
// nor a channel, whose lock every packet would take twice.

import (
	"crypto/aes"
	"crypto/cipher"
	"hash"
	"runtime"
	"sync/atomic"
)

// scratch is what one Seal or Open writes besides the packet.
type scratch struct {
	nonce [12]byte // AES-GCM: salt || explicit IV

	enc, dec    cbcMode // CBC: the IV is set per packet
	mac         hash.Hash
	macSum      [64]byte // the largest HMAC output, SHA-512
	ivIn, ivOut [aes.BlockSize]byte
}

// scratchSlot is one slot of a scratchPool, a cache line of its own so that
// goroutines claiming neighbouring slots do not contend.
type scratchSlot struct {
	busy atomic.Bool
	s    *scratch // created by the first holder; owned by the holder
	_    [64 - 16]byte
}

// scratchPool hands out scratch. The zero value is not usable: see init.
type scratchPool struct {
	slots []scratchSlot
	new   func() *scratch
}

// maxScratchSlots bounds the slots of one SA (a server holds many SAs).
const maxScratchSlots = 64

func (p *scratchPool) init(newScratch func() *scratch) {
	n := min(2*runtime.GOMAXPROCS(0), maxScratchSlots)
	p.slots = make([]scratchSlot, n)
	p.new = newScratch
}

// get claims scratch for one call and returns it with the slot to release
// (nil when every slot was busy and the scratch is a fresh one that is
// dropped afterwards: only when more calls are in flight than twice the
// processors, that is when callers are descheduled mid-packet). The scan
// starts at the first slot so that a single caller always reuses the same
// scratch.
func (p *scratchPool) get() (*scratch, *scratchSlot) {
	for i := range p.slots {
		sl := &p.slots[i]
		if !sl.busy.Load() && sl.busy.CompareAndSwap(false, true) {
			if sl.s == nil {
				sl.s = p.new()
			}
			return sl.s, sl
		}
	}
	return p.new(), nil
}

// put releases a slot that get returned.
func (p *scratchPool) put(sl *scratchSlot) {
	if sl != nil {
		sl.busy.Store(false)
	}
}

// newCBCScratch builds the scratch of a CBC + HMAC SA: CBC modes over the
// shared block cipher, and a copy of the SA's keyed HMAC state (mac is
// never written; hash.Cloner copies share only its read-only key pads).
func newCBCScratch(block cipher.Block, mac hash.Cloner) (*scratch, error) {
	zeroIV := make([]byte, block.BlockSize())
	enc, ok1 := cipher.NewCBCEncrypter(block, zeroIV).(cbcMode)
	dec, ok2 := cipher.NewCBCDecrypter(block, zeroIV).(cbcMode)
	if !ok1 || !ok2 {
		return nil, errNoSetIV
	}
	h, err := mac.Clone()
	if err != nil {
		return nil, err
	}
	return &scratch{enc: enc, dec: dec, mac: h}, nil
}
