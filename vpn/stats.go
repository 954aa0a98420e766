package vpn

import (
	"net/netip"
	"sync/atomic"

	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// connStats are the data path's counters, updated without locks.
type connStats struct {
	txPackets, txBytes, txErrors atomic.Uint64
	rxPackets, rxBytes           atomic.Uint64
	rxDropped                    atomic.Uint64
	rxMalformed, rxForeign       atomic.Uint64
	rxWrongSession, rxNotReady   atomic.Uint64
	rxQueueFull                  atomic.Uint64
	rxErrors                     atomic.Uint64 // failed receive calls
	mssClamped                   atomic.Uint64 // TCP SYNs whose MSS was lowered
	rxMPPE                       atomic.Uint64 // MPPE: undecryptable, out of sync, or IP in the clear
	txMPPEBlocked                atomic.Uint64 // IP not sent: MPPE required but not up yet
}

// rxTally counts, in locals, what one batch of received datagrams adds to
// the per-packet counters; (*Conn).flushRx adds it to connStats once per
// batch. Drops, rare by nature, are counted where they happen.
type rxTally struct {
	packets, bytes uint64
	espVerified    bool // an ESP packet from the server passed its ICV
}

// addRx adds a batch's received packets: one atomic add per counter.
func (s *connStats) addRx(t *rxTally) {
	if t.packets > 0 {
		s.rxPackets.Add(t.packets)
		s.rxBytes.Add(t.bytes)
	}
}

// addTx adds a batch's transmit counts: one atomic add per counter that
// moved.
func (s *connStats) addTx(packets, bytes, errs, mppeBlocked uint64) {
	if packets > 0 {
		s.txPackets.Add(packets)
	}
	if bytes > 0 {
		s.txBytes.Add(bytes)
	}
	if errs > 0 {
		s.txErrors.Add(errs)
	}
	if mppeBlocked > 0 {
		s.txMPPEBlocked.Add(mppeBlocked)
	}
}

// drop counts one discarded datagram under reason.
func (s *connStats) drop(reason *atomic.Uint64) {
	reason.Add(1)
	s.rxDropped.Add(1)
}

func (s *connStats) snapshot() Stats {
	return Stats{
		TxPackets: s.txPackets.Load(), TxBytes: s.txBytes.Load(), TxErrors: s.txErrors.Load(),
		RxPackets: s.rxPackets.Load(), RxBytes: s.rxBytes.Load(),
		RxDropped: s.rxDropped.Load(), RxMalformed: s.rxMalformed.Load(), RxForeign: s.rxForeign.Load(),
		RxWrongSession: s.rxWrongSession.Load(), RxNotReady: s.rxNotReady.Load(), RxQueueFull: s.rxQueueFull.Load(),
		RxErrors: s.rxErrors.Load(), MSSClamped: s.mssClamped.Load(),
		RxMPPE: s.rxMPPE.Load(), TxMPPEBlocked: s.txMPPEBlocked.Load(),
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func prefixStrings(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func authName(m ppp.AuthMethod) string {
	if m == 0 {
		return "none"
	}
	return m.String()
}

// linkLocal is the fe80::/64 address for an IPV6CP interface identifier.
func linkLocal(id [8]byte) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	copy(b[8:], id[:])
	return netip.AddrFrom16(b)
}
