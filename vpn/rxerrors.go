package vpn

import (
	"fmt"
	"log/slog"
	"time"
)

// Receive errors other than the socket's close are rare (ENOMEM, a pending
// ICMP error on the socket) and usually pass. The receive loop backs off
// instead of spinning on them, and gives the connection up when the socket
// has failed without a single good read for rxFailAfter.
const (
	rxBackoffMin = time.Millisecond
	rxBackoffMax = time.Second
	rxFailAfter  = 30 * time.Second
)

// rxErrors tracks a run of consecutive receive errors.
type rxErrors struct {
	since   time.Time // first error of the run; zero after a good read
	backoff time.Duration
}

// ok ends a run of errors.
func (r *rxErrors) ok() {
	r.since, r.backoff = time.Time{}, 0
}

// failed records an error at now and returns the connection's cause when
// the run has lasted too long; otherwise it sets the next backoff.
func (r *rxErrors) failed(err error, now time.Time, log *slog.Logger) error {
	if r.since.IsZero() {
		r.since, r.backoff = now, rxBackoffMin
		log.Warn("udp receive failed; retrying with backoff", "err", err)
		return nil
	}
	if now.Sub(r.since) >= rxFailAfter {
		return &Error{Phase: "network", Reason: ReasonLinkLost,
			Err:  fmt.Errorf("udp receive has failed for %v: %w", now.Sub(r.since).Round(time.Second), err),
			Hint: "the socket towards the server keeps failing; check the network"}
	}
	r.backoff = min(2*r.backoff, rxBackoffMax)
	return nil
}

// sleep waits d and reports whether the socket is still open. (A close
// request does not cut it short: the goodbyes of a clean close still need
// the receive loop.)
func (c *Conn) sleep(d time.Duration) bool {
	time.Sleep(d)
	return !c.closing.Load()
}
