package ppp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// A frame queued before Sync has been handled when Sync returns: a peer's
// Terminate-Request queued first is visible through Err afterwards.
func TestSyncOrdersInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLink(Config{User: "u", Password: secret.FromString("p")}, func([]byte) error { return nil })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		if err := l.Sync(ctx); err != nil {
			t.Fatalf("Sync on an idle link: %v", err)
		}
		if err := l.Err(); err != nil {
			t.Fatalf("Err before any failure: %v", err)
		}
		// LCP Terminate-Request, id 7, no data.
		if !l.Input(ProtoLCP, []byte{5, 7, 0, 4}) {
			t.Fatal("Input refused")
		}
		if err := l.Sync(ctx); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if err := l.Err(); !errors.Is(err, ErrPeerTerminated) {
			t.Fatalf("Err after the queued Terminate-Request = %v, want ErrPeerTerminated", err)
		}
		if err := <-done; !errors.Is(err, ErrPeerTerminated) {
			t.Fatalf("Run = %v", err)
		}
		// After Run ended Sync returns at once.
		if err := l.Sync(ctx); err != nil {
			t.Fatalf("Sync after Run: %v", err)
		}
	})
}
