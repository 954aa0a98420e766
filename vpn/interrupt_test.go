package vpn

// An interrupted first connect is reason interrupted.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Cancelling Connect's context while the server is silent ends it at once
// with reason interrupted, not unreachable with "context canceled".
func TestConnectInterrupted(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	cfg.RetransmitTimeout, cfg.MaxRetransmits = time.Second, 4 // 23 s into silence
	lns.setSilent(true)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := Connect(ctx, cfg)
		res <- err
	}()
	lns.awaitCount("SCCRQ", 1)
	cancel()
	var err error
	select {
	case err = <-res:
	case <-time.After(2 * time.Second):
		t.Fatal("Connect did not return within 2 s of the cancel")
	}
	if ReasonOf(err) != ReasonInterrupted || !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Connect: %v (reason %v), want reason interrupted", err, ReasonOf(err))
	}
	if strings.Contains(err.Error(), "context canceled") {
		t.Errorf("error %q speaks of the context", err)
	}
	if down := ev.await(EventDown, 1); down.Reason != "interrupted" {
		t.Errorf("down event: %+v, want reason interrupted", down)
	}
	if ReasonInterrupted.String() != "interrupted" {
		t.Errorf("ReasonInterrupted.String() = %q", ReasonInterrupted.String())
	}
	checkGoroutines(t, base)
}

// A deadline is not an interruption: a server that did not answer in time
// stays unreachable.
func TestConnectDeadlineNotInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	e := &Error{Phase: "l2tp tunnel", Reason: ReasonUnreachable, Err: ctx.Err()}
	if got := interrupted(ctx, e); got != error(e) {
		t.Errorf("interrupted(deadline) = %v, want the error unchanged", got)
	}
}
