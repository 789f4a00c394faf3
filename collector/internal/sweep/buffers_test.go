package sweep

import (
	"context"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Between sweeps a sweeper holds no worker buffers (a fleet target scraped
// every minute would keep 64 KiB of answer for 500 users): they go back to
// buffers, and the next sweeps, with buffers from there or new ones, count
// the same.
func TestSweepReleasesBuffers(t *testing.T) {
	users := mmtest.GenerateUsers(700, 3)
	fake := mmtest.Start(t, mmtest.Config{Users: users})
	client, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := New(client, nil, Config{BatchSize: 100, Concurrency: 2})
	ids := humanIDs(t, users)
	want := mmtest.CountStatuses(users)
	sweep := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := s.Counts(ctx, ids)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i, st := range mmclient.KnownStatuses {
			if res.Counts.ByStatus[i] != int64(want.Humans[st]) || res.Counts.Manual[i] != int64(want.HumansManual[st]) {
				t.Fatalf("%s: %s %d (%d manual), want %d (%d)", what, st, res.Counts.ByStatus[i], res.Counts.Manual[i], want.Humans[st], want.HumansManual[st])
			}
		}
	}
	for i := 0; i < 3; i++ {
		sweep("sweep")
		for k := range s.workers {
			w := &s.workers[k]
			if w.ids != nil || w.body.Cap() != 0 {
				t.Fatalf("sweep %d: worker %d keeps %d ids and %d bytes of answer after the sweep", i+1, k, cap(w.ids), w.body.Cap())
			}
		}
	}
	// What a sweep gives back keeps its capacity (the answer was read to
	// its end: the buffer's read offset is at its end).
	for k := 0; k < 10; k++ {
		b, ok := buffers.Get().(*buffer)
		if !ok {
			break // a GC emptied the pool
		}
		if cap(b.body) < 100*expectedBodyPerID {
			t.Fatalf("a pooled answer buffer has %d bytes of capacity, want at least %d", cap(b.body), 100*expectedBodyPerID)
		}
	}
	// A pooled buffer is used as it is found (the pool may have been
	// emptied by a GC, so put one back first).
	buffers.Put(&buffer{ids: make([]string, 5, 1000), body: []byte("stale answer of an earlier sweep")})
	sweep("sweep with a stale pooled buffer")
}
