package vpn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// Reason classifies why a connection failed; the command line maps each
// reason to its own exit code.
type Reason int

const (
	ReasonNone              Reason = iota // clean disconnect
	ReasonInternal                        // a bug or an unexpected system error
	ReasonConfig                          // bad or missing settings
	ReasonUnreachable                     // the server never answered
	ReasonRefused                         // the server refused the tunnel or session
	ReasonAuth                            // PPP authentication failed
	ReasonNegotiation                     // LCP/IPCP could not agree
	ReasonHost                            // the host could not be configured (TUN, routes)
	ReasonLinkLost                        // the connection was up and then failed
	ReasonIKENoResponse                   // IKE: the server never answered
	ReasonIKENoProposal                   // IKE: the server accepted none of our proposals
	ReasonIKEAuth                         // IKE: pre-shared key mismatch, or the server refused our certificate
	ReasonIPsecUnavailable                // delegated IPsec: charon unreachable or unable (no IKEv1, no kernel ESP)
	ReasonInterrupted                     // the caller cancelled the set-up (Ctrl-C, disconnect) before it was up
	ReasonIKEServerIdentity               // IKE: the server's certificate or identity did not verify
	ReasonReadyCheck                      // proxy mode: a ready check failed through the new tunnel
)

var reasonNames = [...]string{"none", "internal", "config", "unreachable", "refused", "auth", "negotiation", "host", "link-lost",
	"ike-unreachable", "ike-no-proposal", "ike-auth", "ipsec-unavailable", "interrupted", "ike-server-identity", "ready-check"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error is a connection failure: which phase failed, how it is classified,
// what to check, and the protocol error underneath.
type Error struct {
	Phase  string // "config", "socket", "ike", "l2tp tunnel", "l2tp session", "ppp", "tun", "link"
	Reason Reason
	Hint   string // what the user can check; may be empty
	Err    error
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if !strings.HasPrefix(s, e.Phase+": ") {
		s = e.Phase + ": " + s
	}
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

// ErrInterrupted is under every ReasonInterrupted error.
var ErrInterrupted = errors.New("interrupted before the connection was up")

// interrupted classifies the failure of a set-up whose context the caller
// cancelled: whatever the phase then saw (a context error, a loop that
// ended), the cause is the interruption. A deadline is not one: it stays
// what the phase made of it (a server that did not answer in time).
func interrupted(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	phase := "connect"
	var e *Error
	if errors.As(err, &e) && e.Phase != "" {
		phase = e.Phase
	}
	return &Error{Phase: phase, Reason: ReasonInterrupted, Err: ErrInterrupted}
}

func configError(key, problem string) error {
	return &Error{Phase: "config", Reason: ReasonConfig, Err: fmt.Errorf("%s %s", key, problem)}
}

func linkLost(layer string, err error) error {
	if err == nil {
		err = errors.New("closed by the peer")
	}
	if strings.HasPrefix(err.Error(), layer+": ") { // "ppp: ppp: ..." otherwise
		return &Error{Phase: "link", Reason: ReasonLinkLost, Err: err}
	}
	return &Error{Phase: "link", Reason: ReasonLinkLost, Err: fmt.Errorf("%s: %w", layer, err)}
}

func tunnelError(err error, server netip.AddrPort) error {
	var re *l2tp.ResultError
	switch {
	case errors.Is(err, l2tp.ErrTimeout):
		return &Error{Phase: "l2tp tunnel", Reason: ReasonUnreachable, Err: err,
			Hint: fmt.Sprintf("no answer from %s: check the server address, that it serves plain L2TP, and that UDP %d is not filtered", server, server.Port())}
	case errors.Is(err, l2tp.ErrTunnelAuth):
		return &Error{Phase: "l2tp tunnel", Reason: ReasonRefused, Err: err, Hint: "check the L2TP tunnel secret (--l2tp-secret-env)"}
	case errors.As(err, &re):
		return &Error{Phase: "l2tp tunnel", Reason: ReasonRefused, Err: err, Hint: "the server refused the tunnel"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Phase: "l2tp tunnel", Reason: ReasonUnreachable, Err: err}
	}
	return &Error{Phase: "l2tp tunnel", Reason: ReasonRefused, Err: err}
}

// integrityError adds the IPsec integrity hint to a set-up failure after
// IPsec was up (the L2TP tunnel got no answer through ESP).
func (c *Conn) integrityError(err error) error {
	var e *Error
	if c.ipsec == nil || !errors.As(err, &e) {
		return err
	}
	if h := c.ipsec.integrityHint(c.cfg.SHA2Truncbug); h != "" {
		if e.Hint != "" {
			h = e.Hint + "; also, " + h
		}
		e.Hint = h
	}
	return err
}

func sessionError(err error) error {
	if errors.Is(err, l2tp.ErrTimeout) {
		return &Error{Phase: "l2tp session", Reason: ReasonLinkLost, Err: err, Hint: "the server stopped answering"}
	}
	return &Error{Phase: "l2tp session", Reason: ReasonRefused, Err: err, Hint: "the server refused the session"}
}

func pppError(err error) error {
	var ae *ppp.AuthError
	switch {
	case errors.Is(err, ppp.ErrAuthTimeout):
		return &Error{Phase: "ppp", Reason: ReasonAuth, Err: err, Hint: "approve the second factor sooner or raise ppp-auth-timeout"}
	case errors.As(err, &ae), errors.Is(err, ppp.ErrNoAuthMethod), errors.Is(err, ppp.ErrServerAuthInvalid):
		return &Error{Phase: "ppp", Reason: ReasonAuth, Err: err, Hint: "check the user name and password, and the allowed methods (--auth)"}
	case errors.Is(err, ppp.ErrServerUnverified):
		return &Error{Phase: "ppp", Reason: ReasonNegotiation, Err: err, Hint: "its Success was probably lost on the way: connect again; over IPsec, which authenticates the server, this does not stop the connection"}
	case errors.Is(err, ppp.ErrNegotiation):
		return &Error{Phase: "ppp", Reason: ReasonNegotiation, Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Phase: "ppp", Reason: ReasonLinkLost, Err: err}
	}
	return &Error{Phase: "ppp", Reason: ReasonLinkLost, Err: err}
}
