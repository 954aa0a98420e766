package l2tp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Typed errors below unwrap to one of these, so callers can
// test with errors.Is.
var (
	// ErrMalformed is the class of every decoding failure (see MalformedError).
	ErrMalformed = errors.New("l2tp: malformed message")
	// ErrVersion is returned by ParseHeader for a header whose Ver field is not 2
	// (1 is L2F, 3 is L2TPv3); RFC 2661 3.1 says such packets MUST be discarded.
	ErrVersion = errors.New("l2tp: not an L2TP version 2 message")
	// ErrTimeout means the retransmission limit was hit (RFC 2661 5.8): the server
	// stopped answering. It is also how a dead tunnel shows up through HELLO.
	ErrTimeout = errors.New("l2tp: no answer from the server")
	// ErrTunnelAuth means tunnel authentication (RFC 2661 5.1.1) failed.
	ErrTunnelAuth = errors.New("l2tp: tunnel authentication failed")
	// ErrUnknownMandatory is the class of UnknownMandatoryError.
	ErrUnknownMandatory = errors.New("l2tp: unknown mandatory AVP")
	// ErrClosed is returned by calls on a tunnel that was closed locally.
	ErrClosed = errors.New("l2tp: tunnel closed")
	// ErrNotEstablished is returned by OpenSession before Establish succeeded.
	ErrNotEstablished = errors.New("l2tp: tunnel not established")
	// ErrState is returned for a call that makes no sense in the current state
	// (Establish twice, a second session, Run twice).
	ErrState = errors.New("l2tp: operation not possible in this state")
)

// MalformedError says what was wrong with a message that could not be decoded.
// It unwraps to ErrMalformed.
type MalformedError struct {
	Reason string
}

func (e *MalformedError) Error() string { return "l2tp: malformed message: " + e.Reason }

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// Preallocated header errors, so ParseHeader does not allocate even on failure.
var (
	errShortHeader   = &MalformedError{Reason: "shorter than its header"}
	errControlFlags  = &MalformedError{Reason: "control message without L and S bits or with the O bit"}
	errLengthShort   = &MalformedError{Reason: "length field smaller than the header"}
	errLengthOverrun = &MalformedError{Reason: "length field larger than the datagram"}
	errOffsetOverrun = &MalformedError{Reason: "offset pad runs past the end of the message"}
)

// TimeoutError reports the message that went unacknowledged. It unwraps to
// ErrTimeout.
type TimeoutError struct {
	Message     MessageType // the oldest unacknowledged message
	Retransmits int         // how often it was retransmitted
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("l2tp: no answer from the server after %d retransmissions of %s", e.Retransmits, e.Message)
}

// Unwrap returns ErrTimeout.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// UnknownMandatoryError reports an AVP with the M bit set that we do not know
// (RFC 2661 4.1, 4.2), or an unknown message type whose Message Type AVP has the
// M bit set (4.4.1; then Type is AVPMessageType and Message the unknown value).
// The session or tunnel it belongs to is torn down. It unwraps to
// ErrUnknownMandatory.
type UnknownMandatoryError struct {
	Message MessageType
	Vendor  uint16
	Type    AVPType
}

func (e *UnknownMandatoryError) Error() string {
	if e.Vendor == 0 && e.Type == AVPMessageType {
		return fmt.Sprintf("l2tp: server sent unknown mandatory message type %d", uint16(e.Message))
	}
	return fmt.Sprintf("l2tp: server sent %s with unknown mandatory AVP %d (vendor %d)", e.Message, uint16(e.Type), e.Vendor)
}

// Unwrap returns ErrUnknownMandatory.
func (e *UnknownMandatoryError) Unwrap() error { return ErrUnknownMandatory }

// ResultError is the server's Result Code AVP (RFC 2661 4.4.2) from a StopCCN
// (the tunnel is gone) or a CDN (the session is gone).
type ResultError struct {
	Message   MessageType // StopCCN or CDN
	Result    uint16
	ErrorCode uint16
	Text      string // the server's Error Message, if any

	fromLAC bool // our LNS got it from a LAC (lns_tunnel.go): "client" instead of "server"
}

func (e *ResultError) Error() string {
	var b strings.Builder
	peer := "server"
	if e.fromLAC {
		peer = "client"
	}
	switch e.Message {
	case StopCCN:
		b.WriteString("l2tp: " + peer + " closed the tunnel (StopCCN): ")
	case CDN:
		b.WriteString("l2tp: " + peer + " disconnected the session (CDN): ")
	default:
		b.WriteString("l2tp: " + peer + " sent result code in " + e.Message.String() + ": ")
	}
	b.WriteString(resultMeaning(e.Message, e.Result))
	b.WriteString(" (result " + strconv.Itoa(int(e.Result)) + ")")
	switch {
	case e.Message == StopCCN && e.Result == 5:
		v := e.ErrorCode
		b.WriteString(fmt.Sprintf(", %s supports version %d.%d", peer, v>>8, v&0xff))
	case e.ErrorCode != 0:
		b.WriteString(", " + errorCodeMeaning(e.ErrorCode) + " (error " + strconv.Itoa(int(e.ErrorCode)) + ")")
	}
	if e.Text != "" {
		b.WriteString(": " + peer + " says " + strconv.Quote(e.Text))
	}
	return b.String()
}

// Is makes a StopCCN with result 4 (not authorized) match ErrTunnelAuth.
func (e *ResultError) Is(target error) bool {
	return target == ErrTunnelAuth && e.Message == StopCCN && e.Result == 4
}

// resultMeaning renders a Result Code value, RFC 2661 4.4.2.
func resultMeaning(m MessageType, r uint16) string {
	if r == 0 {
		return "reserved result code"
	}
	if m == CDN {
		switch r {
		case 1:
			return "lost carrier"
		case 2:
			return "general error"
		case 3:
			return "administrative"
		case 4:
			return "no facilities available (temporary)"
		case 5:
			return "no facilities available (permanent)"
		case 6:
			return "invalid destination"
		case 7:
			return "no carrier"
		case 8:
			return "busy"
		case 9:
			return "no dial tone"
		case 10:
			return "not established in time"
		case 11:
			return "no framing detected"
		}
		return "unknown result"
	}
	switch r {
	case 1:
		return "general request to clear control connection"
	case 2:
		return "general error"
	case 3:
		return "control channel already exists"
	case 4:
		return "not authorized"
	case 5:
		return "protocol version not supported"
	case 6:
		return "shutting down"
	case 7:
		return "finite state machine error"
	}
	return "unknown result"
}

// errorCodeMeaning renders a General Error Code, RFC 2661 4.4.2.
func errorCodeMeaning(c uint16) string {
	switch c {
	case 0:
		return "no general error"
	case 1:
		return "no control connection exists yet"
	case 2:
		return "length is wrong"
	case 3:
		return "field value out of range"
	case 4:
		return "insufficient resources"
	case 5:
		return "invalid session id"
	case 6:
		return "vendor-specific error"
	case 7:
		return "try another server"
	case 8:
		return "unknown mandatory AVP"
	}
	return "unknown error"
}
