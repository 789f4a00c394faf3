package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/collector/internal/sweep"
	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// usersEnv is a fake Mattermost with generated users and a users collector.
type usersEnv struct {
	srv    *mmtest.Server
	users  []mmtest.UserSpec
	client *mmclient.Client
	c      *UsersCollector
}

// newUsersEnv starts a fake with n generated users (unless scfg has some)
// and builds a users collector for it with the id cache's options.
func newUsersEnv(t *testing.T, n int, cfg UsersConfig, scfg mmtest.Config, opts ...userids.Option) *usersEnv {
	t.Helper()
	return newLoggedUsersEnv(t, n, cfg, scfg, nil, opts...)
}

// newLoggedUsersEnv is newUsersEnv with the collector's logger.
func newLoggedUsersEnv(t *testing.T, n int, cfg UsersConfig, scfg mmtest.Config, logger log.Logger, opts ...userids.Option) *usersEnv {
	t.Helper()
	if scfg.Users == nil {
		scfg.Users = mmtest.GenerateUsers(n, 42)
	}
	srv := mmtest.NewServer(scfg)
	t.Cleanup(srv.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newUsersCollector(Deps{Client: client, Logger: logger}, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &usersEnv{srv: srv, users: scfg.Users, client: client, c: c}
}

// scrapeResult is one Update, gathered.
type scrapeResult struct {
	err      error
	families map[string]*dto.MetricFamily
}

// value returns the value of the sample of name with the given label pairs
// ("status", "online"), and whether it exists.
func (r scrapeResult) value(name string, labels ...string) (float64, bool) {
	mf, ok := r.families[name]
	if !ok {
		return 0, false
	}
outer:
	for _, m := range mf.GetMetric() {
		lp := m.GetLabel()
		if len(lp)*2 != len(labels) {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range lp {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue outer
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// adapter lets a registry gather one Update.
type usersAdapter struct {
	ctx context.Context
	c   *UsersCollector
	err error
}

func (a *usersAdapter) Describe(chan<- *prometheus.Desc) {}
func (a *usersAdapter) Collect(ch chan<- prometheus.Metric) {
	a.err = a.c.Update(a.ctx, ch)
}

func scrapeUsers(ctx context.Context, t *testing.T, c *UsersCollector) scrapeResult {
	t.Helper()
	a := &usersAdapter{ctx: ctx, c: c}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	r := scrapeResult{err: a.err, families: map[string]*dto.MetricFamily{}}
	for _, mf := range mfs {
		r.families[mf.GetName()] = mf
	}
	return r
}

func scrapeWithTimeout(t *testing.T, c *UsersCollector, d time.Duration) scrapeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return scrapeUsers(ctx, t, c)
}

func checkCounts(t *testing.T, r scrapeResult, want, wantManual map[string]int) {
	t.Helper()
	for _, s := range mmclient.KnownStatuses {
		got, ok := r.value("mattermost_users", "status", s)
		if !ok || got != float64(want[s]) {
			t.Errorf("mattermost_users{status=%q} = %v (present %v), want %d", s, got, ok, want[s])
		}
		got, ok = r.value("mattermost_users_manual", "status", s)
		if !ok || got != float64(wantManual[s]) {
			t.Errorf("mattermost_users_manual{status=%q} = %v (present %v), want %d", s, got, ok, wantManual[s])
		}
	}
}

func activeHumans(users []mmtest.UserSpec) int {
	n := 0
	for _, u := range users {
		if !u.IsBot && !u.Deactivated {
			n++
		}
	}
	return n
}

// walkPages is the number of GET /users pages a walk of n accounts needs:
// full pages of 200, then a short (possibly empty) one.
func walkPages(n int) int { return n/200 + 1 }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func TestUsersCountsMatchGeneratedUsers(t *testing.T) {
	for _, includeBots := range []bool{false, true} {
		t.Run(fmt.Sprintf("include-bots=%v", includeBots), func(t *testing.T) {
			cfg := serialWalkConfig()
			cfg.BatchSize = 700
			cfg.IncludeBots = includeBots
			env := newUsersEnv(t, 5000, cfg, mmtest.Config{})
			if err := env.c.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := mmtest.CountStatuses(env.users)
			env.srv.ResetCounters()
			r := scrapeWithTimeout(t, env.c, 10*time.Second)
			if r.err != nil {
				t.Fatalf("Update: %v", r.err)
			}
			wantIDs := want.Active - want.ActiveBots
			if includeBots {
				checkCounts(t, r, want.All, want.AllManual)
				wantIDs = want.Active
			} else {
				checkCounts(t, r, want.Humans, want.HumansManual)
			}
			if v, _ := r.value("mattermost_exporter_users_cached"); v != float64(wantIDs) {
				t.Errorf("cached = %v, want %d", v, wantIDs)
			}
			if v, ok := r.value("mattermost_users_unknown_status"); !ok || v != 0 {
				t.Errorf("unknown_status = %v (present %v), want 0", v, ok)
			}
			// Requests of a warm scrape: exactly ceil(N/batch) status
			// requests, and nothing else from this collector.
			if got, want := env.srv.Requests(mmtest.EndpointStatusesByIDs), int64(ceilDiv(wantIDs, cfg.BatchSize)); got != want {
				t.Errorf("status requests = %d, want %d", got, want)
			}
			if got := env.srv.TotalRequests(); got != env.srv.Requests(mmtest.EndpointStatusesByIDs) {
				t.Errorf("scrape made %d requests besides status requests: %v", got-env.srv.Requests(mmtest.EndpointStatusesByIDs), env.srv.RequestCounts())
			}
			if got := env.srv.StatusIDsReceived(); got != int64(wantIDs) {
				t.Errorf("ids sent = %d, want %d (each cached id once)", got, wantIDs)
			}
			ts, ok := r.value("mattermost_users_sweep_timestamp_seconds")
			if !ok || math.Abs(ts-float64(time.Now().Unix())) > 600 {
				t.Errorf("sweep timestamp = %v (present %v)", ts, ok)
			}
		})
	}
}

func TestUsersWalkSkipsDeactivatedAndBotsAndCountsPages(t *testing.T) {
	cfg := serialWalkConfig()
	env := newUsersEnv(t, 1234, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := env.c.ids.Snapshot()
	want := mmtest.CountStatuses(env.users)
	if snap.IDs.Len() != activeHumans(env.users) {
		t.Fatalf("cached %d ids, want %d active humans", snap.IDs.Len(), activeHumans(env.users))
	}
	if snap.ActiveAll != int64(want.Active) || snap.Bots != int64(want.ActiveBots) {
		t.Fatalf("activeAll=%d bots=%d, want %d, %d", snap.ActiveAll, snap.Bots, want.Active, want.ActiveBots)
	}
	deact := map[string]bool{}
	for _, u := range env.users {
		if u.Deactivated || u.IsBot {
			deact[u.ID] = true
		}
	}
	for i := 0; i < snap.IDs.Len(); i++ {
		if deact[snap.IDs.At(i)] {
			t.Fatalf("cached id %s is a bot or deactivated", snap.IDs.At(i))
		}
	}
	// 1234 accounts: pages 0..6 (the last one short).
	if got, wantPages := env.srv.Requests(mmtest.EndpointUsers), int64(walkPages(1234)); got != wantPages || snap.Pages != int(wantPages) {
		t.Fatalf("walk made %d page requests (snapshot says %d), want %d", got, snap.Pages, wantPages)
	}
	// The first refresh asks /users/stats before the walk (to size it) and
	// after (to compare); later ones only after.
	if got := env.srv.Requests(mmtest.EndpointUserStats); got != 2 {
		t.Fatalf("users_stats requests = %d, want 2", got)
	}
	env.srv.ResetCounters()
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.srv.Requests(mmtest.EndpointUserStats); got != 1 {
		t.Fatalf("second refresh: users_stats requests = %d, want 1", got)
	}
	if st := env.c.ids.Stats(); !st.StatsKnown || st.StatsDifference != 0 {
		t.Fatalf("stats difference = %v (known %v), want 0", st.StatsDifference, st.StatsKnown)
	}
}

// TestUsersRequestsPerWarmScrapeThroughExporter counts everything a whole
// scrape costs the server: ceil(N/batch) status requests plus the fixed calls
// of the always-on ping, measured on a scrape without the users collector.
func TestUsersRequestsPerWarmScrapeThroughExporter(t *testing.T) {
	const n = 4321
	cfg := serialWalkConfig()
	env := newUsersEnv(t, n, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := env.client

	gather := func(e *Exporter) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(scrapeAdapter{e: e})
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	bare := NewExporter(Deps{Client: client}, nil)
	env.srv.ResetCounters()
	gather(bare)
	fixed := env.srv.TotalRequests()
	if fixed < 1 {
		t.Fatalf("ping made no request")
	}

	e := NewExporter(Deps{Client: client}, map[string]Collector{"users": env.c})
	for i := 0; i < 3; i++ {
		env.srv.ResetCounters()
		gather(e)
		status := env.srv.Requests(mmtest.EndpointStatusesByIDs)
		want := int64(ceilDiv(activeHumans(env.users), cfg.BatchSize))
		if status != want {
			t.Fatalf("scrape %d: status requests = %d, want %d", i, status, want)
		}
		if got := env.srv.TotalRequests(); got != want+fixed {
			t.Fatalf("scrape %d: total requests = %d, want %d status + %d fixed: %v", i, got, want, fixed, env.srv.RequestCounts())
		}
		if got := env.srv.Requests(mmtest.EndpointUsers); got != 0 {
			t.Fatalf("scrape %d requested %d user pages", i, got)
		}
	}
}

// gateLatency blocks status requests until released, counting arrivals.
type gate struct {
	mu      sync.Mutex
	arrived int
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) latency(endpoint string, _ int) time.Duration {
	if endpoint != mmtest.EndpointStatusesByIDs {
		return 0
	}
	g.mu.Lock()
	g.arrived++
	g.mu.Unlock()
	<-g.release
	return 0
}

func TestUsersConcurrentScrapesShareOneSweep(t *testing.T) {
	const n = 3500
	cfg := serialWalkConfig()
	g := newGate()
	users := mmtest.GenerateUsers(n, 7)
	env := newUsersEnv(t, n, cfg, mmtest.Config{Users: users})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv.SetLatency(g.latency)
	env.srv.ResetCounters()

	const scrapes = 20
	results := make([]scrapeResult, scrapes)
	var wg sync.WaitGroup
	for i := 0; i < scrapes; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = scrapeWithTimeout(t, env.c, time.Minute)
		}(i)
	}
	// Every scrape has joined the sweep in flight before it may finish.
	waitFor(t, "20 scrapes waiting on one sweep", func() bool { return env.c.sweep.Stats().Waiting == scrapes })
	close(g.release)
	wg.Wait()

	want := mmtest.CountStatuses(users)
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("scrape %d: %v", i, r.err)
		}
		checkCounts(t, r, want.Humans, want.HumansManual)
	}
	if got, want := env.srv.Requests(mmtest.EndpointStatusesByIDs), int64(ceilDiv(activeHumans(users), cfg.BatchSize)); got != want {
		t.Fatalf("20 concurrent scrapes made %d status requests, want %d (one sweep)", got, want)
	}
	if got := env.srv.TotalRequests(); got != env.srv.Requests(mmtest.EndpointStatusesByIDs) {
		t.Fatalf("unexpected requests: %v", env.srv.RequestCounts())
	}
	ts0, _ := results[0].value("mattermost_users_sweep_timestamp_seconds")
	for i, r := range results {
		if ts, _ := r.value("mattermost_users_sweep_timestamp_seconds"); ts != ts0 {
			t.Fatalf("scrape %d served sweep %v, scrape 0 sweep %v", i, ts, ts0)
		}
	}
}

func TestUsersMaxAgeReusesSweep(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.MaxAge = time.Hour
	env := newUsersEnv(t, 2500, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv.ResetCounters()
	r1 := scrapeWithTimeout(t, env.c, 10*time.Second)
	first := env.srv.TotalRequests()
	r2 := scrapeWithTimeout(t, env.c, 10*time.Second)
	if r1.err != nil || r2.err != nil {
		t.Fatalf("errors: %v, %v", r1.err, r2.err)
	}
	if first == 0 || env.srv.TotalRequests() != first {
		t.Fatalf("second scrape within max-age made %d requests (first %d)", env.srv.TotalRequests()-first, first)
	}
	ts1, _ := r1.value("mattermost_users_sweep_timestamp_seconds")
	ts2, _ := r2.value("mattermost_users_sweep_timestamp_seconds")
	if ts1 != ts2 {
		t.Fatalf("reused sweep timestamps differ: %v vs %v", ts1, ts2)
	}
	if v, _ := r2.value("mattermost_exporter_users_sweeps_reused_total"); v != 1 {
		t.Fatalf("sweeps_reused_total = %v, want 1", v)
	}
}

// hangOneStatusRequest makes the next status request take an hour (the
// server gives up when the client does); it returns the count of requests
// made to hang so far.
func hangOneStatusRequest(srv *mmtest.Server) *atomic.Int64 {
	var seen, hung atomic.Int64
	srv.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointStatusesByIDs && seen.Add(1) == 1 {
			hung.Add(1)
			return time.Hour
		}
		return 0
	})
	return &hung
}

func TestUsersDeadlineServesLastCompleteSweep(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.BatchSize = 500
	cfg.Concurrency = 2
	env := newUsersEnv(t, 5000, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r1 := scrapeWithTimeout(t, env.c, 30*time.Second)
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	ts1, _ := r1.value("mattermost_users_sweep_timestamp_seconds")

	// Change statuses so that a complete new sweep would differ, then make
	// one status request hang: the other batches complete (a partial
	// sweep), the scrape's deadline passes.
	for _, u := range env.users {
		if !u.IsBot && !u.Deactivated {
			env.srv.SetStatus(u.ID, mmclient.StatusDND, true)
		}
	}
	hang := hangOneStatusRequest(env.srv)
	r2 := scrapeWithTimeout(t, env.c, 300*time.Millisecond)
	if r2.err == nil || !errors.Is(r2.err, context.DeadlineExceeded) {
		t.Fatalf("Update error = %v, want a deadline error", r2.err)
	}
	if hang.Load() != 1 {
		t.Fatalf("%d status requests hung, want 1", hang.Load())
	}
	want := mmtest.CountStatuses(env.users)
	checkCounts(t, r2, want.Humans, want.HumansManual) // the previous counts
	if ts2, _ := r2.value("mattermost_users_sweep_timestamp_seconds"); ts2 != ts1 {
		t.Fatalf("served timestamp %v, want the previous sweep's %v", ts2, ts1)
	}
	// The abandoned sweep is cancelled at the scrape's deadline and never
	// becomes the last sweep.
	waitFor(t, "the abandoned sweep to end", func() bool { return float64(env.c.sweep.Stats().Errors) == 1 })
	if last := env.c.sweep.Stats().LastTaken; float64(last.UnixNano())/1e9 != ts1 {
		t.Fatalf("a partial sweep was published")
	}

	// Through the exporter: success 0 for users while counts are served.
	hang = hangOneStatusRequest(env.srv)
	e := NewExporter(Deps{Client: env.client}, map[string]Collector{"users": env.c})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrapeAdapter{e: e, timeout: 300 * time.Millisecond})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expo(`mattermost_exporter_collector_success{collector="users"} 0`)), "mattermost_exporter_collector_success"); err != nil {
		t.Fatal(err)
	}

	// Once the fault is gone, a new sweep serves the new counts.
	if hang.Load() == 0 {
		t.Fatal("no status request hung")
	}
	waitFor(t, "the second abandoned sweep to end", func() bool { return float64(env.c.sweep.Stats().Errors) == 2 })
	r3 := scrapeWithTimeout(t, env.c, 30*time.Second)
	if r3.err != nil {
		t.Fatal(r3.err)
	}
	if v, _ := r3.value("mattermost_users", "status", "dnd"); v != float64(activeHumans(env.users)) {
		t.Fatalf("after recovery dnd = %v, want %d", v, activeHumans(env.users))
	}
}

func TestUsersFirstScrapeDoesNotWaitForWalk(t *testing.T) {
	cfg := serialWalkConfig()
	walkRelease := make(chan struct{})
	defer close(walkRelease)
	env := newUsersEnv(t, 3000, cfg, mmtest.Config{
		Latency: func(endpoint string, _ int) time.Duration {
			if endpoint == mmtest.EndpointUsers {
				<-walkRelease
			}
			return 0
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.c.Start(ctx)
	waitFor(t, "the walk to start", func() bool { return env.srv.Requests(mmtest.EndpointUsers) > 0 })

	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	r := scrapeUsers(sctx, t, env.c)
	if sctx.Err() != nil {
		t.Fatalf("first scrape ran into its deadline")
	}
	if !errors.Is(r.err, ErrNotReady) || !strings.Contains(r.err.Error(), "user id cache not built yet") {
		t.Fatalf("Update error = %v, want the not-ready error", r.err)
	}
	if _, ok := r.families["mattermost_users"]; ok {
		t.Fatalf("counts published before the id cache exists")
	}
	if v, ok := r.value("mattermost_exporter_users_cached"); !ok || v != 0 {
		t.Fatalf("cached = %v (present %v), want 0", v, ok)
	}
	if env.srv.Requests(mmtest.EndpointStatusesByIDs) != 0 {
		t.Fatalf("status requests before the cache exists")
	}

	// Through the exporter: success 0, logged at info level.
	var logs logBuffer
	e := NewExporter(Deps{Client: env.client, Logger: logs.Logger()}, map[string]Collector{"users": env.c})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrapeAdapter{e: e})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expo(`mattermost_exporter_collector_success{collector="users"} 0`)), "mattermost_exporter_collector_success"); err != nil {
		t.Fatal(err)
	}
	if l := logs.LinesContaining("level=info", "user id cache not built yet"); len(l) != 1 {
		t.Fatalf("want one info line about the cache, got %q", logs.String())
	}
	if l := logs.LinesContaining("level=error"); len(l) != 0 {
		t.Fatalf("error lines logged: %q", l)
	}
}

func TestUsersStartBuildsCacheAndStops(t *testing.T) {
	cfg := serialWalkConfig()
	env := newUsersEnv(t, 800, cfg, mmtest.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	env.c.Start(ctx)
	env.c.Start(ctx) // second call: no second loop
	waitFor(t, "the first refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := mmtest.CountStatuses(env.users)
	checkCounts(t, r, want.Humans, want.HumansManual)
	if v, ok := r.value("mattermost_exporter_users_refresh_timestamp_seconds"); !ok || v <= 0 {
		t.Fatalf("refresh timestamp = %v (present %v)", v, ok)
	}
	if v, ok := r.value("mattermost_exporter_users_refresh_requests"); !ok || v != float64(walkPages(800)) {
		t.Fatalf("refresh requests = %v (present %v), want %d pages", v, ok, walkPages(800))
	}
	cancel()
	select {
	case <-env.c.Stopped():
	case <-time.After(30 * time.Second):
		t.Fatal("background loop did not stop")
	}
}

func TestUsersStatsChangeTriggersEarlyRefresh(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Hour
	env := newUsersEnv(t, 1000, cfg, mmtest.Config{}, userids.WithStatsInterval(5*time.Millisecond), userids.WithMinEarlyGap(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.c.Start(ctx)
	waitFor(t, "the first refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 1 })
	before := env.c.ids.Snapshot().IDs.Len()
	// Deactivate one active human: /users/stats changes.
	var victim string
	for _, u := range env.users {
		if !u.IsBot && !u.Deactivated {
			victim = u.ID
			break
		}
	}
	if !env.srv.SetActive(victim, false) {
		t.Fatal("SetActive failed")
	}
	waitFor(t, "an early refresh", func() bool { return float64(env.c.ids.Stats().Refreshes) == 2 })
	if float64(env.c.ids.Stats().EarlyRefreshes) != 1 {
		t.Fatalf("early refreshes = %v, want 1", float64(env.c.ids.Stats().EarlyRefreshes))
	}
	snap := env.c.ids.Snapshot()
	if snap.IDs.Len() != before-1 || slices.Contains(idList(&snap.IDs), victim) {
		t.Fatalf("after the early refresh: %d ids (was %d), victim present: %v", snap.IDs.Len(), before, slices.Contains(idList(&snap.IDs), victim))
	}
	// No change: no further refresh, though stats keep being checked.
	n := env.srv.Requests(mmtest.EndpointUserStats)
	waitFor(t, "more stats checks", func() bool { return env.srv.Requests(mmtest.EndpointUserStats) > n+5 })
	if float64(env.c.ids.Stats().Refreshes) != 2 {
		t.Fatalf("refreshed without a change: %v", float64(env.c.ids.Stats().Refreshes))
	}
}

// statusServer answers POST /users/status/ids with fn's body.
func statusServer(t *testing.T, fn func(ids []string) string) *mmclient.Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/users/status/ids" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s := strings.Trim(string(b), "[]")
		var ids []string
		for _, q := range strings.Split(s, ",") {
			ids = append(ids, strings.Trim(q, `"`))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fn(ids))
	}))
	t.Cleanup(ts.Close)
	c, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: "t", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func st(id, status string, manual bool) string {
	return fmt.Sprintf(`{"user_id":%q,"status":%q,"manual":%v,"last_activity_at":0,"dnd_end_time":0}`, id, status, manual)
}

// collectorWithIDs is a started users collector whose id cache holds n
// test ids (logger may be nil).
func collectorWithIDs(t *testing.T, client *mmclient.Client, cfg UsersConfig, n int, logger log.Logger, sweepOpts ...sweep.Option) *UsersCollector {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = testID(i)
	}
	snap, err := userids.NewSnapshot(ids, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := newUsersCollector(Deps{Client: client, Logger: logger}, cfg, []userids.Option{userids.WithSnapshot(snap)}, sweepOpts...)
	if err != nil {
		t.Fatal(err)
	}
	c.started.Store(true)
	return c
}

// Answers are matched by id, in any order (11.x: cached entries first).
// Requests never repeat an id (the cache is de-duplicated), so 5.37's
// "duplicates as sent" never applies; a repeated id in an answer can only
// stand in for a missing one, which TestUsersSweepRejectsIncompleteOrForeignAnswers covers.
func TestUsersSweepMatchesByIDInAnyOrder(t *testing.T) {
	statuses := []string{"online", "away", "dnd", "offline", "ooo"}
	client := statusServer(t, func(ids []string) string {
		// Reverse order, plus a future status value.
		var parts []string
		for i := len(ids) - 1; i >= 0; i-- {
			var idx int
			if _, err := fmt.Sscanf(ids[i][2:], "%d", &idx); err != nil {
				panic(err) // the test's own ids
			}
			s := statuses[idx%5]
			if idx%11 == 0 {
				s = "in_a_meeting"
			}
			parts = append(parts, st(ids[i], s, idx%2 == 0))
		}
		return "[" + strings.Join(parts, ",") + "]"
	})
	cfg := serialWalkConfig()
	cfg.BatchSize = 7
	cfg.Concurrency = 3
	const n = 100
	c := collectorWithIDs(t, client, cfg, n, nil)
	r := scrapeWithTimeout(t, c, 10*time.Second)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want, wantManual := map[string]int{}, map[string]int{}
	unknown := 0
	for i := 0; i < n; i++ {
		if i%11 == 0 {
			unknown++
			continue
		}
		want[statuses[i%5]]++
		if i%2 == 0 {
			wantManual[statuses[i%5]]++
		}
	}
	checkCounts(t, r, want, wantManual)
	if v, _ := r.value("mattermost_users_unknown_status"); v != float64(unknown) {
		t.Fatalf("unknown_status = %v, want %d", v, unknown)
	}
}

func TestUsersSweepRejectsIncompleteOrForeignAnswers(t *testing.T) {
	cases := []struct {
		name string
		body func(ids []string) string
		want string
	}{
		{"missing id", func(ids []string) string {
			var parts []string
			for _, id := range ids[1:] {
				parts = append(parts, st(id, "online", false))
			}
			return "[" + strings.Join(parts, ",") + "]"
		}, "refusing to publish an undercount"},
		{"repeat instead of an id", func(ids []string) string {
			parts := []string{st(ids[0], "online", false)}
			for _, id := range ids[1:] {
				parts = append(parts, st(id, "online", false))
			}
			parts[1] = st(ids[0], "away", false)
			return "[" + strings.Join(parts, ",") + "]"
		}, "refusing to publish an undercount"},
		{"foreign id", func(ids []string) string {
			parts := []string{st(testID(99999), "online", false)}
			for _, id := range ids {
				parts = append(parts, st(id, "online", false))
			}
			return "[" + strings.Join(parts, ",") + "]"
		}, "that was not in the request"},
		{"statuses disabled", func([]string) string { return "[]" }, "EnableUserStatuses"},
		{"malformed", func(ids []string) string { return `[{"user_id":"` }, "users_status_ids"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := statusServer(t, tc.body)
			cfg := serialWalkConfig()
			cfg.BatchSize = 10
			c := collectorWithIDs(t, client, cfg, 25, nil)
			r := scrapeWithTimeout(t, c, 10*time.Second)
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", r.err, tc.want)
			}
			if _, ok := r.families["mattermost_users"]; ok {
				t.Fatalf("counts published from a bad sweep")
			}
			if v, _ := r.value("mattermost_exporter_users_sweep_errors_total"); v != 1 {
				t.Fatalf("sweep_errors_total = %v, want 1", v)
			}
		})
	}
}

func TestUsersMetricsLint(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.CacheFile = filepath.Join(t.TempDir(), "users.ids") // its metrics too
	env := newUsersEnv(t, 300, cfg, mmtest.Config{})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &usersAdapter{ctx: context.Background(), c: env.c}
	problems, err := testutil.CollectAndLint(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Fatalf("promlint: %v", problems)
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	help := r.families["mattermost_users"].GetHelp()
	if !strings.Contains(help, "new and deactivated users show up at the next id-cache refresh") {
		t.Fatalf("mattermost_users HELP lacks the refresh note: %q", help)
	}
}

func TestUsersFlagsMapOntoConfig(t *testing.T) {
	t.Cleanup(func() {
		if _, err := kingpin.CommandLine.Parse(nil); err != nil {
			t.Error(err)
		}
	})
	client, err := mmclient.New(mmclient.Options{BaseURL: "http://127.0.0.1:1", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kingpin.CommandLine.Parse([]string{"--collector.users.batch-size=20000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Deps{Client: client}); err == nil || !strings.Contains(err.Error(), "--collector.users.batch-size must be between 1 and 10000, got 20000") {
		t.Fatalf("New with batch 20000: err = %v", err)
	}

	if _, err := kingpin.CommandLine.Parse([]string{"--collector.users.walk-concurrency=17"}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Deps{Client: client}); err == nil || !strings.Contains(err.Error(), "--collector.users.walk-concurrency must be between 1 and 16, got 17") {
		t.Fatalf("New with walk concurrency 17: err = %v", err)
	}

	if _, err := kingpin.CommandLine.Parse(nil); err != nil {
		t.Fatal(err)
	}
	e, err := New(Deps{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	uc, ok := e.collectors["users"].(*UsersCollector)
	if !ok {
		t.Fatalf("users collector not enabled by default: %v", e.Collectors())
	}
	if uc.cfg.BatchSize != 1000 || uc.cfg.Concurrency != 4 || uc.cfg.RefreshInterval != 15*time.Minute || uc.cfg.MaxAge != 0 || uc.cfg.IncludeBots ||
		uc.cfg.WalkConcurrency != 4 || uc.cfg.CacheFile != "" {
		t.Fatalf("defaults from flags: %+v", uc.cfg)
	}

	if _, err := kingpin.CommandLine.Parse([]string{"--collector.users.include-bots", "--collector.users.batch-size=500",
		"--collector.users.concurrency=2", "--collector.users.refresh-interval=5m", "--collector.users.max-age=30s",
		"--collector.users.walk-concurrency=3", "--collector.users.cache-file=/var/lib/mmexp/users.ids"}); err != nil {
		t.Fatal(err)
	}
	e, err = New(Deps{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	uc = e.collectors["users"].(*UsersCollector)
	if uc.cfg.BatchSize != 500 || uc.cfg.Concurrency != 2 || uc.cfg.RefreshInterval != 5*time.Minute || uc.cfg.MaxAge != 30*time.Second || !uc.cfg.IncludeBots ||
		uc.cfg.WalkConcurrency != 3 || uc.cfg.CacheFile != "/var/lib/mmexp/users.ids" {
		t.Fatalf("config from flags: %+v", uc.cfg)
	}
}

func TestUsersFailedFirstRefreshIsReported(t *testing.T) {
	srv := mmtest.NewServer(mmtest.Config{Users: mmtest.GenerateUsers(300, 1)})
	t.Cleanup(srv.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: "not-a-valid-token"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUsersCollector(Deps{Client: client}, serialWalkConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)
	waitFor(t, "the first refresh to fail", func() bool { return float64(c.ids.Stats().RefreshErrors) > 0 })
	r := scrapeWithTimeout(t, c, 10*time.Second)
	if !mmclient.IsUnauthorized(r.err) || !errors.Is(r.err, ErrNotReady) || !strings.Contains(r.err.Error(), "refresh failed") {
		t.Fatalf("Update error = %v, want a not-ready error wrapping the 401", r.err)
	}
	if _, ok := r.families["mattermost_users"]; ok {
		t.Fatal("counts without an id cache")
	}
	if v, _ := r.value("mattermost_exporter_users_refresh_errors_total"); v < 1 {
		t.Fatalf("refresh_errors_total = %v", v)
	}
}

// ctxMarkKey marks the context given to Start in TestUsersSweepRunsUnderStartContext.
type ctxMarkKey struct{}

// Status requests of a sweep run under the context given to Start (its
// values reach the transport: the fleet mode's limit on background requests
// relies on it), and stop with it.
func TestUsersSweepRunsUnderStartContext(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Users: mmtest.GenerateUsers(50, 1)})
	var marked, unmarked atomic.Int64
	client, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: mmtest.UserToken,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/users/status/ids") {
				if r.Context().Value(ctxMarkKey{}) != nil {
					marked.Add(1)
				} else {
					unmarked.Add(1)
				}
			}
			return http.DefaultTransport.RoundTrip(r)
		})})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUsersCollector(Deps{Client: client}, serialWalkConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxMarkKey{}, true))
	c.Start(ctx)
	defer func() { cancel(); <-c.Stopped() }()
	waitFor(t, "the id cache", func() bool { return c.ids.Snapshot() != nil })
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := c.Update(sctx, make(chan prometheus.Metric, 1000)); err != nil {
		t.Fatal(err)
	}
	if marked.Load() == 0 || unmarked.Load() != 0 {
		t.Fatalf("status requests under Start's context: %d, under another: %d", marked.Load(), unmarked.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serialWalkConfig is DefaultUsersConfig with one page in flight: the tests
// that count pages and 429s in order were written for a serial walk
// (users_walk_test.go covers concurrent walks).
func serialWalkConfig() UsersConfig {
	cfg := DefaultUsersConfig()
	cfg.WalkConcurrency = 1
	return cfg
}

// TestUsersWalkSkipsMalformedIDs: an account whose id has the right length
// but not the shape of a Mattermost id (a broken or hostile server) is left
// out of the cache, so that it cannot make every status batch it would be
// in fail, sweep after sweep.
func TestUsersWalkSkipsMalformedIDs(t *testing.T) {
	users := mmtest.GenerateUsers(300, 42)
	bad := -1
	for i, u := range users {
		if !u.Deactivated && !u.IsBot {
			bad = i
			break
		}
	}
	users[bad].ID = "ABCDEFGHIJKLMNOPQRSTUVWXY\""
	env := newUsersEnv(t, 0, serialWalkConfig(), mmtest.Config{Users: users})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := env.c.ids.Snapshot()
	if snap.Invalid != 1 || snap.IDs.Len() != activeHumans(users)-1 {
		t.Fatalf("invalid = %d, cached = %d; want 1 and %d", snap.Invalid, snap.IDs.Len(), activeHumans(users)-1)
	}
	r := scrapeWithTimeout(t, env.c, 10*time.Second)
	if r.err != nil {
		t.Fatalf("Update: %v", r.err)
	}
	total := 0.0
	for _, s := range mmclient.KnownStatuses {
		v, _ := r.value("mattermost_users", "status", s)
		total += v
	}
	if total != float64(activeHumans(users)-1) {
		t.Fatalf("mattermost_users sums to %v, want %d", total, activeHumans(users)-1)
	}
}

func TestUsersConfigValidate(t *testing.T) {
	base := DefaultUsersConfig()
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*UsersConfig)
		want string
	}{
		{"batch 0", func(c *UsersConfig) { c.BatchSize = 0 }, "--collector.users.batch-size must be between 1 and 10000, got 0"},
		{"batch too big", func(c *UsersConfig) { c.BatchSize = 10001 }, "--collector.users.batch-size must be between 1 and 10000, got 10001"},
		{"concurrency", func(c *UsersConfig) { c.Concurrency = 0 }, "--collector.users.concurrency must be at least 1"},
		{"refresh", func(c *UsersConfig) { c.RefreshInterval = 0 }, "--collector.users.refresh-interval must be positive"},
		{"max-age", func(c *UsersConfig) { c.MaxAge = -time.Second }, "--collector.users.max-age must not be negative"},
	}
	for _, tc := range cases {
		cfg := base
		tc.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	cfg := base
	cfg.BatchSize = 10000
	if err := cfg.Validate(); err != nil {
		t.Errorf("batch 10000 rejected: %v", err)
	}
}

// testID returns a valid 26-character id derived from i.
func testID(i int) string {
	return fmt.Sprintf("id%024d", i)
}

func idList(u *userids.IDs) []string {
	out := make([]string, u.Len())
	for i := range out {
		out[i] = u.At(i)
	}
	return out
}
