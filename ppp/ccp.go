package ppp

// The Compression Control Protocol (RFC 1962) as far as MPPE needs it: the
// MPPE option (RFC 3078 section 2), the policy that decides whether we run
// it, and Reset-Request/Reset-Ack (RFC 1962 section 2.1, RFC 3078 section
// 8). We compress nothing: every other CCP option is rejected.

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MPPEPolicy says whether the link encrypts with MPPE.
type MPPEPolicy uint8

const (
	// MPPEAllow (the default): never ask for MPPE, but accept it when the
	// server asks (some servers insist on it even inside IPsec).
	MPPEAllow MPPEPolicy = iota
	// MPPEOff: never run CCP; the server's CCP is protocol-rejected.
	MPPEOff
	// MPPERequire: ask for MPPE-128; the link fails unless MPPE comes up.
	// No IP packet flows unencrypted.
	MPPERequire
)

func (p MPPEPolicy) String() string {
	switch p {
	case MPPEAllow:
		return "allow"
	case MPPEOff:
		return "off"
	case MPPERequire:
		return "require"
	}
	return fmt.Sprintf("mppe-policy-%d", uint8(p))
}

// ParseMPPEPolicy parses "off", "allow" or "require"; blank is allow.
func ParseMPPEPolicy(s string) (MPPEPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "allow":
		return MPPEAllow, nil
	case "off", "no", "none":
		return MPPEOff, nil
	case "require", "required":
		return MPPERequire, nil
	}
	return 0, fmt.Errorf("ppp: unknown mppe setting %q (want off, allow or require)", s)
}

// The CCP codes beyond RFC 1661's (RFC 1962 section 2.1).
const (
	CodeResetRequest Code = 14
	CodeResetAck     Code = 15
)

// ccpMPPE is the MPPE/MPPC option type (RFC 3078 section 2).
const ccpMPPE = 18

// The Supported Bits of the MPPE option (RFC 3078 section 2), as a 32-bit
// big-endian value.
const (
	mppeBitH = 0x01000000 // stateless mode
	mppeBitM = 0x00000080 // 56-bit keys
	mppeBitS = 0x00000040 // 128-bit keys
	mppeBitL = 0x00000020 // 40-bit keys
	mppeBitD = 0x00000010 // obsolete
	mppeBitC = 0x00000001 // MPPC compression
)

// mppeChoose picks from the bits the server offered the one setting we
// accept: 128-bit keys, 56 or 40 only when the server offers no 128
// ("only when asked"), stateless if offered (it survives loss without a
// Reset-Request). It returns 0 if nothing is usable.
func mppeChoose(bits uint32) uint32 {
	var strength uint32
	switch {
	case bits&mppeBitS != 0:
		strength = mppeBitS
	case bits&mppeBitM != 0:
		strength = mppeBitM
	case bits&mppeBitL != 0:
		strength = mppeBitL
	default:
		return 0
	}
	return strength | bits&mppeBitH
}

// mppeSetting turns chosen bits into a strength and mode.
func mppeSetting(bits uint32) (MPPEStrength, bool) {
	s := MPPE128
	switch {
	case bits&mppeBitS != 0:
	case bits&mppeBitM != 0:
		s = MPPE56
	case bits&mppeBitL != 0:
		s = MPPE40
	}
	return s, bits&mppeBitH != 0
}

// ParseMPPEOption decodes the Supported Bits of an MPPE option's data.
func ParseMPPEOption(data []byte) (uint32, error) {
	if len(data) != 4 {
		return 0, fmt.Errorf("%w: ccp: mppe option of %d bytes, want 4", ErrMalformed, len(data))
	}
	return binary.BigEndian.Uint32(data), nil
}

func mppeOption(bits uint32) Option {
	return Option{Type: ccpMPPE, Data: binary.BigEndian.AppendUint32(nil, bits)}
}

// ccpLayer negotiates MPPE only.
type ccpLayer struct {
	l *Link

	want     uint32 // the MPPE bits of our request
	sendMPPE bool   // our request carries the MPPE option
	ownAcked uint32 // our MPPE bits the server acked (0: none)
	peerBits uint32 // the MPPE bits of the server's request we acked (0: none)
}

func newCCPLayer(l *Link) *ccpLayer { return &ccpLayer{l: l} }

func (h *ccpLayer) appendRequest(b []byte) []byte {
	if h.sendMPPE {
		b = mppeOption(h.want).Append(b)
	}
	return b
}

func (h *ccpLayer) checkRequest(opts []byte, rejectNaks bool, reply []byte) (Code, []byte, error) {
	h.peerBits = 0
	var rej, nak []byte
	var acked uint32
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		bits, err := ParseMPPEOption(o.Data)
		if o.Type != ccpMPPE || err != nil || !h.l.mppeKeys() {
			rej = o.Append(rej) // compression we do not do, or no keys
			continue
		}
		switch c := mppeChoose(bits); {
		case c == 0:
			rej = o.Append(rej)
		case c == bits:
			acked = bits
		case rejectNaks:
			rej = o.Append(rej)
		default:
			nak = mppeOption(c).Append(nak)
		}
	}
	switch {
	case len(rej) > 0:
		return CodeConfigureReject, append(reply, rej...), nil
	case len(nak) > 0:
		return CodeConfigureNak, append(reply, nak...), nil
	}
	h.peerBits = acked
	return CodeConfigureAck, nil, nil
}

func (h *ccpLayer) gotAck(opts []byte) {
	h.ownAcked = 0
	if h.sendMPPE {
		h.ownAcked = h.want
	}
}

func (h *ccpLayer) gotNak(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type != ccpMPPE {
			continue
		}
		bits, err := ParseMPPEOption(o.Data)
		if err != nil {
			return err
		}
		if c := mppeChoose(bits); c != 0 {
			h.want, h.sendMPPE = c, true
		}
	}
	return nil
}

func (h *ccpLayer) gotReject(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type == ccpMPPE {
			h.sendMPPE = false
			if h.l.cfg.MPPE == MPPERequire {
				h.l.fail(mppeRequiredError("the server rejected the MPPE option"))
			}
		}
	}
	return nil
}

// prescan looks at the server's first Configure-Request before CCP starts:
// if it asks for MPPE we can do, our first request asks for the same, so
// that both directions are encrypted.
func (h *ccpLayer) prescan(opts []byte) bool {
	if checkOptions(opts) != nil {
		return false
	}
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if bits, err := ParseMPPEOption(o.Data); o.Type == ccpMPPE && err == nil {
			if c := mppeChoose(bits); c != 0 {
				h.want, h.sendMPPE = c, true
				return true
			}
		}
	}
	return false
}

// negotiated is the MPPE setting CCP opened with, 0 if none.
func (h *ccpLayer) negotiated() uint32 {
	if h.peerBits != 0 {
		return h.peerBits
	}
	return h.ownAcked
}

func (h *ccpLayer) up()                    { h.l.ccpUp() }
func (h *ccpLayer) down()                  { h.l.ccpDown() }
func (h *ccpLayer) started()               {}
func (h *ccpLayer) finished(reason string) { h.l.ccpFinished(reason) }

// mppeRequiredError is the failure of a link with MPPERequire.
func mppeRequiredError(why string) error {
	return &NegotiationError{Protocol: ProtoCCP,
		Reason: "mppe is required but " + why + " (set mppe = allow or off if the server does not encrypt)"}
}
