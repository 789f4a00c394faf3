package collector

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the shared sweep's lifetime: who may join it, how long it lasts,
// and what stops it.

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

// A sweep whose end has passed is being cancelled: a scrape arriving before
// its goroutine has cleaned up must start a new sweep, not wait for the dying
// one and fail with it.
func TestUsersScrapeDoesNotJoinSweepPastItsEnd(t *testing.T) {
	cfg := DefaultUsersConfig()
	env := newUsersEnv(t, 1500, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv.ResetCounters()
	// The state between the dying sweep's timer firing and its goroutine
	// taking the lock: still in flight, end in the past, not done.
	dying := &sweepCall{
		done:  make(chan struct{}),
		end:   time.Now().Add(-time.Millisecond),
		timer: time.AfterFunc(time.Hour, func() {}),
	}
	defer dying.timer.Stop()
	env.c.mu.Lock()
	env.c.inflight = dying
	env.c.mu.Unlock()

	r := scrapeWithTimeout(t, env.c, 30*time.Second)
	if r.err != nil {
		t.Fatalf("scrape joined the dying sweep: %v", r.err)
	}
	want := mmtest.CountStatuses(env.users)
	checkCounts(t, r, want.Humans, want.HumansManual)
	if got, want := env.srv.Requests(mmtest.EndpointStatusesByIDs), int64(ceilDiv(activeHumans(env.users), cfg.BatchSize)); got != want {
		t.Fatalf("status requests = %d, want %d (one new sweep)", got, want)
	}
	if dying.waiters != 0 {
		t.Fatalf("%d scrapes joined the dying sweep", dying.waiters)
	}
}

// A scrape that joins a sweep moves its end later. A request already in
// flight carries the old end as its deadline: when it reaches it, the batch
// is asked again under the new end instead of failing the whole sweep that
// the joining scrape is still waiting for.
func TestUsersJoiningScrapeExtendsRequestsInFlight(t *testing.T) {
	cfg := DefaultUsersConfig()
	env := newUsersEnv(t, 600, cfg, mmtest.Config{}) // one batch
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv.ResetCounters()
	seen := hangStatusRequests(env.srv, 1)

	// Scrape 1 starts the sweep; its end is about 2 s away.
	first := make(chan scrapeResult, 1)
	go func() { first <- scrapeWithTimeout(t, env.c, time.Second) }()
	waitFor(t, "the sweep's request to arrive", func() bool { return seen.Load() == 1 })
	// Scrape 2 joins with a long deadline while the request hangs.
	r2 := scrapeWithTimeout(t, env.c, time.Minute)
	if r2.err != nil {
		t.Fatalf("joining scrape: %v", r2.err)
	}
	want := mmtest.CountStatuses(env.users)
	checkCounts(t, r2, want.Humans, want.HumansManual)
	if got := env.srv.Requests(mmtest.EndpointStatusesByIDs); got != 2 {
		t.Fatalf("status requests = %d, want 2 (the hung one, then the batch again)", got)
	}
	if r1 := <-first; !errors.Is(r1.err, context.DeadlineExceeded) {
		t.Fatalf("first scrape: %v, want its deadline", r1.err)
	}
	if env.c.sweeps.Load() != 1 || env.c.sweepErrors.Load() != 0 {
		t.Fatalf("sweeps = %d, errors = %d; want 1 and 0", env.c.sweeps.Load(), env.c.sweepErrors.Load())
	}
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

	// A scrape with a long deadline: the sweep may run for two hours.
	res := make(chan scrapeResult, 1)
	go func() { res <- scrapeWithTimeout(t, env.c, time.Hour) }()
	waitFor(t, "the sweep's request to arrive", func() bool { return seen.Load() == 1 })
	env.c.mu.Lock()
	call := env.c.inflight
	env.c.mu.Unlock()
	if call == nil {
		t.Fatal("no sweep in flight")
	}
	stop()
	select {
	case <-call.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep in flight outlived the collector's context")
	}
	if !errors.Is(call.err, context.Canceled) {
		t.Fatalf("sweep error = %v, want context.Canceled", call.err)
	}
	select {
	case r := <-res:
		if r.err == nil {
			t.Fatal("scrape succeeded from a cancelled sweep")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the scrape kept waiting after the sweep ended")
	}
	select {
	case <-env.c.Stopped():
	case <-time.After(30 * time.Second):
		t.Fatal("background loop did not stop")
	}
	env.c.mu.Lock()
	defer env.c.mu.Unlock()
	if env.c.inflight != nil || env.c.lastSweep != nil {
		t.Fatalf("after stop: inflight %v, lastSweep %v", env.c.inflight, env.c.lastSweep)
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
	r := scrapeUsers(t, ctx, env.c)
	if r.err == nil {
		t.Fatal("an expired scrape succeeded")
	}
	waitFor(t, "the sweep to end", func() bool {
		env.c.mu.Lock()
		defer env.c.mu.Unlock()
		return env.c.inflight == nil
	})
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
