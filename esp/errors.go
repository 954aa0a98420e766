package esp

import (
	"errors"
	"fmt"
)

// Sentinel errors. Seal and Open return these values unwrapped, so that the
// data path never allocates; compare with errors.Is.
var (
	// ErrAuth means the integrity check value did not verify (RFC 4303 section 3.4.4).
	ErrAuth = errors.New("esp: integrity check failed")
	// ErrReplay means the sequence number is zero, a duplicate, or older than
	// the anti-replay window (RFC 4303 section 3.4.3).
	ErrReplay = errors.New("esp: replayed or too old sequence number")
	// ErrPadding means the decrypted padding is not 1, 2, 3, ... or the pad
	// length exceeds the payload (RFC 4303 section 2.4).
	ErrPadding = errors.New("esp: invalid padding")
	// ErrMalformed means the packet is too short or not a whole number of
	// cipher blocks.
	ErrMalformed = errors.New("esp: malformed packet")
	// ErrWrongSPI means the packet's SPI is not the SA's.
	ErrWrongSPI = errors.New("esp: spi does not match the sa")
	// ErrSeqExhausted means the 32-bit sequence number space is used up; the
	// SA must be replaced (RFC 4303 section 3.3.3).
	ErrSeqExhausted = errors.New("esp: sequence number exhausted, rekey needed")
	// ErrBufferSpace means the buffer given to Seal lacks headroom or tailroom.
	ErrBufferSpace = errors.New("esp: not enough headroom or tailroom in buffer")
	// ErrTransform means a transform is unknown or an unsupported combination.
	ErrTransform = errors.New("esp: unsupported transform")
	// ErrKeyLength means the keying material has the wrong length for the transform.
	ErrKeyLength = errors.New("esp: wrong keying material length")
	// ErrUDP means an inner UDP header is invalid.
	ErrUDP = errors.New("esp: invalid udp header")
	// ErrIPv4 means an inner IPv4 header cannot be written as asked.
	ErrIPv4 = errors.New("esp: invalid inner ipv4 header")
	// ErrIPv6 means an inner IPv6 header cannot be written as asked.
	ErrIPv6 = errors.New("esp: invalid inner ipv6 header")
)

// KeyLengthError reports keying material of the wrong length for a transform.
// It carries lengths only, never key bytes.
type KeyLengthError struct {
	Transform Transform
	Got       int   // length of the keying material given
	Want      []int // acceptable lengths
}

func (e *KeyLengthError) Error() string {
	return fmt.Sprintf("esp: %v needs %v bytes of keying material (encryption key then integrity key), got %d",
		e.Transform, e.Want, e.Got)
}

// Is reports whether target is ErrKeyLength.
func (e *KeyLengthError) Is(target error) bool { return target == ErrKeyLength }

// TransformError reports an unsupported transform combination.
type TransformError struct {
	Transform Transform
	Reason    string
}

func (e *TransformError) Error() string {
	return fmt.Sprintf("esp: unsupported transform %v: %s", e.Transform, e.Reason)
}

// Unwrap returns ErrTransform.
func (e *TransformError) Unwrap() error { return ErrTransform }
