package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the sweeper: its lifetime, what it serves after a failure, 413
// handling and the unknown-status warning.

// hangStatusRequests makes the first n status requests hang until the client
// gives up (the fake ends a delayed answer when the client hangs up); later
// ones answer at once. It returns the number of status requests seen.
func hangStatusRequests(srv *mmtest.Server, n int64) *atomic.Int64 {
	var seen atomic.Int64
	srv.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointStatusesByIDs && seen.Add(1) <= n {
			return time.Hour
		}
		return 0
	})
	return &seen
}

// Cancelling the context given to Start stops a sweep in flight too (it is
// detached from the scrapes, not from the collector's life), so no request
// or goroutine outlives the collector.
func TestUsersStopCancelsSweepInFlight(t *testing.T) {
	cfg := DefaultUsersConfig()
	env := newUsersEnv(t, 600, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	life, stop := context.WithCancel(context.Background())
	defer stop()
	env.c.Start(life)
	seen := hangStatusRequests(env.srv, 1<<30)

	// A scrape with a long deadline: the sweep may run for an hour.
	res := make(chan scrapeResult, 1)
	go func() { res <- scrapeWithTimeout(t, env.c, time.Hour) }()
	waitFor(t, "the sweep's request to arrive", func() bool { return seen.Load() == 1 })
	stop()
	waitFor(t, "the sweep in flight to end with the collector", func() bool { return counterValue(env.c.sweep.errors) == 1 })
	select {
	case r := <-res:
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("scrape error = %v, want context.Canceled from the stopped sweep", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the scrape kept waiting after the sweep ended")
	}
	select {
	case <-env.c.Stopped():
	case <-time.After(30 * time.Second):
		t.Fatal("background loop did not stop")
	}
	if env.c.sweep.last.Load() != nil {
		t.Fatal("a cancelled sweep was published")
	}
}

// A scrape whose deadline has already passed starts no requests.
func TestUsersExpiredScrapeMakesNoRequests(t *testing.T) {
	cfg := DefaultUsersConfig()
	env := newUsersEnv(t, 600, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv.ResetCounters()
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	r := scrapeUsers(ctx, t, env.c)
	if r.err == nil {
		t.Fatal("an expired scrape succeeded")
	}
	if n := env.srv.TotalRequests(); n != 0 {
		t.Fatalf("an expired scrape made %d requests: %v", n, env.srv.RequestCounts())
	}
	// The next scrape is not held back by it.
	r = scrapeWithTimeout(t, env.c, 30*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, ok := r.value("mattermost_users", "status", mmclient.StatusOnline); !ok {
		t.Fatal("no counts after an expired scrape")
	}
}

// Update without Start is a wiring mistake: reported as an error (not as
// "not ready yet", logged at info, which would hide it).
func TestUsersUpdateWithoutStart(t *testing.T) {
	env := newUsersEnv(t, 10, DefaultUsersConfig(), mmtest.Config{})
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	if r.err == nil || errors.Is(r.err, ErrNotReady) || strings.Contains(r.err.Error(), "in progress") {
		t.Fatalf("Update before Start: %v, want a plain error", r.err)
	}
	if v, ok := r.value("mattermost_exporter_users_cached"); !ok || v != 0 {
		t.Fatalf("cached = %v (present %v), want 0", v, ok)
	}
}

// After a failed sweep the last complete one is served only while it is
// younger than staleServeLimit.
func TestUsersStaleServeLimit(t *testing.T) {
	client := statusServer(t, func([]string) string { return "[" }) // malformed: every sweep fails
	c := collectorWithIDs(t, client, DefaultUsersConfig(), 30)
	for _, tc := range []struct {
		age   time.Duration
		serve bool
	}{{staleServeLimit - time.Minute, true}, {staleServeLimit + time.Minute, false}} {
		old := &sweepResult{taken: time.Now().Add(-tc.age)}
		old.counts.byStatus[0] = 7
		c.sweep.last.Store(old)
		r := scrapeWithTimeout(t, c, 10*time.Second)
		if r.err == nil {
			t.Fatal("a failed sweep reported success")
		}
		v, ok := r.value("mattermost_users", "status", mmclient.KnownStatuses[0])
		if ok != tc.serve || (ok && v != 7) {
			t.Fatalf("last sweep %s old: served %v (value %v), want served %v", tc.age, ok, v, tc.serve)
		}
	}
}

// Unknown status values are counted on every sweep but warned about at most
// once an hour.
func TestUsersUnknownStatusLogThrottled(t *testing.T) {
	client := statusServer(t, func(ids []string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, st(id, "in_a_meeting", false))
		}
		return "[" + strings.Join(parts, ",") + "]"
	})
	c := collectorWithIDs(t, client, DefaultUsersConfig(), 20)
	var logs logBuffer
	c.sweep.logger = logs.Logger()
	for i := 0; i < 3; i++ {
		r := scrapeWithTimeout(t, c, 10*time.Second)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if v, _ := r.value("mattermost_users_unknown_status"); v != 20 {
			t.Fatalf("scrape %d: unknown_status = %v, want 20", i, v)
		}
	}
	if l := logs.LinesContaining("level=warn", "unknown status value", "in_a_meeting"); len(l) != 1 {
		t.Fatalf("want one warning for three sweeps, got %q", logs.String())
	}
}

// payloadLimited serves fake like an 11.x server whose
// ServiceSettings.MaximumPayloadSizeBytes lets at most maxIDs ids through in
// one status request: above, it answers the real 413.
func payloadLimited(t *testing.T, fake *mmtest.Server, maxIDs int) (*mmclient.Client, *atomic.Int64) {
	t.Helper()
	var refused atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/users/status/ids" {
			body, _ := io.ReadAll(r.Body)
			if bytes.Count(body, []byte(`"`))/2 > maxIDs {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				_, _ = io.WriteString(w, `{"id":"api.context.request_body_too_large.app_error","message":"Unable to process request. Request body too large.","detailed_error":"","request_id":"x8pfxn3ahtfy8rbzqd7b1yaqcw","status_code":413}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return client, &refused
}

// A 413 halves the batch within the sweep (counts stay right) and the
// working size is kept for later sweeps and exported.
func TestUsers413HalvesBatch(t *testing.T) {
	users := mmtest.GenerateUsers(2600, 3)
	fake := mmtest.New(mmtest.Config{Users: users})
	client, refused := payloadLimited(t, fake, 300)
	cfg := DefaultUsersConfig() // batch 1000
	c, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	c.sweep.logger = logs.Logger()
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := mmtest.CountStatuses(users)
	for i := 0; i < 2; i++ {
		fake.ResetCounters()
		refused.Store(0)
		r := scrapeWithTimeout(t, c, 30*time.Second)
		if r.err != nil {
			t.Fatalf("scrape %d: %v", i, r.err)
		}
		checkCounts(t, r, want.Humans, want.HumansManual)
		// 1000 -> 500 -> 250 ids: the largest halving under 300.
		if v, _ := r.value("mattermost_exporter_users_batch_size"); v != 250 {
			t.Fatalf("scrape %d: batch_size = %v, want 250", i, v)
		}
		if i == 1 {
			if refused.Load() != 0 {
				t.Fatalf("second sweep sent %d too large batches", refused.Load())
			}
			if got, want := fake.Requests(mmtest.EndpointStatusesByIDs), int64(ceilDiv(activeHumans(users), 250)); got != want {
				t.Fatalf("second sweep: %d status requests, want %d", got, want)
			}
		} else if refused.Load() == 0 {
			t.Fatal("no batch was refused: the test does not test")
		}
	}
	if l := logs.LinesContaining("level=warn", "413", "batch_size=250"); len(l) != 1 {
		t.Fatalf("want one warning about the batch size, got %q", logs.String())
	}
}

// Against the fake in the 11.x era with ServiceSettings.MaximumPayloadSizeBytes
// lowered to 10,000 bytes (about 360 ids), the fake's own 413s halve the
// batches to 250 ids and the counts are right.
func TestUsersLoweredPayloadLimitEra11(t *testing.T) {
	users := mmtest.GenerateUsers(2600, 5)
	fake := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, MaximumPayloadSizeBytes: 10000, Users: users})
	c, err := NewUsersCollector(Deps{Client: fakeClient(t, fake.URL, mmtest.UserToken, nil)}, DefaultUsersConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := mmtest.CountStatuses(users)
	r := scrapeWithTimeout(t, c, 30*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkCounts(t, r, want.Humans, want.HumansManual)
	if v, _ := r.value("mattermost_exporter_users_batch_size"); v != 250 {
		t.Fatalf("batch_size = %v, want 250", v)
	}
}

// Workers decode outside their request slot, but the server never has more
// than Concurrency status requests of one sweep at once.
func TestUsersSweepRequestsInFlightAtMostConcurrency(t *testing.T) {
	users := mmtest.GenerateUsers(3000, 7)
	fake := mmtest.NewServer(mmtest.Config{Users: users})
	t.Cleanup(fake.Close)
	fake.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointStatusesByIDs {
			return 5 * time.Millisecond
		}
		return 0
	})
	var inFlight, peak atomic.Int64
	h := fake.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/users/status/ids" {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p; p = peak.Load() {
				if peak.CompareAndSwap(p, n) {
					break
				}
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: front.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := serialWalkConfig()
	cfg.BatchSize = 50
	cfg.Concurrency = 3
	c, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.ResetCounters()
	r := scrapeWithTimeout(t, c, 30*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := mmtest.CountStatuses(users)
	checkCounts(t, r, want.Humans, want.HumansManual)
	batches := (c.cache.snap.Load().ids.Len() + cfg.BatchSize - 1) / cfg.BatchSize
	if got := fake.Requests(mmtest.EndpointStatusesByIDs); got != int64(batches) {
		t.Fatalf("%d status requests, want %d", got, batches)
	}
	if p := peak.Load(); p > int64(cfg.Concurrency) || p < 2 {
		t.Fatalf("at most %d status requests were in flight at once, want 2..%d", p, cfg.Concurrency)
	}
}
