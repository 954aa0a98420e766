package ike

// Reassembly of received IKE fragments (fragment.go): the fragments of one
// message share the cookies and a fragment ID; once numbers 1 to the one
// flagged last are all there, their data, in order, is the original
// message, which is then handled as if it had arrived whole.
//
// What a peer (or anyone who sees the cookies) can make us hold is bounded:
// at most maxReassemblies messages at once (a new one evicts the oldest),
// each of at most maxFragments fragments and maxReassembly bytes, for at
// most reassemblyTimeout. A repeated fragment with the same data is ignored
// (a retransmission); every other inconsistency drops the whole set and is
// counted ([MS-IKEE] 3.3.5.3 discards it too): a number 0 or above
// maxFragments, other data under a number already held, a second last
// fragment or a number beyond the last. A fragment that conflicts with a
// set starts a new one after the old is dropped, since strongSwan gives
// every fragmented message fragment ID 1: a stale fragment of the previous
// message must not keep the next from being reassembled.

import (
	"bytes"
	"sync/atomic"
	"time"
)

// Bounds of reassembly.
const (
	maxFragments      = 16
	maxReassembly     = 64 << 10
	maxReassemblies   = 2
	reassemblyTimeout = 10 * time.Second
)

// fragKey names the message a fragment belongs to.
type fragKey struct {
	ckyI, ckyR [8]byte
	id         uint16
}

// fragSet is one message in reassembly.
type fragSet struct {
	key   fragKey
	start time.Time
	last  uint8  // the number flagged last, 0 while unknown
	have  uint32 // bit n: fragment n is held
	size  int    // bytes of data held
	parts [maxFragments + 1][]byte
}

// reassembler holds the messages in reassembly. The Run goroutine owns it;
// dropped may be read from any goroutine.
type reassembler struct {
	sets    []*fragSet // oldest first
	dropped atomic.Uint64
}

// FragmentsDropped counts the received IKE fragments thrown away: the sets
// of fragments dropped as inconsistent, too large, evicted or left
// incomplete, and fragments that did not decode.
func (s *Session) FragmentsDropped() uint64 { return s.defrag.dropped.Load() }

// reassemble takes a received fragment message b. It returns the whole
// message when b completed one, else nil.
func (s *Session) reassemble(b []byte, now time.Time) []byte {
	h, f, err := ParseFragment(b)
	if err != nil {
		s.defrag.dropped.Add(1)
		s.log.Debug("ike: dropping malformed fragment", "err", err)
		return nil
	}
	whole, why := s.defrag.add(h, f, now)
	if why != "" {
		s.log.Debug("ike: dropping IKE fragments", "fragment_id", f.ID, "number", f.Number, "reason", why)
	}
	if whole != nil {
		s.log.Debug("ike: reassembled an IKE message from fragments", "fragment_id", f.ID, "bytes", len(whole))
	} else if why == "" {
		s.log.Debug("ike: received an IKE fragment, waiting for the rest", "fragment_id", f.ID, "number", f.Number)
	}
	return whole
}

// add takes one fragment of the message with header h. It returns the
// reassembled message when f completed it, or why something was dropped.
// The fragment's data is copied.
func (r *reassembler) add(h Header, f *Fragment, now time.Time) (whole []byte, dropped string) {
	r.expire(now)
	key := fragKey{h.InitiatorCookie, h.ResponderCookie, f.ID}
	set := r.find(key)
	if f.Number == 0 || f.Number > maxFragments {
		if set != nil {
			r.remove(set)
		}
		r.dropped.Add(1)
		return nil, "fragment number out of range"
	}
	if set != nil {
		if why := set.conflict(f); why != "" {
			// Drop the set; the fragment starts a new one.
			r.remove(set)
			r.dropped.Add(1)
			dropped, set = why, nil
		} else if set.have&(1<<f.Number) != 0 {
			return nil, "" // a repeat
		}
	}
	if set == nil {
		if len(r.sets) == maxReassemblies {
			r.remove(r.sets[0])
			r.dropped.Add(1)
		}
		set = &fragSet{key: key, start: now}
		r.sets = append(r.sets, set)
	}
	if set.size+len(f.Data) > maxReassembly {
		r.remove(set)
		r.dropped.Add(1)
		return nil, "message too large"
	}
	set.parts[f.Number] = bytes.Clone(f.Data)
	set.have |= 1 << f.Number
	set.size += len(f.Data)
	if f.Last() {
		set.last = f.Number
	}
	if set.last == 0 || set.have != (uint32(1)<<(set.last+1))-2 {
		return nil, dropped
	}
	r.remove(set)
	whole = make([]byte, 0, set.size)
	for _, p := range set.parts[1 : set.last+1] {
		whole = append(whole, p...)
	}
	// The message must be one the fragments' header could belong to.
	wh, err := ParseHeader(whole)
	switch {
	case err != nil:
		dropped = "the reassembled message does not decode: " + err.Error()
	case wh.InitiatorCookie != key.ckyI || wh.ResponderCookie != key.ckyR:
		dropped = "the reassembled message has other cookies than its fragments"
	case wh.NextPayload == PayloadFragment:
		dropped = "the reassembled message is a fragment"
	default:
		return whole, dropped
	}
	r.dropped.Add(1)
	return nil, dropped
}

// conflict says why f cannot belong to the set ("" when it can).
func (set *fragSet) conflict(f *Fragment) string {
	n := f.Number
	if set.have&(1<<n) != 0 && !bytes.Equal(set.parts[n], f.Data) {
		return "other data for a fragment number already received"
	}
	if f.Last() {
		if set.last != 0 && set.last != n {
			return "a second last fragment"
		}
		if set.have>>(n+1) != 0 {
			return "a last fragment below one already received"
		}
	} else if set.last != 0 && n > set.last {
		return "a fragment beyond the last"
	}
	return ""
}

// expire drops the sets older than reassemblyTimeout.
func (r *reassembler) expire(now time.Time) {
	for len(r.sets) > 0 && now.Sub(r.sets[0].start) >= reassemblyTimeout {
		r.remove(r.sets[0])
		r.dropped.Add(1)
	}
}

func (r *reassembler) find(k fragKey) *fragSet {
	for _, s := range r.sets {
		if s.key == k {
			return s
		}
	}
	return nil
}

func (r *reassembler) remove(set *fragSet) {
	for i, s := range r.sets {
		if s == set {
			r.sets = append(r.sets[:i], r.sets[i+1:]...)
			return
		}
	}
}

// held is what the reassembler holds: messages and bytes of data.
func (r *reassembler) held() (sets, size int) {
	for _, s := range r.sets {
		size += s.size
	}
	return len(r.sets), size
}
