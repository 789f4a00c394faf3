package userids

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
