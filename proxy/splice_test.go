package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// TestSpliceIdleTimeout runs the copy loops over net.Pipe in a synctest
// bubble: traffic one way only keeps both ways open, and silence either
// way for IdleTimeout closes them.
func TestSpliceIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Proxy{cfg: Config{IdleTimeout: time.Minute}, log: slog.New(slog.DiscardHandler)}
		client, clientProxySide := net.Pipe()
		remoteProxySide, remote := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.splice(context.Background(), clientProxySide, remoteProxySide, true)
		}()
		go func() { _, _ = io.Copy(io.Discard, remote) }() // a sink: never answers

		// Five minutes of client→remote traffic, every 30 s; the
		// remote→client direction is silent all along.
		for i := range 10 {
			time.Sleep(30 * time.Second)
			if _, err := client.Write([]byte("tick")); err != nil {
				t.Fatalf("write %d of the one-way traffic: %v", i, err)
			}
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("splice ended while traffic flowed one way")
		default:
		}
		if got := p.toVPN.Load(); got != 40 {
			t.Errorf("bytes to the VPN = %d, want 40", got)
		}

		// Silence: closed after IdleTimeout (at most 1.25 times it).
		start := time.Now()
		<-done
		if d := time.Since(start); d < time.Minute || d > 75*time.Second {
			t.Errorf("closed %v after the last traffic, want 1 min to 1 min 15 s", d)
		}
		if _, err := client.Write([]byte("x")); err == nil {
			t.Error("client side still open after the idle timeout")
		}
	})
}

// TestSpliceEndsWithContext: a new tunnel stack (its generation's context
// cancelled) ends the established flows.
func TestSpliceEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Proxy{cfg: Config{IdleTimeout: time.Hour}, log: slog.New(slog.DiscardHandler)}
		client, a := net.Pipe()
		b, remote := net.Pipe()
		defer client.Close()
		defer remote.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.splice(ctx, a, b, true)
		}()
		synctest.Wait()
		cancel()
		<-done
		if _, err := client.Read(make([]byte, 1)); err == nil {
			t.Error("client side open after the context ended")
		}
	})
}
