package ppp

import (
	"errors"
	"fmt"
)

// ErrClientTerminated: the client sent an LCP Terminate-Request (see
// ClientTerminateError).
var ErrClientTerminated = errors.New("ppp: the client terminated the link (LCP Terminate-Request)")

// ServerAuthError reports that a client failed to authenticate. It never
// holds a password or hash, only the name the client gave.
type ServerAuthError struct {
	Method AuthMethod
	User   string // as the client sent it, non-printable bytes replaced
	Reason string // e.g. "wrong password", "unknown user"
}

func (e *ServerAuthError) Error() string {
	return fmt.Sprintf("ppp: authentication of %q with %s failed: %s", e.User, e.Method.displayName(), e.Reason)
}

// Unwrap returns ErrAuthFailed.
func (e *ServerAuthError) Unwrap() error { return ErrAuthFailed }

// ClientTerminateError reports that the client sent an LCP
// Terminate-Request.
type ClientTerminateError struct {
	Reason string // the request's data if it was printable text, else ""
}

func (e *ClientTerminateError) Error() string {
	return terminateText(ErrClientTerminated, e.Reason)
}

// Unwrap returns ErrClientTerminated.
func (e *ClientTerminateError) Unwrap() error { return ErrClientTerminated }
