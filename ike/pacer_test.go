package ike

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The pacer lets exactly rate messages leave per second, evenly spaced,
// from any number of goroutines.
func TestPacerRate(t *testing.T) {
	for _, rate := range []int{1, 5, 10, 50} {
		synctest.Test(t, func(t *testing.T) {
			p := NewPacer(float64(rate))
			var mu sync.Mutex
			var times []time.Time
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for range rate * 2 {
						if err := p.Wait(context.Background()); err != nil {
							t.Error(err)
						}
						mu.Lock()
						times = append(times, time.Now())
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
			if n := maxPerSecond(times); n != rate {
				t.Errorf("rate %d: %d messages within one second", rate, n)
			}
			if p.Sent() != 6*rate {
				t.Errorf("rate %d: counted %d", rate, p.Sent())
			}
		})
	}
}

// maxPerSecond is the most messages within any one second.
func maxPerSecond(times []time.Time) int {
	most := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}
