package e2e

// The churn test (issue 28, item 1): the fake Mattermost is changed
// continuously, the way people and admins change a real one, while the
// real exporter binary watches it, and quiet checkpoints compare the
// exporter's /metrics with the fake's truth at that moment.
//
// The bound it holds is the one docs/operations.md ("Correctness bounds
// under change") states: status changes are exact at the next scrape;
// account changes (creation, deactivation, reactivation, rename, hard
// deletion, bots) are exact within --collector.users.refresh-interval plus
// two walk durations of the last one (the walk in progress, then the next
// one; collector/users_refresh.go), and until then each change recent
// enough to be unseen moves the counts by at most 1 + the walk concurrency
// (soakPerChange).
//
// `make test` runs it for 60 s; `make soak` for MMEXP_SOAK_DURATION
// (default 30m) and also requires RSS, heap, goroutines and open file
// descriptors to stay flat (a least-squares slope over the run).

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	soakShortDuration = 60 * time.Second
	soakUsersN        = 3000 // 15 pages of 200: renames cross many pages
	soakRefresh       = 3 * time.Second
	// soakSlack is added to the bound for a test machine under load
	// (timers slip, the exporter waits for CPU); the figures reported are
	// the measured lags, not the bound.
	soakSlack = 8 * time.Second
	// soakPerChange: an account change not yet seen moves the counts by at
	// most this much in all: the account itself (counted when it should not
	// be, or missing), and one neighbour skipped at each page boundary a
	// walk crossed while the listing shifted under it; pages are read 4 at
	// a time (--collector.users.walk-concurrency), so up to 4 boundaries.
	soakPerChange = 1 + 4
)

// soakDuration is MMEXP_SOAK_DURATION (set by `make soak`), else the short
// run of `make test`.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("MMEXP_SOAK_DURATION")
	if v == "" {
		return soakShortDuration
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("MMEXP_SOAK_DURATION=%q: want a positive duration such as 30m", v)
	}
	return d
}

// churner changes the fake through its API. Every change holds gate's read
// lock; a checkpoint takes the write lock, so that it sees a still world.
type churner struct {
	fake *mmtest.Server
	api  *mmclient.Client // a system admin's session, as people and admins use
	gate sync.RWMutex

	mu      sync.Mutex
	changes []time.Time // account changes, oldest first
	ops     map[string]int

	statusOps, statusErrs atomic.Int64
	accountsOn            atomic.Bool
	seq                   atomic.Int64
}

func newChurner(t *testing.T, fake *mmtest.Server) *churner {
	api, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.AdminToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &churner{fake: fake, api: api, ops: map[string]int{}}
}

// accountChange records one account change that just completed.
func (c *churner) accountChange(kind string) {
	c.mu.Lock()
	c.changes = append(c.changes, time.Now())
	if len(c.changes) > 100000 {
		c.changes = append([]time.Time(nil), c.changes[50000:]...)
	}
	c.ops[kind]++
	c.mu.Unlock()
}

// since returns the account changes after t and the time of the last one
// (zero if none).
func (c *churner) since(t time.Time) (n int, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.changes) - 1; i >= 0 && c.changes[i].After(t); i-- {
		n++
	}
	if len(c.changes) > 0 {
		last = c.changes[len(c.changes)-1]
	}
	return n, last
}

// statusLoop changes a status every 20 ms (about 40 a second with the
// checkpoints' pauses): half through PUT /users/{id}/status as a person
// does (away, dnd and offline manual, online automatic), half as the
// server's own automatic changes (online, away, offline, and ooo).
func (c *churner) statusLoop(ctx context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ids []string
	for i := 0; ctx.Err() == nil; i++ {
		if i%200 == 0 {
			ids = ids[:0]
			for _, u := range c.fake.Users() {
				ids = append(ids, u.ID)
			}
		}
		time.Sleep(20 * time.Millisecond)
		c.gate.RLock()
		id := ids[rng.IntN(len(ids))]
		if rng.IntN(2) == 0 {
			st := []string{mmclient.StatusOnline, mmclient.StatusAway, mmclient.StatusDND, mmclient.StatusOffline}[rng.IntN(4)]
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := c.api.UpdateUserStatus(rctx, id, st, 0); err != nil && ctx.Err() == nil {
				c.statusErrs.Add(1) // a hard-deleted account: Mattermost refuses too
			}
			cancel()
		} else {
			st := []string{mmclient.StatusOnline, mmclient.StatusAway, mmclient.StatusOffline, mmclient.StatusOOO}[rng.IntN(4)]
			c.fake.SetStatusAt(id, st, st == mmclient.StatusOOO, time.Now().UnixMilli())
		}
		c.statusOps.Add(1)
		c.gate.RUnlock()
	}
}

// accountLoop makes an account change every 150 ms while accountsOn:
// deactivations and reactivations (PUT /users/{id}/active), new accounts,
// renames from one end of the username order to the other (PUT
// /users/{id}/patch), permanent deletions (DELETE /users/{id}?permanent=true)
// and new bots.
func (c *churner) accountLoop(ctx context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for ctx.Err() == nil {
		time.Sleep(150 * time.Millisecond)
		if !c.accountsOn.Load() {
			continue
		}
		c.gate.RLock()
		if kind := c.accountOp(ctx, rng); kind != "" {
			c.accountChange(kind)
		}
		c.gate.RUnlock()
	}
}

func (c *churner) accountOp(ctx context.Context, rng *rand.Rand) string {
	users := c.fake.Users()
	pick := func(ok func(u mmtest.UserSpec) bool) (int, bool) {
		for range 50 {
			if i := rng.IntN(len(users)); ok(users[i]) {
				return i, true
			}
		}
		return 0, false
	}
	n := c.seq.Add(1)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch k := rng.IntN(100); {
	case k < 25: // deactivation
		if i, ok := pick(func(u mmtest.UserSpec) bool { return !u.Deactivated && !u.IsBot }); ok && c.api.UpdateUserActive(rctx, users[i].ID, false) == nil {
			return "deactivate"
		}
	case k < 45: // reactivation
		if i, ok := pick(func(u mmtest.UserSpec) bool { return u.Deactivated }); ok && c.api.UpdateUserActive(rctx, users[i].ID, true) == nil {
			return "reactivate"
		}
	case k < 65: // a new account, sometimes already online
		st := ""
		if rng.IntN(3) == 0 {
			st = mmclient.StatusOnline
		}
		c.fake.AddUsers([]mmtest.UserSpec{{ID: fmt.Sprintf("soaknew%019d", n), Username: fmt.Sprintf("new%06d", n), Status: st, LastActivityAt: time.Now().UnixMilli()}})
		return "create"
	case k < 85: // a rename across page boundaries: to the other end of the order
		i := rng.IntN(len(users))
		name := fmt.Sprintf("aa-renamed%06d", n)
		if i < len(users)/2 {
			name = fmt.Sprintf("zz-renamed%06d", n)
		}
		if c.admin(rctx, http.MethodPut, "/users/"+users[i].ID+"/patch", `{"username":"`+name+`"}`) == nil {
			return "rename"
		}
	case k < 93: // a permanent deletion
		if i, ok := pick(func(u mmtest.UserSpec) bool { return true }); ok && c.admin(rctx, http.MethodDelete, "/users/"+users[i].ID+"?permanent=true", "") == nil {
			return "delete"
		}
	default: // a bot
		c.fake.AddUsers([]mmtest.UserSpec{{ID: fmt.Sprintf("soakbot%019d", n), Username: fmt.Sprintf("bot-new%06d", n), IsBot: true, Status: mmclient.StatusOnline}})
		return "bot"
	}
	return ""
}

// admin sends one request of the account administration API (PUT
// /users/{id}/patch, DELETE /users/{id}) with the admin's token.
func (c *churner) admin(ctx context.Context, method, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.fake.URL+"/api/v4"+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+mmtest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return nil
}

// soakCheckpoint is one comparison of the exporter with the truth.
type soakCheckpoint struct {
	at            time.Time
	served, truth map[string]int
	diff          int
	walk          float64 // mattermost_exporter_users_refresh_duration_seconds
	rss, heap     float64
	goroutines    float64
	fds           float64
}

// checkpoint stops every change, reads the truth and scrapes once.
func (c *churner) checkpoint(addr string) (soakCheckpoint, error) {
	c.gate.Lock()
	defer c.gate.Unlock()
	cp := soakCheckpoint{at: time.Now(), truth: c.fake.Counts().Humans}
	mfs, err := soakScrape(addr)
	if err != nil {
		return cp, err
	}
	served, ok := soakUsers(mfs)
	if !ok {
		return cp, fmt.Errorf("the users collector failed or exported no counts")
	}
	cp.served, cp.diff = served, soakL1(served, cp.truth)
	cp.walk, _ = hostileValue(mfs, "mattermost_exporter_users_refresh_duration_seconds")
	cp.rss, _ = hostileValue(mfs, "process_resident_memory_bytes")
	cp.heap, _ = hostileValue(mfs, "go_memstats_heap_alloc_bytes")
	cp.goroutines, _ = hostileValue(mfs, "go_goroutines")
	cp.fds, _ = hostileValue(mfs, "process_open_fds")
	return cp, nil
}

// soakIdleConnsPerHost is mmclient's MaxIdleConnsPerHost: the kept-alive
// connections to one Mattermost the exporter may hold while idle.
var soakIdleConnsPerHost = mmclient.NewTransport().MaxIdleConnsPerHost

func TestSoakChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test skipped in -short mode")
	}
	dur := soakDuration(t)
	long := dur >= 10*time.Minute
	users := mmtest.GenerateUsers(soakUsersN, 28)
	fake := mmtest.NewServer(mmtest.Config{Users: users, Nodes: mmtest.DemoNodes(2, 0, 0)})
	t.Cleanup(fake.Close)
	// Pages take a little time, so that walks overlap account changes.
	fake.SetLatency(func(ep string, _ int) time.Duration {
		if ep == mmtest.EndpointUsers {
			return 15 * time.Millisecond
		}
		return 0
	})
	p := goldenStartExporter(t, fake.URL, mmtest.AdminToken,
		"--collector.users.refresh-interval="+soakRefresh.String(), "--log.level=info")
	soakWaitExact(t, p.addr, fake, 60*time.Second, "the fake's counts served", nil)

	c := newChurner(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { c.statusLoop(ctx, uint64(100+i)) })
	}
	wg.Go(func() { c.accountLoop(ctx, 7) })
	defer func() {
		cancel()
		wg.Wait()
	}()

	const burst = 5 * time.Second
	var (
		res                         = map[string]*soakSeries{"rss": {}, "heap": {}, "goroutines": {}, "fds": {}}
		checkpoints, exact, settles int
		worstLag, worstWalk         time.Duration
		lags                        []time.Duration
		worstDiff                   int
		worstPerChange              float64
		start                       = time.Now()
		burstStart                  = start
		nextProgress                = start.Add(time.Minute)
		bound                       = soakRefresh + soakSlack
		statusAtStart               = c.statusOps.Load()
		settling                    bool
		settleBegun                 time.Time
	)
	c.accountsOn.Store(true)
	for time.Since(start) < dur || settling {
		if settling {
			time.Sleep(500 * time.Millisecond)
		} else {
			time.Sleep(2 * time.Second)
		}
		cp, err := c.checkpoint(p.addr)
		if err != nil {
			t.Fatalf("checkpoint %d: %v", checkpoints+1, err)
		}
		checkpoints++
		if w := time.Duration(cp.walk * float64(time.Second)); w > worstWalk {
			worstWalk = w
			bound = soakRefresh + 2*worstWalk + soakSlack
		}
		at := cp.at.Sub(start)
		res["rss"].add(at, cp.rss)
		res["heap"].add(at, cp.heap)
		res["goroutines"].add(at, cp.goroutines)
		res["fds"].add(at, cp.fds)
		recent, last := c.since(cp.at.Add(-bound))
		worstDiff = max(worstDiff, cp.diff)
		if recent > 0 {
			worstPerChange = max(worstPerChange, float64(cp.diff)/float64(recent))
		}
		switch {
		case cp.diff == 0:
			exact++
		case last.IsZero() || cp.at.Sub(last) > bound:
			t.Fatalf("checkpoint %d (%s in): served %s, truth %s: not exact %s after the last account change (bound %s = refresh interval %s + 2 walks of %s + %s slack)",
				checkpoints, at.Round(time.Second), soakFmt(cp.served), soakFmt(cp.truth), cp.at.Sub(last).Round(time.Millisecond), bound, soakRefresh, worstWalk, soakSlack)
		case cp.diff > soakPerChange*recent:
			t.Fatalf("checkpoint %d (%s in): served %s, truth %s: off by %d with %d account changes in the last %s (at most %d each)",
				checkpoints, at.Round(time.Second), soakFmt(cp.served), soakFmt(cp.truth), cp.diff, recent, bound, soakPerChange)
		}
		switch {
		case !settling && time.Since(burstStart) >= burst:
			// End of a burst of account changes: measure how long the
			// exporter takes to be exact again (statuses keep changing).
			c.accountsOn.Store(false)
			settling, settleBegun = true, time.Now()
		case settling && cp.diff == 0:
			_, last := c.since(time.Time{})
			lag := cp.at.Sub(last)
			lags = append(lags, lag)
			worstLag = max(worstLag, lag)
			settles++
			settling = false
			if time.Since(start) < dur {
				c.accountsOn.Store(true)
				burstStart = time.Now()
			}
		case settling && time.Since(settleBegun) > 2*bound:
			t.Fatalf("not exact %s after a burst of account changes: served %s, truth %s", time.Since(settleBegun).Round(time.Second), soakFmt(cp.served), soakFmt(cp.truth))
		}
		if long && time.Now().After(nextProgress) {
			nextProgress = nextProgress.Add(time.Minute)
			t.Logf("soak %s: %d checkpoints, %d exact, worst lag %s, rss %.1f MiB, heap %.1f MiB, goroutines %.0f, fds %.0f",
				at.Round(time.Second), checkpoints, exact, worstLag.Round(time.Millisecond), cp.rss/(1<<20), cp.heap/(1<<20), cp.goroutines, cp.fds)
		}
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	if p.exited() {
		t.Fatalf("the exporter exited: %v", p.waitErr)
	}

	c.mu.Lock()
	ops := fmt.Sprint(c.ops)
	nChanges := len(c.changes)
	c.mu.Unlock()
	statusOps := c.statusOps.Load() - statusAtStart
	t.Logf("soak summary: %s, %d checkpoints (%d exact), %d status changes (%.1f/s, %d refused for deleted accounts), %d account changes %s",
		elapsed.Round(time.Second), checkpoints, exact, statusOps, float64(statusOps)/elapsed.Seconds(), c.statusErrs.Load(), nChanges, ops)
	t.Logf("soak summary: %d bursts settled, worst lag after the last account change %s (bound %s: refresh %s + 2 x worst walk %s + %s slack), lags %v, worst difference during bursts %d (%.2f per account change of the bound's window, limit %d)",
		settles, worstLag.Round(time.Millisecond), bound, soakRefresh, worstWalk.Round(time.Millisecond), soakSlack, soakRound(lags), worstDiff, worstPerChange, soakPerChange)
	for _, name := range []string{"rss", "heap", "goroutines", "fds"} {
		s := res[name]
		unit, scale := "", 1.0
		if name == "rss" || name == "heap" {
			unit, scale = " MiB", 1<<20
		}
		t.Logf("soak summary: %-10s start %.1f%s, end %.1f%s (means of the first and last tenth; idle floor %.1f -> %.1f), slope %+.3f%s/h (after the first 20%%), median %.1f%s",
			name, s.first()/scale, unit, s.last()/scale, unit, s.floor(false)/scale, s.floor(true)/scale, s.slope(0.2)*3600/scale, unit, s.median(0.2)/scale, unit)
	}

	if statusOps < int64(10*elapsed.Seconds()) {
		t.Errorf("only %d status changes in %s: want tens a second", statusOps, elapsed.Round(time.Second))
	}
	if settles < 3 || nChanges < 30 {
		t.Errorf("only %d bursts settled and %d account changes: the churn did not churn", settles, nChanges)
	}
	// Leaks: the idle level of goroutines and descriptors must come back
	// to where it was, but for the client's pool of kept-alive
	// connections to the fake, which fills as the churn varies the
	// requests in flight: at most soakIdleConnsPerHost connections (mmclient's
	// MaxIdleConnsPerHost), each one descriptor and two goroutines (its read
	// and write loops). A goroutine that grows without a connection still
	// fails at 5; the long run judges the slope.
	g, f := res["goroutines"], res["fds"]
	dg, df := g.floor(true)-g.floor(false), f.floor(true)-f.floor(false)
	if df > float64(soakIdleConnsPerHost+2) || dg > 2*max(df, 0)+5 {
		t.Errorf("idle goroutines %.0f -> %.0f, idle fds %.0f -> %.0f: growing beyond the connection pool (at most %d connections, 2 goroutines each)",
			g.floor(false), g.floor(true), f.floor(false), f.floor(true), soakIdleConnsPerHost)
	}
	if !long {
		return
	}
	// The long run: flat, judged by the slope over the run after the
	// warm-up, as growth over the whole run.
	span := elapsed.Seconds() * 0.8
	for _, lim := range []struct {
		name   string
		growth float64
	}{
		{"goroutines", 5},
		{"fds", 5},
		{"rss", max(16<<20, 0.25*res["rss"].median(0.2))},
		{"heap", max(8<<20, 0.5*res["heap"].median(0.2))},
	} {
		if g := res[lim.name].slope(0.2) * span; g > lim.growth {
			t.Errorf("%s grows by %.0f over the run by its slope (limit %.0f)", lim.name, g, lim.growth)
		}
	}
}

func soakRound(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	if len(out) > 20 {
		out = out[len(out)-20:]
	}
	return out
}
