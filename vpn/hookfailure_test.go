package vpn

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 17 point 15: with HookFailureDisconnect a failing up hook ends the
// connection cleanly (down hook, host restored) with a host error, like
// wg-quick's PostUp; without it the connection stays up.
func TestUpHookFailureDisconnects(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	ran := filepath.Join(t.TempDir(), "down-ran")
	cfg.UpHook, cfg.DownHook = "echo no route for you; exit 3", "touch '"+ran+"'"
	cfg.HookTimeout = 10 * time.Second
	cfg.HookFailureDisconnect = true
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cl, err := Connect(ctx, cfg)
	if err == nil {
		cl.Close()
		t.Fatal("Connect succeeded although the up hook failed")
	}
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonHost || e.Phase != "up hook" || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(e.Hint, "hook-failure") {
		t.Errorf("error %v (%#v); want reason host, phase up hook, exit status 3, a hint", err, e)
	}
	if got, want := ev.names(EventUp, EventHook, EventDown), []string{EventUp, EventHook, EventDown}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if down := ev.await(EventDown, 1); down.Reason != "host" || !strings.Contains(down.Error, "up hook") {
		t.Errorf("down event %+v", down)
	}
	if _, err := os.Stat(ran); err != nil {
		t.Errorf("the down hook did not run: %v", err)
	}
	d.host.mu.Lock()
	closed := d.host.closed
	d.host.mu.Unlock()
	if closed != 1 {
		t.Errorf("host closed %d times, want 1", closed)
	}
	lns.awaitCount("StopCCN", 1) // a clean teardown
	checkGoroutines(t, base)

	// The default: a warning (the hook event), and the connection stays.
	lns2, d2, ev2 := newClientFixture(t)
	cfg = clientConfig(t, lns2, d2, ev2)
	cfg.UpHook, cfg.HookTimeout = "exit 3", 10*time.Second
	cl = mustConnect(t, cfg)
	if h := ev2.await(EventHook, 1); h.Error != "exit status 3" {
		t.Errorf("hook event %+v", h)
	}
	if st := cl.Status(); st.State != StateUp {
		t.Errorf("state %q after a failing hook without hook-failure disconnect", st.State)
	}
	if err := closeWithin(t, cl, waitTimeout); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// After a reconnect too: the up hook fails the second time, and the
// client ends with that error instead of staying up.
func TestUpHookFailureAfterReconnect(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	cfg.HelloInterval, cfg.MaxRetransmits = 100*time.Millisecond, 2
	cfg.UpHook, cfg.HookTimeout, cfg.HookFailureDisconnect = `[ "$L2TPVPN_RECONNECTS" = 0 ]`, 10*time.Second, true
	cl := mustConnect(t, cfg)
	ev.await(EventUp, 1)
	lns.setSilent(true)
	ev.await(EventReconnecting, 1)
	lns.setSilent(false)
	select {
	case <-cl.Done():
	case <-time.After(waitTimeout):
		cl.Close()
		t.Fatal("the client stayed up after the up hook failed on the reconnect")
	}
	if err := cl.Wait(); ReasonOf(err) != ReasonHost || !strings.Contains(err.Error(), "up hook") {
		t.Errorf("Wait: %v, want the up hook's host error", err)
	}
}
