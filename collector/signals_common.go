package collector

// Helpers shared by the health, license, jobs, plugins and analytics
// collectors.

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// boundLabel makes a server-supplied string safe as a label value: valid
// UTF-8 (the registry rejects anything else) and at most limit bytes, cut on
// a rune boundary.
func boundLabel(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit]
}

// intervalCache runs an expensive call at most once per interval and hands
// the last successful answer to the scrapes in between. Failures are not
// kept: the next scrape tries again. Concurrent scrapes that find the
// answer stale share one call (the others wait for it, within their own
// deadline).
type intervalCache[T any] struct {
	interval time.Duration
	now      func() time.Time

	sem chan struct{} // one call in flight

	mu  sync.Mutex
	val T
	at  time.Time // when val was received; zero = none yet
}

func newIntervalCache[T any](interval time.Duration) *intervalCache[T] {
	return &intervalCache[T]{interval: interval, now: time.Now, sem: make(chan struct{}, 1)}
}

// get returns the cached answer when it is younger than the interval, else
// calls fetch. at is when the returned answer was received.
func (c *intervalCache[T]) get(ctx context.Context, fetch func(context.Context) (T, error)) (val T, at time.Time, err error) {
	if v, t, ok := c.fresh(); ok {
		return v, t, nil
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, time.Time{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	// Another scrape may have refreshed it while this one waited.
	if v, t, ok := c.fresh(); ok {
		return v, t, nil
	}
	v, err := fetch(ctx)
	if err != nil {
		var zero T
		return zero, time.Time{}, err
	}
	now := c.now()
	c.mu.Lock()
	c.val, c.at = v, now
	c.mu.Unlock()
	return v, now, nil
}

func (c *intervalCache[T]) fresh() (T, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || c.interval <= 0 || c.now().Sub(c.at) >= c.interval {
		var zero T
		return zero, time.Time{}, false
	}
	return c.val, c.at, true
}
