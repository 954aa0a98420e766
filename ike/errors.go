package ike

import (
	"errors"
	"fmt"
)

// Sentinel errors. The typed errors below unwrap to one of these, so callers
// can test with errors.Is.
var (
	// ErrMalformed is the class of every decoding failure (see MalformedError).
	ErrMalformed = errors.New("ike: malformed message")
	// ErrVersion is returned for an ISAKMP header whose major version is not 1
	// (RFC 2408 3.1; IKEv2 uses 2).
	ErrVersion = errors.New("ike: not an ISAKMP version 1 message")
	// ErrUnsupported is returned for well-formed input this codec does not
	// handle (an SA with a DOI other than IPsec, or a situation with the
	// secrecy or integrity bit, RFC 2407 4.2).
	ErrUnsupported = errors.New("ike: unsupported")
	// ErrNotify is the class of NotifyError.
	ErrNotify = errors.New("ike: peer sent an error notification")
)

// MalformedError says what was wrong with a message that could not be decoded.
// Payload is the payload being decoded (PayloadNone for the ISAKMP header or
// the chain itself). It unwraps to ErrMalformed.
type MalformedError struct {
	Payload PayloadType
	Reason  string
}

func (e *MalformedError) Error() string {
	if e.Payload == PayloadNone {
		return "ike: malformed message: " + e.Reason
	}
	return "ike: malformed " + e.Payload.String() + " payload: " + e.Reason
}

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

func malformed(p PayloadType, format string, args ...any) error {
	return &MalformedError{Payload: p, Reason: fmt.Sprintf(format, args...)}
}

// UnsupportedError names what ErrUnsupported was returned for.
type UnsupportedError struct {
	What string
}

func (e *UnsupportedError) Error() string { return "ike: unsupported " + e.What }

// Unwrap returns ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// NotifyError is an error notification (RFC 2408 3.14.1, types below 16384)
// received from the peer. It unwraps to ErrNotify.
type NotifyError struct {
	Type NotifyType
}

func (e *NotifyError) Error() string {
	return "ike: peer sent " + e.Type.String()
}

// Unwrap returns ErrNotify.
func (e *NotifyError) Unwrap() error { return ErrNotify }
