package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

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
// by a hidden client retry) and the walk's pacing engages at the first one.
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
	c, err := NewUsersCollector(Deps{Client: client}, DefaultUsersConfig())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var slept []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}

	// More 429s in a row than the client's retries would absorb (3), then
	// one more on a later page.
	fake.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 1, Times: 4})
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.cache.Load().ids.Len(); got != activeHumans(users) {
		t.Fatalf("cached %d, want %d", got, activeHumans(users))
	}
	if got := users429.Load(); got != 4 {
		t.Fatalf("server answered %d 429s, want 4", got)
	}
	if got := c.walkThrottles.Load(); got != users429.Load() {
		t.Fatalf("walk saw %d throttled pages, server answered %d 429s (hidden client retries?)", got, users429.Load())
	}
	if got, want := usersReqs.Load(), int64(walkPages(n)+4); got != want {
		t.Fatalf("page requests = %d, want %d (pages + 429s)", got, want)
	}
	r := scrapeUsers(t, context.Background(), c)
	if v, ok := r.value("mattermost_exporter_users_refresh_throttled_total"); !ok || v != 4 {
		t.Fatalf("mattermost_exporter_users_refresh_throttled_total = %v (present %v), want 4", v, ok)
	}

	// The walk, not the client, waited: Retry-After (1 s) after each 429,
	// with the page delay growing from 200 ms, then paced pages whose delay
	// halves every walkDecayPages clean pages.
	mu.Lock()
	got := slept
	mu.Unlock()
	want := []time.Duration{
		time.Second, 200 * time.Millisecond,
		time.Second, 400 * time.Millisecond,
		time.Second, 800 * time.Millisecond,
		time.Second,
	}
	for i := 0; i < walkPages(n); i++ {
		if d := (1600 * time.Millisecond) >> (i / walkDecayPages); d >= walkMinDelay {
			want = append(want, d)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("sleeps = %v\nwant     %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sleeps = %v\nwant     %v", got, want)
		}
	}

	// A second walk with one 429: the counter accumulates, still one
	// throttled page per 429 answered.
	before := c.walkThrottles.Load()
	fake.SetFault(mmtest.EndpointUsers, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 1, Times: 1})
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.walkThrottles.Load() - before; got != 1 || users429.Load() != 5 {
		t.Fatalf("second walk: %d throttled pages, server answered %d 429s in total, want 1 and 5", got, users429.Load())
	}
}
