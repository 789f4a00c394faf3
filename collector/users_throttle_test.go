package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Tests of the walk's pacing against 429s, on a fake clock: the walk's sleeps
// advance it at once, so the tests take no real time.

// walkClock replaces the walk's clock; sleeps are recorded.
type walkClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func installWalkClock(c *UsersCollector) *walkClock {
	f := &walkClock{t: time.Unix(1e9, 0)}
	c.cache.now = f.now
	c.cache.sleep = f.sleep
	return f
}

func (f *walkClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *walkClock) sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		f.mu.Lock()
		f.t = f.t.Add(d)
		f.slept = append(f.slept, d)
		f.mu.Unlock()
	}
	return ctx.Err()
}

func (f *walkClock) sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// codeRecorder remembers the status code a handler wrote.
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (r *codeRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *codeRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// TestUsersWalkSeesEvery429 walks with a client that keeps its default 429
// retries (3 per call): the walk's page requests opt out of them, so every
// 429 the server answers is a throttled page of the walk (none is absorbed
// by a hidden client retry) and each is followed by its Retry-After wait.
func TestUsersWalkSeesEvery429(t *testing.T) {
	const n = 3000
	users := mmtest.GenerateUsers(n, 42)
	fake := mmtest.New(mmtest.Config{Users: users})
	var users429, usersReqs atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &codeRecorder{ResponseWriter: w}
		fake.Handler().ServeHTTP(rec, r)
		if r.URL.Path == "/api/v4/users" {
			usersReqs.Add(1)
			if rec.code == http.StatusTooManyRequests {
				users429.Add(1)
			}
		}
	}))
	t.Cleanup(ts.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken}) // default retries
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUsersCollector(Deps{Client: client}, serialWalkConfig())
	if err != nil {
		t.Fatal(err)
	}
	clock := installWalkClock(c)

	// More 429s in a row than the client's retries would absorb (3).
	fake.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 3, Times: 4})
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.cache.snap.Load().ids.Len(); got != activeHumans(users) {
		t.Fatalf("cached %d, want %d", got, activeHumans(users))
	}
	if got := users429.Load(); got != 4 {
		t.Fatalf("server answered %d 429s, want 4", got)
	}
	if got := counterValue(c.cache.throttled); got != float64(users429.Load()) {
		t.Fatalf("walk saw %v throttled pages, server answered %d 429s (hidden client retries?)", got, users429.Load())
	}
	if got, want := usersReqs.Load(), int64(walkPages(n)+4); got != want {
		t.Fatalf("page requests = %d, want %d (pages + 429s)", got, want)
	}
	r := scrapeUsers(context.Background(), t, c)
	if v, ok := r.value("mattermost_exporter_users_refresh_throttled_total"); !ok || v != 4 {
		t.Fatalf("mattermost_exporter_users_refresh_throttled_total = %v (present %v), want 4", v, ok)
	}
	// The walk, not the client, waited: 3 s (Retry-After) four times.
	waits := 0
	for _, d := range clock.sleeps() {
		if d == 3*time.Second {
			waits++
		}
	}
	if waits != 4 {
		t.Fatalf("Retry-After waits = %d, want 4; sleeps %v", waits, clock.sleeps())
	}
}

// pageTimes records, on the fake clock, when each GET /users page was asked.
func pageTimes(srv *mmtest.Server, clock *walkClock) func() []time.Time {
	var mu sync.Mutex
	var times []time.Time
	srv.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointUsers {
			mu.Lock()
			times = append(times, clock.now())
			mu.Unlock()
		}
		return 0
	})
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), times...)
	}
}

// After 429s the walk waits Retry-After, then paces its pages (at most 5/s
// after the first 429, slower after more), and speeds up again to full
// speed once the pressure is gone.
func TestUsersWalkRateLimitedSlowsDownAndRecovers(t *testing.T) {
	cfg := serialWalkConfig()
	env := newUsersEnv(t, 8000, cfg, mmtest.Config{})
	clock := installWalkClock(env.c)
	times := pageTimes(env.srv, clock) // answered pages only: a 429 answers before the latency model
	env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 2, Times: 3})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.c.cache.snap.Load().ids.Len(); got != activeHumans(env.users) {
		t.Fatalf("cached %d, want %d", got, activeHumans(env.users))
	}
	if got := counterValue(env.c.cache.throttled); got != 3 {
		t.Fatalf("throttles = %v, want 3", got)
	}
	ts := times()
	if len(ts) != walkPages(8000) {
		t.Fatalf("%d answered pages, want %d", len(ts), walkPages(8000))
	}
	// Three 2 s waits before the first answered page.
	if d := ts[0].Sub(time.Unix(1e9, 0)); d < 6*time.Second {
		t.Fatalf("first page answered %s after the start, want at least 3 Retry-After waits of 2 s", d)
	}
	// Paced: after three 429s, pages at most 1.25/s, then faster and faster,
	// never slower.
	gaps := make([]time.Duration, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]))
	}
	if gaps[0] < 800*time.Millisecond {
		t.Fatalf("first gaps after the 429s = %v, want at least 800 ms (1.25 pages/s)", gaps[:3])
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] > gaps[i-1] {
			t.Fatalf("the walk slowed down without a 429: gaps %v", gaps)
		}
	}
	// Back to full speed: the last pages are not paced.
	if last := gaps[len(gaps)-5:]; last[0] != 0 || last[4] != 0 {
		t.Fatalf("the walk did not recover its speed: gaps %v", gaps)
	}
}

// A Retry-After far in the future (an HTTP date) is capped: the walk does
// not stall.
func TestUsersWalkCapsRetryAfter(t *testing.T) {
	users := mmtest.GenerateUsers(1000, 5)
	fake := mmtest.New(mmtest.Config{Users: users})
	var sent atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/users" && sent.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", time.Now().Add(365*24*time.Hour).UTC().Format(http.TimeFormat))
			http.Error(w, "limit exceeded", http.StatusTooManyRequests)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUsersCollector(Deps{Client: client}, serialWalkConfig())
	if err != nil {
		t.Fatal(err)
	}
	clock := installWalkClock(c)
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := clock.sleeps(); len(s) == 0 || s[0] != walkMaxWait {
		t.Fatalf("sleeps = %v, want a first wait of %s (the cap)", s, walkMaxWait)
	}
}

// After walkMaxThrottles 429s in a row the walk gives up; one fewer and it
// completes.
func TestUsersWalkGivesUpAfterConsecutive429s(t *testing.T) {
	for _, times := range []int{walkMaxThrottles, walkMaxThrottles + 1} {
		env := newUsersEnv(t, 500, serialWalkConfig(), mmtest.Config{})
		installWalkClock(env.c)
		env.srv.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 1, Times: times})
		err := env.c.Refresh(context.Background())
		if times == walkMaxThrottles {
			if err != nil {
				t.Fatalf("%d 429s in a row: %v", times, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "rate limited 21 times in a row") {
			t.Fatalf("%d 429s in a row: err = %v, want the walk to give up", times, err)
		}
		if env.c.cache.snap.Load() != nil {
			t.Fatal("a failed walk published a snapshot")
		}
	}
}

// A server (or proxy) ignoring ?page answers page 0 every time: the walk
// notices instead of looping forever.
func TestUsersWalkDetectsServerIgnoringPage(t *testing.T) {
	if p := walkIgnoringPage(t, serialWalkConfig(), 50); p != 2 {
		t.Fatalf("walk asked %d pages, want 2", p)
	}
}

// walkIgnoringPage walks (with cfg) a fake behind a proxy that drops
// ?page, insists that the walk fails with the paging-loop guard, and
// returns how many pages it asked (the proxy refuses more than limit, to
// bound the test if the guard is gone).
func walkIgnoringPage(t *testing.T, cfg UsersConfig, limit int64) int64 {
	t.Helper()
	fake := mmtest.New(mmtest.Config{Users: mmtest.GenerateUsers(1000, 9)})
	var pages atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/users" {
			if pages.Add(1) > limit {
				http.Error(w, "too many pages", http.StatusInternalServerError)
				return
			}
			q := r.URL.Query()
			q.Del("page")
			r.URL.RawQuery = q.Encode()
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not page") {
		t.Fatalf("err = %v, want the paging-loop guard", err)
	}
	return pages.Load()
}

// TestUsersWalkFitsRealLimiter runs a walk against the fake's token bucket
// with real sleeps: after the burst is spent the walk slows down and
// completes.
func TestUsersWalkFitsRealLimiter(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps about 4 s")
	}
	cfg := serialWalkConfig()
	// 6 tokens, refilled at 4/s: the first 429 comes as soon as 7 requests
	// take less than about 1.5 s (pages take milliseconds here); once paced
	// at 5/s, then slower, the walk needs only 15 more pages after its 1 s
	// Retry-After wait.
	env := newUsersEnv(t, 4000, cfg, mmtest.Config{RateLimit: &mmtest.RateLimit{PerSec: 4, Burst: 5}})
	if err := env.c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.c.cache.snap.Load().ids.Len(); got != activeHumans(env.users) {
		t.Fatalf("cached %d, want %d", got, activeHumans(env.users))
	}
	th := counterValue(env.c.cache.throttled)
	if th < 1 || th > 4 {
		t.Fatalf("walk was throttled %v times; want at least one 429 (6 tokens < 21 pages) and at most 4 (then it paces itself)", th)
	}
}

// A server whose GET /users never ends (every page full of new accounts)
// fails the walk at the page bound instead of growing the cache without
// limit.
//
// With 4 workers the pages asked depend on scheduling: the walk fails at
// the first full page at or past the bound (page 4 here) that a worker
// adds, and a worker may have been handed page 1 and not sent it yet when
// that happens (then it never does). What holds whatever the scheduling:
// a page past the bound was answered, no page beyond the 4 workers'
// reach was asked, and nothing was published.
func TestUsersWalkBoundedInAccounts(t *testing.T) {
	const boundPages = 5 // maxWalkPages: 1000 accounts
	for _, conc := range []int{1, 4} {
		var mu sync.Mutex
		asked := map[int]int{} // page number -> requests
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v4/users" {
				http.NotFound(w, r)
				return
			}
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			mu.Lock()
			asked[page]++
			n := len(asked)
			mu.Unlock()
			if n > 50 { // the bound is broken: end the walk anyway
				http.Error(w, "too many pages", http.StatusInternalServerError)
				return
			}
			var b strings.Builder
			b.WriteByte('[')
			for i := range walkPerPage {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"id":"%026d","username":"u%d","delete_at":0}`, page*walkPerPage+i, page*walkPerPage+i)
			}
			b.WriteByte(']')
			_, _ = io.WriteString(w, b.String())
		}))
		client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultUsersConfig()
		cfg.WalkConcurrency = conc
		c, err := NewUsersCollector(Deps{Client: client}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.cache.maxWalkPages = boundPages
		err = c.Refresh(context.Background())
		// Close waits for the requests still being answered: the counts
		// below are final.
		ts.Close()
		if err == nil || !strings.Contains(err.Error(), "more than 1000 accounts") {
			t.Fatalf("concurrency %d: err = %v, want the account bound", conc, err)
		}
		if c.cache.snap.Load() != nil {
			t.Errorf("concurrency %d: a partial cache was published", conc)
		}
		mu.Lock()
		total, past, beyond := 0, 0, 0
		for page, n := range asked {
			total += n
			if page >= boundPages-1 {
				past += n
			}
			if page >= boundPages-1+conc {
				beyond += n
			}
		}
		mu.Unlock()
		// Each worker holds one page at a time and every full page at or
		// past the bound fails the walk: once the pages before it are
		// handed out, the workers can have asked at most conc more.
		if past == 0 || beyond != 0 || total > boundPages-1+conc {
			t.Errorf("concurrency %d: pages asked %v; want one at page %d or later, none at %d or later, at most %d in all",
				conc, asked, boundPages-1, boundPages-1+conc, boundPages-1+conc)
		}
		if conc == 1 && total != boundPages {
			t.Errorf("one worker: %d pages asked, want %d", total, boundPages)
		}
	}
}

// GET /users/stats sizes the first walk's builder, but a server claiming
// a huge count makes it reserve room for at most maxStatsHint accounts,
// and a negative count (whose size arithmetic would overflow to the
// walk's 50,000,000-account bound) is refused.
func TestUsersWalkSizedFromStatsBounded(t *testing.T) {
	for _, claim := range []string{"1000000000000", "-9223372036854775808"} {
		t.Run(claim, func(t *testing.T) {
			fake := mmtest.New(mmtest.Config{Users: mmtest.GenerateUsers(10, 3)})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/v4/users/stats" {
					_, _ = io.WriteString(w, `{"total_users_count":`+claim+`}`)
					return
				}
				fake.Handler().ServeHTTP(w, r)
			}))
			t.Cleanup(ts.Close)
			client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewUsersCollector(Deps{Client: client}, serialWalkConfig())
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := c.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			// maxStatsHint accounts of 27 bytes are 57 MB; the walk's own
			// bound (maxCachedIDs) would be 1.35 GB.
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(200<<20); got > limit {
				t.Errorf("the walk allocated %d MB, want at most %d", got>>20, limit>>20)
			}
			// 10 accounts, some of them deactivated.
			if n := c.cache.snap.Load().activeAll; n < 1 || n > 10 {
				t.Errorf("the walk saw %d active accounts, want 1 to 10", n)
			}
		})
	}
}
