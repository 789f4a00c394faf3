package collector

import (
	"context"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Between sweeps a users collector holds no worker buffers (a fleet target
// scraped every minute would keep 64 KiB of answer for 500 users): they go
// back to sweepBuffers, and the next sweeps, with buffers from there or new
// ones, count the same.
func TestUsersSweepReleasesBuffers(t *testing.T) {
	users := mmtest.GenerateUsers(700, 3)
	fake := mmtest.Start(t, mmtest.Config{Users: users})
	client, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := serialWalkConfig()
	cfg.BatchSize = 100
	cfg.Concurrency = 2
	c, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := mmtest.CountStatuses(users)
	for i := 0; i < 3; i++ {
		r := scrapeWithTimeout(t, c, 30*time.Second)
		if r.err != nil {
			t.Fatal(r.err)
		}
		checkCounts(t, r, want.Humans, want.HumansManual)
		for k := range c.sweep.workers {
			w := &c.sweep.workers[k]
			if w.ids != nil || w.body.Cap() != 0 {
				t.Fatalf("sweep %d: worker %d keeps %d ids and %d bytes of answer after the sweep", i+1, k, cap(w.ids), w.body.Cap())
			}
		}
	}
	// What a sweep gives back keeps its capacity (the answer was read to
	// its end: the buffer's read offset is at its end).
	for k := 0; k < 10; k++ {
		b, ok := sweepBuffers.Get().(*sweepBuffer)
		if !ok {
			break // a GC emptied the pool
		}
		if cap(b.body) < 100*expectedBodyPerID {
			t.Fatalf("a pooled answer buffer has %d bytes of capacity, want at least %d", cap(b.body), 100*expectedBodyPerID)
		}
	}
	// A pooled buffer is used as it is found (the pool may have been
	// emptied by a GC, so put one back first).
	sweepBuffers.Put(&sweepBuffer{ids: make([]string, 5, 1000), body: []byte("stale answer of an earlier sweep")})
	r := scrapeWithTimeout(t, c, 30*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkCounts(t, r, want.Humans, want.HumansManual)
}
