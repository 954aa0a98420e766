package l2tp

import "sync/atomic"

// Stats counts control traffic of one tunnel.
type Stats struct {
	ControlSent     uint64 // control messages sent, first transmissions, not counting ZLBs
	ControlReceived uint64 // in-sequence control messages accepted, not counting ZLBs
	ZLBSent         uint64
	ZLBReceived     uint64
	Retransmits     uint64
	Malformed       uint64 // dropped: undecodable, or not for this tunnel
	Duplicates      uint64 // already received: re-acked and dropped
	OutOfOrder      uint64 // arrived ahead of a gap (held, or dropped beyond our window)
	UnknownIgnored  uint64 // ignored message types (unknown without M bit, SLI, WEN, ...)
	InputDropped    uint64 // Input found the queue full
	SendErrors      uint64 // the send func failed (the message counts as lost)
}

// counters are the live counters behind Stats; written by the control loop
// (and Input), read by Stats from any goroutine.
type counters struct {
	controlSent, controlReceived atomic.Uint64
	zlbSent, zlbReceived         atomic.Uint64
	retransmits                  atomic.Uint64
	malformed, duplicates        atomic.Uint64
	outOfOrder, unknownIgnored   atomic.Uint64
	inputDropped, sendErrors     atomic.Uint64
}

// Stats returns a snapshot of the tunnel's counters. Safe from any goroutine.
func (t *Tunnel) Stats() Stats {
	c := &t.stats
	return Stats{
		ControlSent:     c.controlSent.Load(),
		ControlReceived: c.controlReceived.Load(),
		ZLBSent:         c.zlbSent.Load(),
		ZLBReceived:     c.zlbReceived.Load(),
		Retransmits:     c.retransmits.Load(),
		Malformed:       c.malformed.Load(),
		Duplicates:      c.duplicates.Load(),
		OutOfOrder:      c.outOfOrder.Load(),
		UnknownIgnored:  c.unknownIgnored.Load(),
		InputDropped:    c.inputDropped.Load(),
		SendErrors:      c.sendErrors.Load(),
	}
}
