package ike

// The Hash payload, RFC 2408 3.11: the body is the hash (HASH_I, HASH_R,
// HASH(1..3), RFC 2409 5 and 5.5), whose length is that of the negotiated
// prf output.

// Hash is the HASH payload. Data aliases the input when decoded.
type Hash struct {
	Data []byte
}

// Type returns PayloadHash.
func (p *Hash) Type() PayloadType { return PayloadHash }

// AppendBody appends the hash data.
func (p *Hash) AppendBody(b []byte) []byte { return append(b, p.Data...) }

func parseHash(b []byte) (*Hash, error) {
	if len(b) == 0 {
		return nil, malformed(PayloadHash, "empty hash data")
	}
	return &Hash{Data: b}, nil
}
