package collector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the concurrent walk (--collector.users.walk-concurrency).

func TestUsersConcurrentWalkReadsEveryPageOnce(t *testing.T) {
	for _, conc := range []int{2, 4, 16} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			cfg := DefaultUsersConfig()
			cfg.WalkConcurrency = conc
			// 5,000 accounts: exactly 25 full pages, then an empty one.
			env := newUsersEnv(t, 5000, cfg, mmtest.Config{})
			if err := env.c.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			snap := env.c.ids.Snapshot()
			if snap.IDs.Len() != activeHumans(env.users) || snap.Duplicates != 0 {
				t.Fatalf("cached %d ids (%d duplicates), want %d, none", snap.IDs.Len(), snap.Duplicates, activeHumans(env.users))
			}
			// Pages past the end may be asked by workers that took a
			// page number before the short page came back: at most one
			// per other worker.
			pages, least := env.srv.Requests(mmtest.EndpointUsers), int64(walkPages(len(env.users)))
			if pages < least || pages > least+int64(conc-1) || int64(snap.Pages) != pages {
				t.Fatalf("pages asked %d (snapshot %d), want %d to %d", pages, snap.Pages, least, least+int64(conc-1))
			}
			want := mmtest.CountStatuses(env.users)
			checkCounts(t, scrapeWithTimeout(t, env.c, 10*time.Second), want.Humans, want.HumansManual)
		})
	}
}

// One failing page fails the whole walk: no partial id set is published.
func TestUsersConcurrentWalkPublishesNothingPartial(t *testing.T) {
	cfg := DefaultUsersConfig()
	env := newUsersEnv(t, 3000, cfg, mmtest.Config{})
	var n atomic.Int64
	env.srv.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointUsers && n.Add(1) == 7 {
			env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusInternalServerError, Times: 1})
		}
		return 0
	})
	err := env.c.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v, want the page's 500", err)
	}
	if p := env.srv.Requests(mmtest.EndpointUsers); p < 8 {
		t.Fatalf("walk failed after %d pages, want the eighth to fail", p)
	}
	if env.c.ids.Snapshot() != nil {
		t.Fatal("a failed walk published ids")
	}
	if r := scrapeWithTimeout(t, env.c, 5*time.Second); r.err == nil {
		t.Fatal("scrape after a failed first walk succeeded")
	} else if _, ok := r.value("mattermost_users", "status", "online"); ok {
		t.Fatal("counts served without a complete id set")
	}
}

func TestUsersConcurrentWalkDetectsServerIgnoringPage(t *testing.T) {
	cfg := DefaultUsersConfig()
	cfg.WalkConcurrency = 4
	if p := walkIgnoringPage(t, cfg, 100); p > 2+2*4 {
		t.Fatalf("walk asked %d pages before noticing", p)
	}
}

// With the fake's token bucket and real sleeps, four workers share one
// pacer: the walk is throttled a few times, then paces itself and completes.
func TestUsersConcurrentWalkFitsRealLimiter(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps a few seconds")
	}
	cfg := DefaultUsersConfig()
	cfg.WalkConcurrency = 4
	env := newUsersEnv(t, 4000, cfg, mmtest.Config{RateLimit: &mmtest.RateLimit{PerSec: 4, Burst: 5}})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.c.ids.Snapshot().IDs.Len(); got != activeHumans(env.users) {
		t.Fatalf("cached %d, want %d", got, activeHumans(env.users))
	}
	// Each slowdown episode can see up to 4 429s (the pages already in
	// flight); the pace fits the server's 4/s after two or three episodes
	// (5/s, then 2.5/s). A walk that did not slow down would get a 429 on
	// most of its 21 pages.
	if th := float64(env.c.ids.Stats().Throttled); th < 1 || th > 12 {
		t.Fatalf("walk was throttled %v times; want at least one 429 and then self-pacing (at most 12 of 21 pages)", th)
	}
}
