package userids

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestPacerSlowsDownOn429AndRecovers(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := &pacer{lim: rate.NewLimiter(rate.Inf, 1), now: func() time.Time { return now }}
	for i := 0; i < 5; i++ {
		if d := p.wait(); d != 0 {
			t.Fatalf("unthrottled pacer waits %s", d)
		}
	}
	p.throttled()
	if l := p.lim.Limit(); l != walkThrottleRate {
		t.Fatalf("rate after a 429 = %v, want %v", l, walkThrottleRate)
	}
	p.throttled()
	if l := p.lim.Limit(); l != walkThrottleRate/2 {
		t.Fatalf("rate after two 429s = %v, want %v", l, walkThrottleRate/2)
	}
	for i := 0; i < 20; i++ {
		p.throttled()
	}
	if l := p.lim.Limit(); l != walkMinRate {
		t.Fatalf("rate after many 429s = %v, want the floor %v", l, walkMinRate)
	}
	// At the floor, consecutive pages are 1/walkMinRate apart.
	p.wait()
	if d := p.wait(); d != 5*time.Second {
		t.Fatalf("wait at the floor = %s, want 5s", d)
	}
	// Recovery: the rate doubles every walkDecayPages clean pages until it
	// passes walkFullRate, then the walk is at full speed.
	pages := 0
	for p.lim.Limit() != rate.Inf && pages < 100 {
		p.ok()
		pages++
	}
	// 0.2 -> 0.4 -> ... -> 51.2 (> 50): 8 doublings.
	if pages != 8*walkDecayPages {
		t.Fatalf("recovery took %d clean pages, want %d", pages, 8*walkDecayPages)
	}
	now = now.Add(time.Hour)
	for i := 0; i < 5; i++ {
		if d := p.wait(); d != 0 {
			t.Fatalf("recovered pacer waits %s", d)
		}
	}
}
