package userids

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// newTestCacheFile returns a path in a fresh directory, a header and a
// snapshot of n ids to write there.
func newTestCacheFile(t *testing.T, n int) (string, cacheFileHeader, *Snapshot) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = testID(i)
	}
	snap, err := NewSnapshot(ids, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := cacheFileHeader{URL: "http://mm.example", ActiveAll: snap.ActiveAll, StatsTotal: -1}
	return filepath.Join(t.TempDir(), "users.ids"), h, snap
}

// A write goes to a temporary file renamed over the old one: nothing is
// left beside the file, and a write that cannot happen leaves the
// previous file as it was.
func TestCacheFileWriteIsAtomic(t *testing.T) {
	path, h, snap := newTestCacheFile(t, 700)
	for range 2 {
		if err := writeCacheFile(path, h, &snap.IDs); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, read, err := readCacheFile(path)
	if err != nil || got.URL != h.URL || read.Len() != 700 {
		t.Fatalf("read back: url %q, %d ids, err %v; want %q, %d", got.URL, read.Len(), err, h.URL, 700)
	}
	if err := writeCacheFile(filepath.Join(path, "nope"), got, &read); err == nil {
		t.Fatal("write under a regular file succeeded")
	}
	if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
		t.Fatalf("failed write changed the file (err %v)", err)
	}
}

// MMEXP_TEST_CACHE_WRITE_DELAY (tests only) holds the write halfway: the
// temporary file is then torn (rejected by readCacheFile) and the file at
// the path is still the previous one; the write completes afterwards.
func TestCacheFileTestWriteDelay(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "junk": 0, "-1s": 0, "250ms": 250 * time.Millisecond, "1h": 10 * time.Second} {
		if got := parseTestCacheWriteDelay(v); got != want {
			t.Errorf("parseTestCacheWriteDelay(%q) = %s, want %s", v, got, want)
		}
	}
	path, h, snap := newTestCacheFile(t, 700)
	if err := writeCacheFile(path, h, &snap.IDs); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	testCacheWriteDelay = 300 * time.Millisecond
	t.Cleanup(func() { testCacheWriteDelay = 0 })
	done := make(chan error, 1)
	go func() { done <- writeCacheFile(path, h, &snap.IDs) }()
	var tmp string
	deadline := time.Now().Add(10 * time.Second)
	for tmp == "" && time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), cacheTempPattern(path)))
		if len(m) == 1 {
			if st, err := os.Stat(m[0]); err == nil && st.Size() > 0 {
				tmp = m[0]
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tmp == "" {
		t.Fatal("no temporary file seen during the held write")
	}
	if _, _, err := readCacheFile(tmp); err == nil {
		t.Fatal("the half-written temporary file passes readCacheFile")
	}
	if now, err := os.ReadFile(path); err != nil || string(now) != string(before) {
		t.Fatal("the file at the path changed before the write completed")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := readCacheFile(path); err != nil {
		t.Fatalf("after the held write: %v", err)
	}
}

// A file edited after it was written, checksum and all, is not used: the
// cache counts why, walks in full, and writes a good file again. (The
// collector's TestUsersCacheFileIgnoredWhenWrong spoils the file itself.)
func TestCacheFileEditedIgnored(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result string
		edit   func(t *testing.T, path string) // the path holds a good file
	}{
		{"older format", cacheOldFormat, func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b = append([]byte(cacheFileMagic+"0\n"), b[bytes.IndexByte(b, '\n')+1:]...)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"another server id at this URL", cacheForeign, editCacheFile(func(h *cacheFileHeader, _ []byte) {
			h.ServerID = "anotherinstallation0000000"
		})},
		{"ids not sorted", cacheCorrupt, editCacheFile(func(_ *cacheFileHeader, ids []byte) {
			a, b := ids[:mmclient.UserIDLen], ids[mmclient.UserIDLen:2*mmclient.UserIDLen]
			var tmp [mmclient.UserIDLen]byte
			copy(tmp[:], a)
			copy(a, b)
			copy(b, tmp[:])
		})},
		{"more active accounts than a walk keeps", cacheCorrupt, editCacheFile(func(h *cacheFileHeader, _ []byte) {
			h.ActiveAll = maxCachedIDs + 1
		})},
		{"written in the future", cacheCorrupt, editCacheFile(func(h *cacheFileHeader, _ []byte) {
			h.Finished = time.Now().Add(time.Hour).UnixMilli()
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users := mmtest.GenerateUsers(1500, 13)
			srv, client := newTestServer(t, mmtest.Config{Users: users}, mmtest.UserToken)
			cfg := Config{RefreshInterval: time.Hour, WalkConcurrency: 1, CacheFile: filepath.Join(t.TempDir(), "users.ids")}
			if err := New(client, nil, cfg).Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			tc.edit(t, cfg.CacheFile)

			srv.ResetCounters()
			c := New(client, nil, cfg) // the restarted exporter
			ctx, cancel := context.WithCancel(context.Background())
			defer func() { cancel(); <-c.Stopped() }()
			c.Start(ctx)
			for deadline := time.Now().Add(10 * time.Second); c.Stats().Refreshes == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no walk after the file was ignored (err %v)", c.Err())
				}
			}
			if pages := srv.Requests(mmtest.EndpointUsers); pages < int64(len(users)/walkPerPage+1) {
				t.Fatalf("walked %d pages, want a full walk (%d)", pages, len(users)/walkPerPage+1)
			}
			st := c.Stats()
			for i, r := range CacheFileResults {
				want := uint64(0)
				if r == tc.result {
					want = 1
				}
				if st.CacheFileLoads[i] != want {
					t.Errorf("loads{%s} = %d, want %d", r, st.CacheFileLoads[i], want)
				}
			}
			// The walk wrote a good file again.
			humans := 0
			for _, u := range users {
				if !u.IsBot && !u.Deactivated {
					humans++
				}
			}
			h, ids, err := readCacheFile(cfg.CacheFile)
			if st.CacheFileWrites != 1 || err != nil || h.URL != srv.URL || ids.Len() != humans {
				t.Fatalf("file after the walk: %d writes, url %q, %d ids, err %v; want 1, %q, %d", st.CacheFileWrites, h.URL, ids.Len(), err, srv.URL, humans)
			}
		})
	}
}

// editCacheFile returns an edit of the cache file's header and ids (26
// bytes each) that writes it back with a right checksum.
func editCacheFile(edit func(h *cacheFileHeader, ids []byte)) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		h, ids, err := readCacheFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw := []byte(ids.s)
		edit(&h, raw)
		if err := writeCacheFile(path, h, &IDs{s: string(raw)}); err != nil {
			t.Fatal(err)
		}
	}
}

// The cache file written after an incremental refresh holds the new ids
// (here a bot: IncludeBots) and the newest create_at, and keeps the walk's
// time and pages (the next walk stays scheduled from the walk).
func TestCacheFileAfterIncrementalRefresh(t *testing.T) {
	teams := mmtest.GenerateTeams(3)
	users := mmtest.GenerateUsers(16000, 7) // a walk of 81 pages: room for an incremental refresh
	mmtest.AssignTeams(users, teams, 1)
	srv, client := newTestServer(t, mmtest.Config{Users: users, Teams: teams}, mmtest.AdminToken)
	cfg := Config{IncludeBots: true, RefreshInterval: time.Hour, WalkConcurrency: 1, CacheFile: filepath.Join(t.TempDir(), "users.ids")}
	c := New(client, nil, cfg)
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	walked := c.Snapshot()
	bot := mmtest.UserSpec{ID: "newaccount0000000000000001", Username: "bot-new0001", Team: teams[1].ID, IsBot: true}
	srv.AddUsers([]mmtest.UserSpec{bot})
	if !c.RefreshIncremental(context.Background()) {
		t.Fatal("incremental refresh not applied")
	}
	snap := c.Snapshot()
	h, ids, err := readCacheFile(cfg.CacheFile)
	if err != nil || c.Stats().CacheFileWrites != 2 {
		t.Fatalf("cache file after the incremental refresh: err %v, %d writes, want 2", err, c.Stats().CacheFileWrites)
	}
	found := false
	for i := range ids.Len() {
		found = found || ids.At(i) == bot.ID
	}
	if !found || ids.Len() != walked.IDs.Len()+1 {
		t.Fatalf("cache file: %d ids, want %d with the new bot", ids.Len(), walked.IDs.Len()+1)
	}
	if h.NewestCreateAt != snap.NewestCreateAt || h.NewestCreateAt <= walked.NewestCreateAt || h.Finished != walked.Finished.UnixMilli() || h.Pages != walked.Pages {
		t.Fatalf("cache file header %+v, snapshot newest %d, walk finished %d", h, snap.NewestCreateAt, walked.Finished.UnixMilli())
	}
	if h.StatsTotal != snap.ActiveAll || h.Bots != walked.Bots+1 {
		t.Fatalf("cache file stats_total %d, bots %d; want %d, %d", h.StatsTotal, h.Bots, snap.ActiveAll, walked.Bots+1)
	}
}
