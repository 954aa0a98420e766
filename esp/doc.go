// Package esp implements the data plane of IPsec in user space: Encapsulating
// Security Payload (RFC 4303) security associations with in-place Seal/Open,
// an anti-replay window (RFC 4303 section 3.4.3, RFC 6479 bitmap), and the
// UDP encapsulation framing of RFC 3948 used on port 4500.
//
// An SA carries traffic in one direction. Packets live in caller-owned buffers
// with headroom and tailroom (see SA.Headroom and SA.Tailroom) so that Seal
// writes the ESP header, IV, padding, trailer and ICV around the payload
// without copying it, and Open decrypts in place and returns a slice that
// aliases the packet. Neither allocates.
//
// ESP packet layout (RFC 4303 section 2):
//
//	SPI (4) | Sequence Number (4) | IV | payload | padding | pad length (1) | next header (1) | ICV
//
// Extended sequence numbers are not supported: the sequence number is 32 bits
// and Seal returns ErrSeqExhausted instead of wrapping, so the key exchange
// must rekey before that.
package esp
