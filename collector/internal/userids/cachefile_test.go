package userids

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A write goes to a temporary file renamed over the old one: nothing is
// left beside the file, and a write that cannot happen leaves the
// previous file as it was.
func TestCacheFileWriteIsAtomic(t *testing.T) {
	ids := make([]string, 700)
	for i := range ids {
		ids[i] = testID(i)
	}
	snap, err := NewSnapshot(ids, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.ids")
	h := cacheFileHeader{URL: "http://mm.example", ActiveAll: snap.ActiveAll, StatsTotal: -1}
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
	if err != nil || got.URL != h.URL || read.Len() != len(ids) {
		t.Fatalf("read back: url %q, %d ids, err %v; want %q, %d", got.URL, read.Len(), err, h.URL, len(ids))
	}
	if err := writeCacheFile(filepath.Join(path, "nope"), got, &read); err == nil {
		t.Fatal("write under a regular file succeeded")
	}
	if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
		t.Fatalf("failed write changed the file (err %v)", err)
	}
}
