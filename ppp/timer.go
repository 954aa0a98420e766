package ppp

import "time"

// timer is a restartable one-shot timer for the Run loop's select: C is nil
// while the timer is not running, so a stopped timer's case never fires.
// Since Go 1.23 Reset and Stop discard a pending expiry, so a stale value is
// never received.
type timer struct {
	t *time.Timer
	c <-chan time.Time
}

// start (re)arms the timer to fire after d.
func (t *timer) start(d time.Duration) {
	if t.t == nil {
		t.t = time.NewTimer(d)
	} else {
		t.t.Reset(d)
	}
	t.c = t.t.C
}

// stop disarms the timer.
func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.c = nil
}

// C is the channel to select on; nil when the timer is not running.
func (t *timer) C() <-chan time.Time { return t.c }

// fired records that the expiry was received.
func (t *timer) fired() { t.c = nil }

// active reports whether the timer is running.
func (t *timer) active() bool { return t.c != nil }
