package ike

// IKEv1 fragmentation as Cisco introduced it and Windows ([MS-IKEE] 2.2.3.1,
// 3.3.5.3, 3.3.6.1), strongSwan and racoon implement it. An ISAKMP message
// too large for one unfragmented IP datagram (a Main Mode message 5 or 6
// with a certificate chain) is sent as several ISAKMP messages, each with
// one Fragment payload (type 132):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	! Next Payload  !   RESERVED    !         Payload Length        !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	!          Fragment ID          !  Fragment Num !     Flags     !
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                         Fragment Data                         ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Fragment numbers start at 1; flag 0x01 marks the last one. The data of
// the fragments, in order, is the whole original message, its ISAKMP header
// included, as it would have been sent: an encrypted message is fragmented
// after encryption. The header of a fragment message carries the original
// cookies and version, Next Payload 132 and no flags; like strongSwan (after
// "other implementations"), its message ID is 0 and its exchange ID_PROT
// (AGGRESSIVE for an Aggressive Mode message) whatever the original's.
//
// Support is announced with the FRAGMENTATION vendor ID (vendor.go): we send
// it in Main Mode message 1 unless fragmentation is off, so that servers may
// fragment to us; received fragments are always reassembled (defrag.go).

import (
	"bytes"
	"encoding/binary"
)

// FragmentMode says when our IKE messages are fragmented.
type FragmentMode int

// Fragmentation modes.
const (
	// FragmentAuto fragments a message larger than the fragment size once
	// the server announced the FRAGMENTATION vendor ID. A Windows server
	// gets only its encrypted Main Mode messages fragmented, the ones with
	// identities and certificates: Windows fragments only those itself and,
	// strongSwan found, accepts fragments only when it expects certificates.
	FragmentAuto FragmentMode = iota
	// FragmentForce fragments every message larger than the fragment size.
	FragmentForce
	// FragmentOff never fragments and does not announce the FRAGMENTATION
	// vendor ID (received fragments are still reassembled).
	FragmentOff
)

// DefaultFragmentSize is the fragment size when Config.FragmentSize is zero:
// 576 bytes, the IPv4 datagram size Windows fragments to ([MS-IKEE]
// 3.3.6.1). Like Windows' 576 and strongSwan's fragment_size, the size
// counts the whole IP datagram of each fragment: the IPv4 and UDP headers,
// the non-ESP marker on port 4500, the ISAKMP header, the Fragment payload
// header and the data. A message is fragmented when its own datagram would
// be larger than that.
const DefaultFragmentSize = 576

// FragmentLast is the flag of the last fragment of a message.
const FragmentLast = 0x01

// Lengths counted against the fragment size.
const (
	fragmentHeaderLen = genericHeaderLen + 4 // generic header, ID, number, flags
	ipv4UDPLen        = 20 + 8               // no IP options
	nonESPMarkerLen   = 4                    // RFC 3948 2.2, on port 4500
	// minFragmentData is the least data per fragment, whatever the size
	// configured: a tiny size makes many tiny fragments, not none.
	minFragmentData = 32
	// maxSendFragments: more would not fit the fragment number; such a
	// message is sent whole.
	maxSendFragments = 255
)

// Fragment is the IKE fragment payload. Data aliases the input when decoded.
type Fragment struct {
	ID     uint16 // the same for every fragment of one message
	Number uint8  // from 1
	Flags  uint8  // FragmentLast; other bits are sent as zero and ignored
	Data   []byte
}

// Type returns PayloadFragment.
func (p *Fragment) Type() PayloadType { return PayloadFragment }

// Last says this is the last fragment of its message.
func (p *Fragment) Last() bool { return p.Flags&FragmentLast != 0 }

// AppendBody appends the fragment ID, number, flags and data.
func (p *Fragment) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, p.ID)
	b = append(b, p.Number, p.Flags)
	return append(b, p.Data...)
}

// parseFragment decodes the body of a Fragment payload. Only the syntax is
// checked here; the numbers are the reassembler's business.
func parseFragment(b []byte) (*Fragment, error) {
	if len(b) < fragmentHeaderLen-genericHeaderLen {
		return nil, malformed(PayloadFragment, "%d bytes, shorter than the fragment header", len(b))
	}
	return &Fragment{ID: binary.BigEndian.Uint16(b[0:2]), Number: b[2], Flags: b[3], Data: b[4:]}, nil
}

// isFragment says b is an ISAKMP message whose first payload is a fragment.
func isFragment(b []byte) bool {
	return len(b) >= HeaderLen && PayloadType(b[16]) == PayloadFragment
}

// ParseFragment decodes an ISAKMP message that carries an IKE fragment: the
// header (Next Payload 132) and exactly one Fragment payload, which must end
// at the header's Length ([MS-IKEE] 3.3.5.3: a fragment with other payloads
// is discarded). The E flag is ignored: racoon sets it on fragments, which
// are not encrypted. The result aliases b.
func ParseFragment(b []byte) (Header, *Fragment, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, nil, err
	}
	if h.NextPayload != PayloadFragment {
		return h, nil, malformed(PayloadNone, "%s message is not an IKE fragment", h.NextPayload)
	}
	body := b[HeaderLen:h.Length]
	if len(body) < genericHeaderLen {
		return h, nil, malformed(PayloadFragment, "payload header truncated (%d bytes left)", len(body))
	}
	n := int(binary.BigEndian.Uint16(body[2:4]))
	switch {
	case n < fragmentHeaderLen:
		return h, nil, malformed(PayloadFragment, "payload length %d smaller than its header", n)
	case n != len(body):
		return h, nil, malformed(PayloadFragment, "payload length %d, but %d bytes follow the ISAKMP header", n, len(body))
	case body[0] != byte(PayloadNone):
		return h, nil, malformed(PayloadFragment, "followed by a %s payload", PayloadType(body[0]))
	}
	f, err := parseFragment(body[genericHeaderLen:])
	return h, f, err
}

// appendFragmentMessage appends one fragment message of the original
// message orig (whose header it copies as described at the top).
func appendFragmentMessage(b, orig []byte, f *Fragment) []byte {
	h := Header{NextPayload: PayloadFragment, Version: orig[17], Exchange: ExchangeIDProt}
	copy(h.InitiatorCookie[:], orig[0:8])
	copy(h.ResponderCookie[:], orig[8:16])
	if ExchangeType(orig[18]) == ExchangeAggressive {
		h.Exchange = ExchangeAggressive
	}
	h.Length = uint32(HeaderLen + fragmentHeaderLen + len(f.Data))
	b = h.Append(b)
	b = append(b, byte(PayloadNone), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(fragmentHeaderLen+len(f.Data)))
	return f.AppendBody(b)
}

// fragmentPlan is how a message of n bytes is cut for datagrams of at most
// size bytes (natt: with the non-ESP marker): per bytes of it in each of
// count fragments. count is 0 when the message fits in one datagram or
// would need more fragments than a fragment number can count.
func fragmentPlan(n, size int, natt bool) (per, count int) {
	overhead := ipv4UDPLen
	if natt {
		overhead += nonESPMarkerLen
	}
	if n < HeaderLen || overhead+n <= size {
		return 0, 0
	}
	per = max(size-overhead-HeaderLen-fragmentHeaderLen, minFragmentData)
	count = (n + per - 1) / per
	if count > maxSendFragments {
		return 0, 0
	}
	return per, count
}

// splitMessage cuts msg, a whole ISAKMP message, into count fragment
// messages with per bytes of it each (see fragmentPlan), all with fragment
// ID id.
func splitMessage(msg []byte, id uint16, per, count int) [][]byte {
	frags := make([][]byte, 0, count)
	for i := 0; i < count; i++ {
		f := Fragment{ID: id, Number: uint8(i + 1), Data: msg[i*per : min((i+1)*per, len(msg))]}
		if i == count-1 {
			f.Flags = FragmentLast
		}
		frags = append(frags, appendFragmentMessage(nil, msg, &f))
	}
	return frags
}

// fragmenter is the sending side's state, owned by the Run goroutine.
type fragmenter struct {
	// peer: the server announced FRAGMENTATION (for Main Mode messages);
	// windows: it is Windows (MS NT5 ISAKMPOAKLEY).
	peer, windows bool
	lastID        uint16
	// recent are the messages fragmented last and their fragment IDs, so
	// that a retransmission goes out as the same fragments, which the
	// server can combine with those it already has.
	recent [4]struct {
		msg []byte
		id  uint16
	}
	next int // the slot of recent to reuse next
}

// notePeer reads the server's vendor IDs for its fragmentation support. The
// FRAGMENTATION ID counts bare (Windows sends it so) or with the capability
// bit for Main and Aggressive Mode, 0x80000000 (strongSwan's test; Cisco
// sends c0000000).
func (f *fragmenter) notePeer(ps []Payload) {
	for _, p := range ps {
		v, ok := p.(*VendorID)
		if !ok {
			continue
		}
		switch v.Vendor() {
		case VendorFragmentation:
			if len(v.Data) == prefixLen || len(v.Data) >= prefixLen+4 && v.Data[prefixLen]&0x80 != 0 {
				f.peer = true
			}
		case VendorMSNT5ISAKMPOAKLEY:
			f.windows = true
		}
	}
}

// wanted says whether msg is sent as fragments when it is too large.
func (f *fragmenter) wanted(cfg *Config, msg []byte) bool {
	switch cfg.Fragmentation {
	case FragmentForce:
		return true
	case FragmentAuto:
		if !f.peer {
			return false
		}
		if f.windows {
			return len(msg) >= HeaderLen && ExchangeType(msg[18]) == ExchangeIDProt && Flags(msg[19])&FlagEncryption != 0
		}
		return true
	}
	return false
}

// fragmentID is the fragment ID of msg: the one it had when it was sent
// before, else the next.
func (f *fragmenter) fragmentID(msg []byte) uint16 {
	for _, r := range f.recent {
		if r.msg != nil && bytes.Equal(r.msg, msg) {
			return r.id
		}
	}
	f.lastID++
	f.recent[f.next].msg, f.recent[f.next].id = msg, f.lastID
	f.next = (f.next + 1) % len(f.recent)
	return f.lastID
}

// fragmentSize is the configured fragment size.
func fragmentSize(cfg *Config) int {
	if cfg.FragmentSize <= 0 {
		return DefaultFragmentSize
	}
	return cfg.FragmentSize
}

// transmit hands msg to Config.Send, whole or, when fragmentation applies
// and it is too large, as fragments sent back to back. Every send of our
// messages, retransmissions included, goes through here.
func (s *Session) transmit(msg []byte, natt bool) error {
	f := &s.frag
	if !f.wanted(&s.cfg, msg) {
		return s.cfg.Send(msg, natt)
	}
	per, count := fragmentPlan(len(msg), fragmentSize(&s.cfg), natt)
	if count == 0 {
		return s.cfg.Send(msg, natt)
	}
	id := f.fragmentID(msg)
	frags := splitMessage(msg, id, per, count)
	s.log.Debug("ike: splitting IKE message into fragments", "bytes", len(msg), "fragments", len(frags), "fragment_id", id)
	var first error
	for _, b := range frags {
		if err := s.cfg.Send(b, natt); err != nil && first == nil {
			first = err
		}
	}
	return first
}
