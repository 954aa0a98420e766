package dhcp

import "errors"

// Sentinel errors of the decoders. Errors wrap one of these.
var (
	// ErrMalformed: the packet or an option does not decode.
	ErrMalformed = errors.New("dhcp: malformed packet")
	// ErrNotReply: a well-formed packet that is not the answer to our
	// request (another port, another transaction, not a DHCP reply).
	ErrNotReply = errors.New("dhcp: not a reply to our request")
	// ErrNAK: the server answered with a DHCPNAK.
	ErrNAK = errors.New("dhcp: the server answered DHCPNAK")
)
