package vpn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// A server that answers wrong credentials by ending the link (LCP
// Terminate-Request during the authentication phase, as SoftEther does when
// RADIUS rejects a password or a one-time code) is an authentication
// failure: not retried (a one-time code or a locked account would only get
// worse), with the credentials hint. Before, it was a lost link.
func TestTerminateDuringAuthIsAuthFailure(t *testing.T) {
	lns := newFakeLNS(t)
	lns.mu.Lock()
	lns.terminateOnBadAuth = true
	lns.mu.Unlock()
	cfg := testConfig(t, lns)
	cfg.Password = secret.FromString("wrong")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := dial(ctx, cfg, lns.addr, nil)
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonAuth || !errors.Is(err, ppp.ErrPeerTerminated) {
		t.Fatalf("dial: %v (reason %v), want an authentication failure wrapping the Terminate-Request", err, ReasonOf(err))
	}
	if !strings.Contains(e.Error(), "during authentication") || !strings.Contains(e.Hint, "password") {
		t.Errorf("error %q, hint %q", e.Error(), e.Hint)
	}
	if retryable(err) {
		t.Error("an authentication failure is retried")
	}
}
