package ike

// The Nonce payload, RFC 2408 3.13. RFC 2409 5 requires 8 to 256 bytes; the
// codec only requires a non-empty nonce and leaves that policy to the
// exchange.

// Nonce is the Nonce payload; Data is Ni_b / Nr_b and aliases the input when
// decoded.
type Nonce struct {
	Data []byte
}

// Type returns PayloadNonce.
func (p *Nonce) Type() PayloadType { return PayloadNonce }

// AppendBody appends the nonce data.
func (p *Nonce) AppendBody(b []byte) []byte { return append(b, p.Data...) }

func parseNonce(b []byte) (*Nonce, error) {
	if len(b) == 0 {
		return nil, malformed(PayloadNonce, "empty nonce")
	}
	return &Nonce{Data: b}, nil
}
