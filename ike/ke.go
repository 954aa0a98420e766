package ike

// The Key Exchange payload, RFC 2408 3.7: the body is the Diffie-Hellman
// public value (g^xi / g^xr), left-padded to the group's length
// (RFC 2409 5).

// KeyExchange is the KE payload. Data aliases the input when decoded.
type KeyExchange struct {
	Data []byte
}

// Type returns PayloadKE.
func (p *KeyExchange) Type() PayloadType { return PayloadKE }

// AppendBody appends the key exchange data.
func (p *KeyExchange) AppendBody(b []byte) []byte { return append(b, p.Data...) }

func parseKE(b []byte) (*KeyExchange, error) {
	if len(b) == 0 {
		return nil, malformed(PayloadKE, "empty key exchange data")
	}
	return &KeyExchange{Data: b}, nil
}
