package mmclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// limited429Server answers every request 429 with Retry-After: 1 and counts
// the requests.
func limited429Server(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "limit exceeded", http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestWithoutRetries(t *testing.T) {
	srv, n := limited429Server(t)
	c, err := New(Options{BaseURL: srv.URL, Token: "t"}) // MaxRetries 0: the default 3
	if err != nil {
		t.Fatal(err)
	}
	var waits atomic.Int64
	c.sleepTimerFn = func(time.Duration) *time.Timer { waits.Add(1); return time.NewTimer(0) }
	ids := []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "oh6nwkutzpyzjgqd4rzdgww66w"}

	// The value survives contexts derived from it (the caller adds its
	// own timeout on top).
	base := WithoutRetries(context.Background())
	ctx, cancel := context.WithTimeout(base, time.Minute)
	defer cancel()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"GetUsers", func(ctx context.Context) error { _, err := c.GetUsers(ctx, 3, 200); return err }},
		{"StreamStatusesByIDs", func(ctx context.Context) error {
			return c.StreamStatusesByIDs(ctx, ids, func(*Status) error { return nil })
		}},
	}
	for _, tc := range calls {
		n.Store(0)
		waits.Store(0)
		err := tc.call(ctx)
		ae := asAPIError(t, err)
		if ae.StatusCode != http.StatusTooManyRequests || ae.RetryAfter != time.Second || !IsTooManyRequests(err) {
			t.Fatalf("%s without retries: %+v", tc.name, ae)
		}
		if got := n.Load(); got != 1 {
			t.Fatalf("%s without retries: %d requests, want exactly 1", tc.name, got)
		}
		if w := waits.Load(); w != 0 {
			t.Fatalf("%s without retries: waited %d times", tc.name, w)
		}

		// A normal context still retries: 1 + DefaultMaxRetries requests.
		n.Store(0)
		err = tc.call(context.Background())
		if !IsTooManyRequests(err) {
			t.Fatalf("%s with retries: %v", tc.name, err)
		}
		if got := n.Load(); got != 1+DefaultMaxRetries {
			t.Fatalf("%s with retries: %d requests, want %d", tc.name, got, 1+DefaultMaxRetries)
		}
		if w := waits.Load(); w != DefaultMaxRetries {
			t.Fatalf("%s with retries: waited %d times, want %d", tc.name, w, DefaultMaxRetries)
		}
	}
}
