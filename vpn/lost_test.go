package vpn

import (
	"runtime"
	"testing"
	"time"
)

// Once the PPP link is known dead (echoes unanswered), status says
// reconnecting at once: not "up" while the StopCCN to the dead server is
// retransmitted.
func TestClientNotUpWhileSayingGoodbye(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	cfg := clientConfig(t, lns, d, ev)
	cfg.EchoInterval, cfg.EchoFailures = 20*time.Millisecond, 2
	cfg.RetransmitTimeout, cfg.MaxRetransmits = 200*time.Millisecond, 4 // 6 s of goodbyes
	cfg.ReconnectDelay, cfg.ReconnectMaxDelay = time.Hour, time.Hour
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	if st := cl.Status(); st.State != StateUp {
		t.Fatalf("state %q after Connect", st.State)
	}
	lns.setSilent(true)
	lns.awaitCount("StopCCN", 1) // the teardown's goodbye: the link is known dead
	if st := cl.Status(); st.State != StateReconnecting || st.Reconnect.Last == "" || !st.Since.IsZero() {
		t.Errorf("status while the goodbye is retransmitted: state %q, last error %q, since %v; want reconnecting with the cause",
			st.State, st.Reconnect.Last, st.Since)
	}
	if err := closeWithin(t, cl, 10*time.Second); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkGoroutines(t, base)
}
