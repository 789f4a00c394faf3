package userids

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func TestPacerSlowsDownOn429AndRecovers(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := &pacer{lim: rate.NewLimiter(rate.Inf, 1), now: func() time.Time { return now }}
	for i := 0; i < 5; i++ {
		if d := p.wait(); d != 0 {
			t.Fatalf("unthrottled pacer waits %s", d)
		}
	}
	p.throttled()
	if l := p.lim.Limit(); l != walkThrottleRate {
		t.Fatalf("rate after a 429 = %v, want %v", l, walkThrottleRate)
	}
	p.throttled()
	if l := p.lim.Limit(); l != walkThrottleRate/2 {
		t.Fatalf("rate after two 429s = %v, want %v", l, walkThrottleRate/2)
	}
	for i := 0; i < 20; i++ {
		p.throttled()
	}
	if l := p.lim.Limit(); l != walkMinRate {
		t.Fatalf("rate after many 429s = %v, want the floor %v", l, walkMinRate)
	}
	// At the floor, consecutive pages are 1/walkMinRate apart.
	p.wait()
	if d := p.wait(); d != 5*time.Second {
		t.Fatalf("wait at the floor = %s, want 5s", d)
	}
	// Recovery: the rate doubles every walkDecayPages clean pages until it
	// passes walkFullRate, then the walk is at full speed.
	pages := 0
	for p.lim.Limit() != rate.Inf && pages < 100 {
		p.ok()
		pages++
	}
	// 0.2 -> 0.4 -> ... -> 51.2 (> 50): 8 doublings.
	if pages != 8*walkDecayPages {
		t.Fatalf("recovery took %d clean pages, want %d", pages, 8*walkDecayPages)
	}
	now = now.Add(time.Hour)
	for i := 0; i < 5; i++ {
		if d := p.wait(); d != 0 {
			t.Fatalf("recovered pacer waits %s", d)
		}
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
func TestWalkBoundedInAccounts(t *testing.T) {
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
			for i := range mmclient.MaxPerPage {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"id":"%026d","username":"u%d","delete_at":0}`, page*mmclient.MaxPerPage+i, page*mmclient.MaxPerPage+i)
			}
			b.WriteByte(']')
			_, _ = io.WriteString(w, b.String())
		}))
		client, err := mmclient.New(mmclient.Options{BaseURL: ts.URL, Token: mmtest.UserToken, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		c := New(client, nil, Config{RefreshInterval: time.Hour, WalkConcurrency: conc}, WithMaxWalkPages(boundPages))
		err = c.Refresh(context.Background())
		// Close waits for the requests still being answered: the counts
		// below are final.
		ts.Close()
		if err == nil || !strings.Contains(err.Error(), "more than 1000 accounts") {
			t.Fatalf("concurrency %d: err = %v, want the account bound", conc, err)
		}
		if c.Snapshot() != nil {
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
