package ppp

// IPV6CP options (RFC 5072 section 4).

// IPV6CP Configuration Option types.
const (
	ipv6cpInterfaceID = 1 // RFC 5072 4.1
	ipv6cpCompression = 2 // RFC 5072 4.2
)

// ipv6cpLayer negotiates distinct non-zero interface identifiers.
type ipv6cpLayer struct {
	l *Link

	id     [8]byte // ours, random non-zero
	sendID bool

	peer     [8]byte
	havePeer bool
}

func newIPV6CPLayer(l *Link) *ipv6cpLayer {
	return &ipv6cpLayer{l: l, sendID: true}
}

func (h *ipv6cpLayer) appendRequest(b []byte) []byte {
	if !h.sendID {
		return b
	}
	if h.id == ([8]byte{}) {
		h.id = h.l.randID()
	}
	return Option{Type: ipv6cpInterfaceID, Data: h.id[:]}.Append(b)
}

func (h *ipv6cpLayer) checkRequest(opts []byte, rejectNaks bool, rej []byte) (Code, []byte, error) {
	var nak []byte
	h.havePeer = false
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type != ipv6cpInterfaceID || len(o.Data) != 8 {
			rej = o.Append(rej) // IPv6-Compression-Protocol and anything unknown
			continue
		}
		v := [8]byte(o.Data)
		if v != ([8]byte{}) && v != h.id {
			h.peer, h.havePeer = v, true
			continue
		}
		// RFC 5072 4.1: zero, or equal to ours: suggest another one.
		if rejectNaks {
			rej = o.Append(rej)
			continue
		}
		s := h.l.randID()
		for s == h.id {
			s = h.l.randID()
		}
		nak = Option{Type: ipv6cpInterfaceID, Data: s[:]}.Append(nak)
	}
	switch {
	case len(rej) > 0:
		return CodeConfigureReject, rej, nil
	case len(nak) > 0:
		return CodeConfigureNak, nak, nil
	}
	return CodeConfigureAck, nil, nil
}

func (h *ipv6cpLayer) gotAck([]byte) {}

func (h *ipv6cpLayer) gotNak(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type != ipv6cpInterfaceID || len(o.Data) != 8 {
			continue
		}
		// RFC 5072 4.1: take the suggestion unless it is zero or the
		// peer's own; else choose again.
		if v := [8]byte(o.Data); v != ([8]byte{}) && !(h.havePeer && v == h.peer) {
			h.id = v
		} else {
			h.id = h.l.randID()
		}
		h.sendID = true
	}
	return nil
}

func (h *ipv6cpLayer) gotReject(opts []byte) error {
	for b := opts; len(b) > 0; {
		var o Option
		o, b, _ = NextOption(b)
		if o.Type == ipv6cpInterfaceID {
			h.sendID = false
		}
	}
	return nil
}

func (h *ipv6cpLayer) up() {
	if h.id == ([8]byte{}) {
		h.id = h.l.randID()
	}
	h.l.ipv6cpUp()
}
func (h *ipv6cpLayer) down()                  { h.l.ipv6cpDown() }
func (h *ipv6cpLayer) started()               {}
func (h *ipv6cpLayer) finished(reason string) { h.l.ipv6cpFinished(reason) }
