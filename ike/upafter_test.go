package ike

import (
	"testing"
	"testing/synctest"
	"time"
)

// Up is closed only after the Events callback has taken the first ChildUp,
// so a caller that waits on Up finds the child SA installed. (It was
// closed before the callback ran: the client sometimes sent its first
// L2TP message with no outbound SA, and sized its PPP MRU without the SA,
// one byte below the MTU it then used: against strongSwan + l2tpns the
// server dropped every full-size packet.)
func TestUpAfterChildUpEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sessions := make(chan *Session, 1)
		early, seen := false, false
		h := newHarness(t, Config{IKE: mustIKE(t, "aes128-sha1-modp2048"), ESP: mustESP(t, "aes128-sha1"),
			Events: func(e Event) {
				if e.Kind != ChildUp || seen {
					return
				}
				seen = true
				s := <-sessions // the test hands it over once NewSession returned
				sessions <- s
				select {
				case <-s.Up():
					early = true
				default:
				}
			}}, respConfig{})
		sessions <- h.s
		h.event(ChildUp, time.Minute)
		<-h.s.Up()
		if !seen || early {
			t.Fatalf("Up was closed before the ChildUp callback ran (seen %v, early %v)", seen, early)
		}
	})
}
