package userids

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// testID returns a valid 26-character id derived from i.
func testID(i int) string {
	return fmt.Sprintf("id%024d", i)
}

func TestIDBuilderSortsDeduplicatesAndFiltersBots(t *testing.T) {
	b := newBuilder(0)
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
	if s.Invalid != 1 {
		t.Fatalf("invalid = %d, want 1", s.Invalid)
	}
	ids, all, bots, dups := s.IDs, s.ActiveAll, s.Bots, s.Duplicates
	want := []string{testID(1), testID(3), testID(5), testID(7)}
	if got := idList(&ids); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	if all != 5 || bots != 1 || dups != 2 {
		t.Fatalf("activeAll=%d bots=%d dups=%d, want 5, 1, 2", all, bots, dups)
	}

	b = newBuilder(0)
	for _, i := range []int{9, 2, 9, 4} {
		b.add(testID(i), i == 9)
	}
	s = b.build(true)
	ids, all, bots, dups = s.IDs, s.ActiveAll, s.Bots, s.Duplicates
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
	b := newBuilder(10)
	const n = 2000
	for rep := 0; rep < 3; rep++ {
		for i := n - 1; i >= 0; i-- {
			b.add(testID(i), i%7 == 0)
		}
	}
	s := b.build(false)
	ids, all, bots, dups := s.IDs, s.ActiveAll, s.Bots, s.Duplicates
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

func idList(u *IDs) []string {
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
	b := newBuilder(n)
	for i := n - 1; i >= 0; i-- {
		b.add(src[i], false)
	}
	snap := b.build(false)
	snap.Finished = time.Now()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := snap.IDs.SizeBytes(); got != n*mmclient.UserIDLen {
		t.Fatalf("cache storage = %d bytes, want %d (26 per id)", got, n*mmclient.UserIDLen)
	}
	if snap.IDs.Len() != n {
		t.Fatalf("Len = %d, want %d", snap.IDs.Len(), n)
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

// mergeIDs keeps the ids sorted and unique, the shape the sweeper needs.
func TestMergeIDs(t *testing.T) {
	mk := func(ids ...string) IDs {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(strings.Repeat(id, mmclient.UserIDLen)[:mmclient.UserIDLen])
		}
		return IDs{s: b.String()}
	}
	for _, tc := range []struct{ base, add, want []string }{
		{nil, nil, nil},
		{[]string{"b", "d"}, nil, []string{"b", "d"}},
		{nil, []string{"a"}, []string{"a"}},
		{[]string{"b", "d"}, []string{"a", "c", "e"}, []string{"a", "b", "c", "d", "e"}},
		{[]string{"b", "d"}, []string{"b", "e"}, []string{"b", "d", "e"}},
	} {
		base, add := mk(tc.base...), mk(tc.add...)
		got, known := mergeIDs(&base, &add)
		want := mk(tc.want...)
		if got.s != want.s || known != len(tc.base)+len(tc.add)-len(tc.want) {
			t.Errorf("merge(%v, %v) = %d ids, %d known; want %v", tc.base, tc.add, got.Len(), known, tc.want)
		}
	}
}

// Below about 8,000 accounts a walk costs less than the smallest
// incremental refresh: a new account brings the walk forward directly.
