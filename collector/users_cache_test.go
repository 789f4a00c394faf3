package collector

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// testID returns a valid 26-character id derived from i.
func testID(i int) string {
	return fmt.Sprintf("id%024d", i)
}

func TestIDBuilderSortsDeduplicatesAndFiltersBots(t *testing.T) {
	b := newIDBuilder(0)
	// Page order is by username, not id; a repeated account (shifted page)
	// and a bot, repeated too.
	b.add(testID(5), false)
	b.add(testID(1), false)
	b.add(testID(9), true)
	b.add(testID(3), false)
	b.add(testID(1), false) // repeat
	b.add(testID(9), true)  // repeated bot
	b.add("short", false)   // invalid length
	b.add(testID(7), false)
	s := b.build(false)
	if s.invalid != 1 {
		t.Fatalf("invalid = %d, want 1", s.invalid)
	}
	ids, all, bots, dups := s.ids, s.activeAll, s.bots, s.duplicates
	want := []string{testID(1), testID(3), testID(5), testID(7)}
	if got := idList(&ids); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	if all != 5 || bots != 1 || dups != 2 {
		t.Fatalf("activeAll=%d bots=%d dups=%d, want 5, 1, 2", all, bots, dups)
	}

	b = newIDBuilder(0)
	for _, i := range []int{9, 2, 9, 4} {
		b.add(testID(i), i == 9)
	}
	s = b.build(true)
	ids, all, bots, dups = s.ids, s.activeAll, s.bots, s.duplicates
	want = []string{testID(2), testID(4), testID(9)}
	if got := idList(&ids); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("with bots: ids = %v, want %v", got, want)
	}
	if all != 3 || bots != 1 || dups != 1 {
		t.Fatalf("with bots: activeAll=%d bots=%d dups=%d, want 3, 1, 1", all, bots, dups)
	}
}

func TestIDBuilderManyDuplicates(t *testing.T) {
	// Every id three times, bots interleaved.
	b := newIDBuilder(10)
	const n = 2000
	for rep := 0; rep < 3; rep++ {
		for i := n - 1; i >= 0; i-- {
			b.add(testID(i), i%7 == 0)
		}
	}
	s := b.build(false)
	ids, all, bots, dups := s.ids, s.activeAll, s.bots, s.duplicates
	var want []string
	wantBots := 0
	for i := 0; i < n; i++ {
		if i%7 == 0 {
			wantBots++
			continue
		}
		want = append(want, testID(i))
	}
	sort.Strings(want)
	got := idList(&ids)
	if len(got) != len(want) {
		t.Fatalf("len = %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ids[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if all != n || bots != int64(wantBots) || dups != 2*n {
		t.Fatalf("activeAll=%d bots=%d dups=%d, want %d, %d, %d", all, bots, dups, n, wantBots, 2*n)
	}
}

func idList(u *userIDs) []string {
	out := make([]string, u.Len())
	for i := range out {
		out[i] = u.At(i)
	}
	return out
}

// TestIDCacheMemoryPerUser checks the storage arithmetic of the id cache: the
// cache of 100,000 users is one string of exactly 26 bytes per id, and the
// live heap it retains after the build's garbage is collected stays well
// under 100 bytes per user.
func TestIDCacheMemoryPerUser(t *testing.T) {
	const n = 100_000
	src := make([]string, n)
	for i := range src {
		src[i] = testID(i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := newIDBuilder(n)
	for i := n - 1; i >= 0; i-- {
		b.add(src[i], false)
	}
	snap := b.build(false)
	snap.finished = time.Now()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := snap.ids.SizeBytes(); got != n*mmclient.UserIDLen {
		t.Fatalf("cache storage = %d bytes, want %d (26 per id)", got, n*mmclient.UserIDLen)
	}
	if snap.ids.Len() != n {
		t.Fatalf("Len = %d, want %d", snap.ids.Len(), n)
	}
	delta := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	perUser := float64(delta) / n
	t.Logf("live heap retained by a cache of %d ids: %d bytes (%.1f bytes/user)", n, delta, perUser)
	if perUser >= 100 {
		t.Fatalf("cache retains %.1f bytes per user, want well under 100", perUser)
	}
	runtime.KeepAlive(snap)
	runtime.KeepAlive(src)
}

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
