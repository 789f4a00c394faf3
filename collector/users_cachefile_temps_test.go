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
	waitFor(t, "the file served", func() bool { return c.ids.Snapshot() != nil })
	if loadResult(t, c, "loaded") != 1 {
		t.Fatalf("loads{loaded} = %v, want 1 (same total)", loadResult(t, c, "loaded"))
	}
	waitFor(t, "the walk due a refresh interval after the file's", func() bool { return c.ids.Stats().Refreshes >= 1 })
	if took := time.Since(written); took > cfg.RefreshInterval+5*time.Second {
		t.Errorf("the walk came %s after the file was written, want about the refresh interval (%s)", took, cfg.RefreshInterval)
	}
	r := scrapeWithTimeout(t, c, 10*time.Second)
	want := mmtest.CountStatuses(now)
	checkCounts(t, r, want.Humans, want.HumansManual)
}
