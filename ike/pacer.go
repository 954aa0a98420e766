package ike

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces a probe's messages: they leave at least 1/rate apart,
// whichever goroutine sends them. A slot is claimed when it is reached, not
// when it was planned, so a late wake-up never lets the next message follow
// closer; the spacing has 2 % to spare for the time between the claim and
// the send. Phase1Probe uses one; the PSK half of l2tpvpn probe shares
// another across IKE, L2TP and PPP.
type Pacer struct {
	gap  time.Duration
	mu   sync.Mutex
	next time.Time // the earliest time the next message may leave
	sent int
}

// NewPacer lets rate messages leave per second.
func NewPacer(rate float64) *Pacer {
	return &Pacer{gap: time.Duration(float64(time.Second) / rate * 1.02)}
}

// Wait blocks until the next slot is reached and claims it (counted in
// Sent), or returns ctx's error.
func (p *Pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	for {
		now := time.Now()
		if !now.Before(p.next) {
			p.next = now.Add(p.gap)
			p.sent++
			p.mu.Unlock()
			return nil
		}
		wait := p.next.Sub(now)
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		p.mu.Lock()
	}
}

// Sent is how many slots have been claimed.
func (p *Pacer) Sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}
