package vpn

import (
	"errors"
	"fmt"
)

// Reason classifies why a connection failed; the command line maps each
// reason to its own exit code.
type Reason int

const (
	ReasonNone        Reason = iota // clean disconnect
	ReasonInternal                  // a bug or an unexpected system error
	ReasonConfig                    // bad or missing settings
	ReasonUnreachable               // the server never answered
	ReasonRefused                   // the server refused the tunnel or session
	ReasonAuth                      // PPP authentication failed
	ReasonNegotiation               // LCP/IPCP could not agree
	ReasonHost                      // the host could not be configured (TUN, routes)
	ReasonLinkLost                  // the connection was up and then failed
)

var reasonNames = [...]string{"none", "internal", "config", "unreachable", "refused", "auth", "negotiation", "host", "link-lost"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error is a connection failure: which phase failed, how it is classified,
// what to check, and the protocol error underneath.
type Error struct {
	Phase  string // "config", "socket", "l2tp tunnel", "l2tp session", "ppp", "tun", "link"
	Reason Reason
	Hint   string // what the user can check; may be empty
	Err    error
}

func (e *Error) Error() string {
	s := e.Phase + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the classification of an error returned by this package.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInternal
}

func configError(key, problem string) error {
	return &Error{Phase: "config", Reason: ReasonConfig, Err: fmt.Errorf("%s %s", key, problem)}
}
