package collector

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// An exporter killed while writing the cache file leaves its temporary
// file behind; the next start removes it (and only files of that pattern),
// so crashes do not fill the disk.
func TestUsersCacheFileLeftoverTempsRemoved(t *testing.T) {
	e := newCacheFileEnv(t, 700, 19)
	e.writeFile(t)
	dir := filepath.Dir(e.path)
	leftovers := []string{".users.ids.tmp-111", ".users.ids.tmp-222"}
	for _, n := range leftovers {
		writeBytes(t, filepath.Join(dir, n), []byte("mattermost_exporter user ids v1\n{half"))
	}
	unrelated := filepath.Join(dir, ".other.ids.tmp-333")
	writeBytes(t, unrelated, []byte("x"))
	c := e.collector(t, DefaultUsersConfig())
	if pages := e.startAndCount(t, c, e.users); pages != 0 {
		t.Fatalf("%d pages: the file should have been served", pages)
	}
	for _, n := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Errorf("a file of another pattern was removed: %v", err)
	}
}

// MMEXP_TEST_CACHE_WRITE_DELAY (tests only) holds the write halfway: the
// temporary file is then torn (rejected by readCacheFile) and the file at
// the path is still the previous one; the write completes afterwards.
func TestUsersCacheFileTestWriteDelay(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "junk": 0, "-1s": 0, "250ms": 250 * time.Millisecond, "1h": 10 * time.Second} {
		if got := parseTestCacheWriteDelay(v); got != want {
			t.Errorf("parseTestCacheWriteDelay(%q) = %s, want %s", v, got, want)
		}
	}
	e := newCacheFileEnv(t, 700, 20)
	e.writeFile(t)
	before := readFile(t, e.path)
	h, ids, err := readCacheFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	testCacheWriteDelay = 300 * time.Millisecond
	t.Cleanup(func() { testCacheWriteDelay = 0 })
	done := make(chan error, 1)
	go func() { done <- writeCacheFile(e.path, h, &ids) }()
	var tmp string
	deadline := time.Now().Add(10 * time.Second)
	for tmp == "" && time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(e.path), cacheTempPattern(e.path)))
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
	if string(readFile(t, e.path)) != string(before) {
		t.Fatal("the file at the path changed before the write completed")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := readCacheFile(e.path); err != nil {
		t.Fatalf("after the held write: %v", err)
	}
}

// The limit of the cache file's check, as docs/operations.md states it:
// accounts changed while the exporter was down without changing GET
// /users/stats' total (one deactivated, one created) are not seen by the
// check; the file is served until its walk, due a refresh interval after
// the walk that wrote it, and that walk makes the counts exact.
func TestUsersCacheFileSameTotalServedUntilItsWalk(t *testing.T) {
	e := newCacheFileEnv(t, 700, 21)
	e.writeFile(t)
	written := time.Now()
	// While down: one human deactivated, one account created (online).
	for _, u := range e.users {
		if !u.IsBot && !u.Deactivated {
			e.srv.SetActive(u.ID, false)
			break
		}
	}
	e.srv.AddUsers([]mmtest.UserSpec{{ID: "samtotalnew000000000000000", Username: "zz-new", Status: "online"}})
	now := e.srv.Users()
	cfg := DefaultUsersConfig()
	cfg.RefreshInterval = 2 * time.Second
	c := e.collector(t, cfg)
	startUsers(t, c)
	waitFor(t, "the file served", func() bool { return c.cache.snap.Load() != nil })
	if loadResult(t, c, cacheLoaded) != 1 {
		t.Fatalf("loads{loaded} = %v, want 1 (same total)", loadResult(t, c, cacheLoaded))
	}
	waitFor(t, "the walk due a refresh interval after the file's", func() bool { return counterValue(c.cache.refreshes) >= 1 })
	if took := time.Since(written); took > cfg.RefreshInterval+5*time.Second {
		t.Errorf("the walk came %s after the file was written, want about the refresh interval (%s)", took, cfg.RefreshInterval)
	}
	r := scrapeWithTimeout(t, c, 10*time.Second)
	want := mmtest.CountStatuses(now)
	checkCounts(t, r, want.Humans, want.HumansManual)
}
