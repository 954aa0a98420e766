package ppp

// IPV6CP options (RFC 5072 section 4).

// IPV6CP Configuration Option types.
const (
	ipv6cpInterfaceID = 1 // RFC 5072 4.1
	ipv6cpCompression = 2 // RFC 5072 4.2
)

// ipv6cpLayer negotiates distinct non-zero interface identifiers (RFC
// 5072 4.1), for both roles: ours is the configured one or random, the
// peer's is the one we want if configured (another value is Nak'd with
// it), else any non-zero one different from ours (zero or ours is Nak'd
// with a random one). The client configures neither.
type ipv6cpLayer struct {
	c     *linkCore
	fixed [8]byte // our configured identifier, zero = random
	want  [8]byte // the peer's configured identifier, zero = any valid one
	// readd: an identifier the peer suggests in a Nak goes back into our
	// request even after the peer rejected it (the client does this).
	readd bool

	id     [8]byte // ours, non-zero once chosen
	sendID bool

	peer     [8]byte
	havePeer bool
}

func newIPV6CPLayer(c *linkCore, fixed, want [8]byte, readd bool) *ipv6cpLayer {
	return &ipv6cpLayer{c: c, fixed: fixed, want: want, readd: readd, sendID: true}
}

// ourID returns our identifier, choosing it first if need be.
func (h *ipv6cpLayer) ourID() [8]byte {
	if h.id == ([8]byte{}) {
		h.id = h.fixed
		if h.id == ([8]byte{}) {
			h.id = h.c.randID()
		}
	}
	return h.id
}

func (h *ipv6cpLayer) appendRequest(b []byte) []byte {
	if !h.sendID {
		return b
	}
	id := h.ourID()
	return Option{Type: ipv6cpInterfaceID, Data: id[:]}.Append(b)
}

func (h *ipv6cpLayer) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	var nak []byte
	h.havePeer = false
	ours := h.ourID()
	for o := range options(opts) {
		if o.Type != ipv6cpInterfaceID || len(o.Data) != 8 {
			rej = o.Append(rej) // IPv6-Compression-Protocol and anything unknown
			continue
		}
		v := [8]byte(o.Data)
		good := v != ([8]byte{}) && v != ours
		if h.want != ([8]byte{}) && h.want != ours {
			good = v == h.want
		}
		if good {
			h.peer, h.havePeer = v, true
			continue
		}
		// RFC 5072 4.1: zero, or equal to ours, or not the one we want:
		// suggest another one.
		if rejectNaks {
			rej = o.Append(rej)
			continue
		}
		s := h.want
		if s == ([8]byte{}) || s == ours {
			s = h.c.randID()
			for s == ours {
				s = h.c.randID()
			}
		}
		nak = Option{Type: ipv6cpInterfaceID, Data: s[:]}.Append(nak)
	}
	return verdict(rej, nak)
}

func (h *ipv6cpLayer) gotAck([]byte) {}

// gotNak takes the identifier the peer suggests (RFC 5072 4.1) unless it
// is zero or the peer's own, else chooses again; a configured identifier
// is kept.
func (h *ipv6cpLayer) gotNak(opts []byte) error {
	for o := range options(opts) {
		if o.Type != ipv6cpInterfaceID || len(o.Data) != 8 || h.fixed != ([8]byte{}) {
			continue
		}
		if v := [8]byte(o.Data); v != ([8]byte{}) && !(h.havePeer && v == h.peer) {
			h.id = v
		} else {
			h.id = h.c.randID()
		}
		if h.readd {
			h.sendID = true
		}
	}
	return nil
}

func (h *ipv6cpLayer) gotReject(opts []byte) error {
	for o := range options(opts) {
		if o.Type == ipv6cpInterfaceID {
			h.sendID = false
		}
	}
	return nil
}

func (h *ipv6cpLayer) up() {
	h.ourID()
	h.c.role.ipv6cpUp()
}
func (h *ipv6cpLayer) down()                  { h.c.role.ipv6cpDown() }
func (h *ipv6cpLayer) started()               {}
func (h *ipv6cpLayer) finished(reason string) { h.c.ipv6cpFinished(reason) }
