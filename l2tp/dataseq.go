package l2tp

import (
	"encoding/binary"
	"sync/atomic"
)

// Sequence numbers on the data channel, RFC 2661 5.4 (header layout: 3.1).
//
// Data messages carry Ns and Nr only when their S bit is set. Each peer
// numbers the data messages of each session on its own, from 0, incrementing
// by one modulo 2^16 per message; the data channel never retransmits, so the
// numbers only let the receiver spot loss and reordering. Nr is reserved in
// data messages: we send 0 and ignore what we receive (3.1).
//
// Who decides (5.4): a Sequencing Required AVP at session set-up means
// sequence numbers MUST be present at all times. Without it the LNS decides
// with its own data messages: the LAC MUST start sending sequence numbers
// when it receives a sequenced data message and MUST stop when it receives
// one without. Our numbering picks up where it left off when it starts again.
// 4.4.6 has the LAC send the AVP in its ICCN; we play the LAC and never ask,
// but a server that puts it in its ICRP gets sequence numbers on every data
// message (SessionInfo.SequencingRequired, then Require).
//
// Received sequenced data is delivered as it comes when it is newer than the
// newest one accepted, and dropped when older (5.4 leaves reordering or
// dropping to the receiver; IP above us copes with the loss).

// DataHeaderSeqLen is the size of the header PutDataHeaderSeq writes: flags
// and version, Tunnel ID, Session ID, Ns, Nr.
const DataHeaderSeqLen = 10

// PutDataHeaderSeq writes the 10-byte header of a sequenced data message (S
// bit set, no L or O bit) into b[:10]: Tunnel ID, Session ID, Ns and Nr. Nr
// is reserved in data messages (3.1): pass 0. It panics if len(b) <
// DataHeaderSeqLen, like binary.BigEndian.PutUint16. It does not allocate.
func PutDataHeaderSeq(b []byte, tunnelID, sessionID, ns, nr uint16) {
	_ = b[DataHeaderSeqLen-1]
	binary.BigEndian.PutUint16(b, bitS|versionV2)
	binary.BigEndian.PutUint16(b[2:], tunnelID)
	binary.BigEndian.PutUint16(b[4:], sessionID)
	binary.BigEndian.PutUint16(b[6:], ns)
	binary.BigEndian.PutUint16(b[8:], nr)
}

// maxLateRun is how many sequenced data messages in a row are dropped as
// late at most: the next late one is accepted and its Ns taken as the newest.
// A peer that jumped ahead by more than half the number space, or restarted
// at 0, would otherwise look late for up to 32767 messages. Reordering does
// not make such runs: the next message in order ends one.
const maxLateRun = 15

// The layout of DataSequence.rx.
const (
	rxSeen     = 1 << 16
	rxRunShift = 17
)

// DataSequence is the data-channel sequencing state of one session, RFC 2661
// 5.4: whether we put Ns on our data messages and the next Ns, and the newest
// Ns received. Its zero value is ready (unsequenced, nothing received). It is
// lock-free and allocates nothing: the transmit side (PutHeader, from any
// number of goroutines) and the receive side (Received) may run at the same
// time.
type DataSequence struct {
	required atomic.Bool   // Sequencing Required: always send Ns
	peerSeq  atomic.Bool   // the peer's latest data message was sequenced
	ns       atomic.Uint32 // the next Ns we send, in the low 16 bits
	// rx is the receive state in one word so that one compare-and-swap
	// updates it: bits 0-15 the newest Ns accepted, bit 16 (rxSeen) set once
	// one was, bits 17 and up the number of messages dropped as late since.
	rx   atomic.Uint32
	late atomic.Uint64
}

// Require records a Sequencing Required AVP (4.4.6) from session set-up:
// from now on every data message we send carries Ns, whatever the peer's
// own data messages do.
func (s *DataSequence) Require() { s.required.Store(true) }

// Required reports whether Require was called.
func (s *DataSequence) Required() bool { return s.required.Load() }

// Sending reports whether our next data message carries Ns.
func (s *DataSequence) Sending() bool { return s.required.Load() || s.peerSeq.Load() }

// Next takes the Ns for one data message we send: ok is false when data
// messages go unsequenced, and then no number is used up.
func (s *DataSequence) Next() (ns uint16, ok bool) {
	if !s.Sending() {
		return 0, false
	}
	return uint16(s.ns.Add(1) - 1), true
}

// PutHeader writes our data header into the headroom before b[end], where
// the PPP frame starts: with the S bit and the next Ns while sequencing is
// on (DataHeaderSeqLen bytes), else the plain DataHeaderLen-byte header. It
// returns the offset the header starts at. Sequencing can switch on at any
// time, so end must leave DataHeaderSeqLen bytes of headroom either way;
// PutHeader returns -1, writing nothing, if it does not or if end is beyond
// len(b). It does not allocate.
func (s *DataSequence) PutHeader(b []byte, end int, tunnelID, sessionID uint16) int {
	if end > len(b) || end < DataHeaderSeqLen {
		return -1
	}
	ns, ok := s.Next()
	if !ok {
		PutDataHeader(b[end-DataHeaderLen:], tunnelID, sessionID)
		return end - DataHeaderLen
	}
	PutDataHeaderSeq(b[end-DataHeaderSeqLen:], tunnelID, sessionID, ns, 0)
	return end - DataHeaderSeqLen
}

// Received takes the header of a data message the peer sent to this session.
// It turns our own sequencing on or off as 5.4 says (unless Require was
// called, which keeps it on) and reports whether to deliver the message:
// false for a sequenced message older than the newest one accepted, which
// Late counts. A repeated Ns is delivered. Nr is ignored (3.1). It does not
// allocate.
func (s *DataSequence) Received(h *Header) bool {
	if !h.HasSequence {
		if s.peerSeq.Load() {
			s.peerSeq.Store(false)
		}
		return true
	}
	if !s.peerSeq.Load() {
		s.peerSeq.Store(true)
	}
	for {
		old := s.rx.Load()
		// How far behind the newest accepted Ns this one is, in serial
		// arithmetic: 1 to 32767 is older, 0 is a repeat, the rest is newer.
		behind := uint16(old) - h.Ns
		late := old&rxSeen != 0 && behind != 0 && behind < 0x8000
		next := rxSeen | uint32(h.Ns) // accepted: the newest, no late run
		if late {
			if old>>rxRunShift < maxLateRun {
				next = old + 1<<rxRunShift // dropped: one more in the run
			} else {
				late = false // resynchronised to the peer's numbering
			}
		}
		if s.rx.CompareAndSwap(old, next) {
			if late {
				s.late.Add(1)
			}
			return !late
		}
	}
}

// Late is the number of sequenced data messages Received dropped because
// they arrived after a newer one.
func (s *DataSequence) Late() uint64 { return s.late.Load() }
