package ppp

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Run's typed errors unwrap to one of these, so callers can
// use errors.Is.
var (
	// ErrMalformed: a control packet could not be decoded.
	ErrMalformed = errors.New("ppp: malformed packet")
	// ErrAuthFailed: the server rejected our credentials (see AuthError).
	ErrAuthFailed = errors.New("ppp: authentication failed")
	// ErrAuthTimeout: the authentication phase did not finish in time.
	ErrAuthTimeout = errors.New("ppp: authentication timed out")
	// ErrNoAuthMethod: the server demands an authentication method that is
	// not allowed (see NoAuthMethodError).
	ErrNoAuthMethod = errors.New("ppp: no acceptable authentication method")
	// ErrEchoTimeout: LCP Echo-Requests went unanswered (see EchoTimeoutError).
	ErrEchoTimeout = errors.New("ppp: link dead: LCP echo requests unanswered")
	// ErrPeerTerminated: the peer sent an LCP Terminate-Request (see TerminateError).
	ErrPeerTerminated = errors.New("ppp: the server terminated the link (LCP Terminate-Request)")
	// ErrNegotiation: LCP or an NCP did not converge (see NegotiationError).
	ErrNegotiation = errors.New("ppp: negotiation failed")
	// ErrServerAuthInvalid: the MS-CHAPv2 authenticator response in the
	// server's Success message is wrong, so the server does not know the
	// password: it is not who it claims to be.
	ErrServerAuthInvalid = errors.New("ppp: mschapv2: the server's authenticator response is wrong: the server does not know the password (impostor?)")
	// ErrServerUnverified: the server moved on to IP configuration but its
	// MS-CHAPv2 Success, the proof that it knows the password, never
	// arrived (lost on the way), and nothing else (IPsec) authenticated it.
	ErrServerUnverified = errors.New("ppp: mschapv2: the server went on to IP configuration without its Success reaching us, so it has not proved that it knows the password")
	// ErrClosed: the link was closed before IPCP came up.
	ErrClosed = errors.New("ppp: link closed")

	errShortFrame  = errors.New("ppp: frame too short")
	errBadProtocol = errors.New("ppp: invalid protocol field")
)

// AuthError reports that the server rejected our authentication.
type AuthError struct {
	Method  AuthMethod
	Code    int    // MS-CHAPv2 E= value, 0 if none
	Message string // the server's message text, printable characters only
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("ppp: authentication failed: server rejected ")
	b.WriteString(e.Method.displayName())
	if e.Code != 0 {
		fmt.Fprintf(&b, " (E=%d, %s)", e.Code, mschapv2ErrorText(e.Code))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	return b.String()
}

// Unwrap returns ErrAuthFailed.
func (e *AuthError) Unwrap() error { return ErrAuthFailed }

// NoAuthMethodError reports that the server insists on an authentication
// method we are not allowed to use.
type NoAuthMethodError struct {
	Requested string       // what the server asked for, e.g. "EAP" or "CHAP-MD5"
	Method    AuthMethod   // the same if it is a method we implement (PAP: it is not allowed here), else 0
	Allowed   []AuthMethod // what the configuration allows
}

func (e *NoAuthMethodError) Error() string {
	return fmt.Sprintf("ppp: lcp: the server demands %s authentication, but only %s allowed",
		e.Requested, authList(e.Allowed)+plural(len(e.Allowed), " is", " are"))
}

// Unwrap returns ErrNoAuthMethod.
func (e *NoAuthMethodError) Unwrap() error { return ErrNoAuthMethod }

// AuthTimeoutError reports that the authentication phase did not end
// within Config.AuthTimeout. It unwraps to ErrAuthTimeout.
type AuthTimeoutError struct {
	Method     AuthMethod
	After      time.Duration // Config.AuthTimeout
	Challenged bool          // our request went out (CHAP: the server sent its Challenge)
}

func (e *AuthTimeoutError) Error() string {
	s := fmt.Sprintf("ppp: auth: timed out after %d s", int((e.After+time.Second/2)/time.Second))
	if !e.Challenged {
		return s + ": the server never sent its " + e.Method.displayName() + " challenge"
	}
	return s + " without the server's answer to our " + e.Method.displayName() + " request"
}

// Unwrap returns ErrAuthTimeout.
func (e *AuthTimeoutError) Unwrap() error { return ErrAuthTimeout }

// EchoTimeoutError reports a dead link: Count LCP Echo-Requests in a row
// went out and nothing at all came back from the peer (neither an
// Echo-Reply nor any other frame).
type EchoTimeoutError struct{ Count int }

func (e *EchoTimeoutError) Error() string {
	return fmt.Sprintf("ppp: link dead: %d LCP echo requests unanswered and nothing else received", e.Count)
}

// Unwrap returns ErrEchoTimeout.
func (e *EchoTimeoutError) Unwrap() error { return ErrEchoTimeout }

// TerminateError reports that the peer sent an LCP Terminate-Request.
type TerminateError struct {
	Reason string // the request's data if it was printable text, else ""
}

func (e *TerminateError) Error() string { return terminateText(ErrPeerTerminated, e.Reason) }

// Unwrap returns ErrPeerTerminated.
func (e *TerminateError) Unwrap() error { return ErrPeerTerminated }

// terminateText is the message of an error for the peer's
// Terminate-Request: sentinel's, with the peer's reason if it gave one.
func terminateText(sentinel error, reason string) string {
	if reason == "" {
		return sentinel.Error()
	}
	return fmt.Sprintf("%v: %q", sentinel, reason)
}

// NegotiationError reports that a control protocol did not converge.
type NegotiationError struct {
	Protocol Protocol // ProtoLCP, ProtoIPCP or ProtoIPV6CP
	Reason   string
}

func (e *NegotiationError) Error() string {
	return fmt.Sprintf("ppp: %s: negotiation failed: %s", strings.ToLower(e.Protocol.String()), e.Reason)
}

// Unwrap returns ErrNegotiation.
func (e *NegotiationError) Unwrap() error { return ErrNegotiation }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// printable returns b as a string if it is non-empty printable ASCII text
// (trailing NULs and spaces trimmed), else "". It is used for peer-provided
// text that ends up in errors and logs. At most 200 characters are kept.
func printable(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	return string(b)
}

// sanitize returns peer-provided text for an error or log: non-printable
// bytes become '?', trailing NULs and spaces are trimmed, at most 200
// characters are kept.
func sanitize(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
