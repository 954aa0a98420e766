package ike

// Why an IKE session failed, in words a user can act on. Each failure has a
// kind (a sentinel below, for exit codes and errors.Is) and a message that
// says which exchange failed and what to check.

import (
	"errors"
	"fmt"
)

// Failure kinds of a Session.
var (
	// ErrNoResponse: the server did not answer (wrong address, UDP 500/4500
	// blocked, IPsec disabled on the server).
	ErrNoResponse = errors.New("ike: no response from the server")
	// ErrNoProposalChosen: the server accepted none of the offered proposals.
	ErrNoProposalChosen = errors.New("ike: no proposal chosen")
	// ErrAuthentication: the pre-shared key does not match the server's, or
	// the server's identity is not the one expected.
	ErrAuthentication = errors.New("ike: authentication failed")
	// ErrCertificate: certificate authentication failed (the server's
	// certificate, signature or identity, or ours was not accepted). It
	// wraps ErrAuthentication, so errors.Is(err, ErrAuthentication) holds
	// too.
	ErrCertificate = fmt.Errorf("ike: certificate authentication failed: %w", ErrAuthentication)
	// ErrServerIdentity: the server did not prove who it should be: its
	// certificate is untrusted, expired or names someone else, its
	// signature does not verify, or its ID is not the expected remote-id.
	// It wraps ErrAuthentication. (ErrCertificate is then about our own
	// certificate: the server did not accept it.)
	ErrServerIdentity = fmt.Errorf("ike: the server's certificate or identity did not verify: %w", ErrAuthentication)
	// ErrRejected: the server refused the exchange for another reason
	// (identities, traffic selectors, a message it could not parse).
	ErrRejected = errors.New("ike: rejected by the server")
	// ErrPeerGone: an established connection ended: the server deleted the
	// security associations or stopped answering dead peer detection.
	ErrPeerGone = errors.New("ike: connection lost")
)

// Error is a session failure: Kind is one of the sentinels above, Msg the
// whole explanation. It unwraps to Kind.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func failf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: "ike: " + fmt.Sprintf(format, args...)}
}
