package collector

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// cacheFileEnv is a fake Mattermost and a cache file path; each collector
// made by it is a new exporter process as far as the file is concerned.
type cacheFileEnv struct {
	srv   *mmtest.Server
	users []mmtest.UserSpec
	path  string
}

func newCacheFileEnv(t *testing.T, n int, seed int64) *cacheFileEnv {
	t.Helper()
	users := mmtest.GenerateUsers(n, seed)
	srv := mmtest.NewServer(mmtest.Config{Users: users})
	t.Cleanup(srv.Close)
	return &cacheFileEnv{srv: srv, users: users, path: filepath.Join(t.TempDir(), "users.ids")}
}

func (e *cacheFileEnv) collector(t *testing.T, cfg UsersConfig, opts ...userids.Option) *UsersCollector {
	t.Helper()
	client, err := mmclient.New(mmclient.Options{BaseURL: e.srv.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.CacheFile = e.path
	c, err := newUsersCollector(Deps{Client: client}, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeFile has one exporter walk the server and write the cache file.
func (e *cacheFileEnv) writeFile(t *testing.T) {
	t.Helper()
	c := e.collector(t, DefaultUsersConfig())
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := float64(c.ids.Stats().CacheFileWrites); got != 1 {
		t.Fatalf("cache file writes = %v, want 1", got)
	}
}

// startAndCount starts a collector ("the restarted exporter"), waits for its
// first counts and checks them against the server's users; it returns the
// GET /users pages it needed.
func (e *cacheFileEnv) startAndCount(t *testing.T, c *UsersCollector, users []mmtest.UserSpec) int64 {
	t.Helper()
	e.srv.ResetCounters()
	startUsers(t, c)
	waitFor(t, "first id cache", func() bool { return c.ids.Snapshot() != nil })
	r := scrapeWithTimeout(t, c, 10*time.Second)
	if r.err != nil {
		t.Fatalf("Update: %v", r.err)
	}
	want := mmtest.CountStatuses(users)
	checkCounts(t, r, want.Humans, want.HumansManual)
	return e.srv.Requests(mmtest.EndpointUsers)
}

func loadResult(t testing.TB, c *UsersCollector, result string) float64 {
	t.Helper()
	return float64(c.ids.Stats().CacheFileLoads[slices.Index(userids.CacheFileResults[:], result)])
}

func TestUsersCacheFileRestartNeedsNoWalk(t *testing.T) {
	e := newCacheFileEnv(t, 3000, 11)
	e.writeFile(t)
	c := e.collector(t, DefaultUsersConfig())
	if pages := e.startAndCount(t, c, e.users); pages != 0 {
		t.Fatalf("restart with a valid cache file walked %d pages, want 0", pages)
	}
	if loadResult(t, c, "loaded") != 1 {
		t.Fatalf("loads{loaded} = %v, want 1", loadResult(t, c, "loaded"))
	}
	r := scrapeWithTimeout(t, c, 10*time.Second)
	if v, ok := r.value("mattermost_exporter_users_cache_from_file"); !ok || v != 1 {
		t.Fatalf("cache_from_file = %v (present %v), want 1", v, ok)
	}
	if v, _ := r.value("mattermost_exporter_users_cached"); v != float64(activeHumans(e.users)) {
		t.Fatalf("cached = %v, want %d", v, activeHumans(e.users))
	}
}

// A restart served from the cache file keeps the least early gap too: a
// change of GET /users/stats right after the start brings the walk
// forward, but not sooner than that gap after the start.
func TestUsersCacheFileEarlyWalkKeepsItsGap(t *testing.T) {
	e := newCacheFileEnv(t, 1000, 12)
	e.writeFile(t)
	cfg := DefaultUsersConfig()
	cfg.RefreshInterval = time.Hour
	const minEarlyGap = 700 * time.Millisecond
	c := e.collector(t, cfg, userids.WithStatsInterval(5*time.Millisecond), userids.WithMinEarlyGap(minEarlyGap))
	start := time.Now()
	startUsers(t, c)
	waitFor(t, "the cache file's ids", func() bool { return c.ids.Snapshot() != nil })
	if loadResult(t, c, "loaded") != 1 {
		t.Fatalf("loads{loaded} = %v, want 1", loadResult(t, c, "loaded"))
	}
	// One account fewer: no incremental refresh, the walk is brought forward.
	deactivateOneHuman(e.srv, e.users)
	waitFor(t, "the early walk", func() bool { return float64(c.ids.Stats().Refreshes) == 1 })
	snap := c.ids.Snapshot()
	if started := snap.Finished.Add(-snap.Duration); started.Sub(start) < minEarlyGap {
		t.Fatalf("early walk started %s after the start, want at least %s", started.Sub(start), minEarlyGap)
	}
	if got := float64(c.ids.Stats().EarlyRefreshes); got != 1 {
		t.Fatalf("early refreshes = %v, want 1", got)
	}
}

// Every file that is not right for this server is ignored (never fatal) and
// the exporter walks and counts right.
// A spoiled cache file is not used: the restarted exporter counts why,
// walks in full and writes a good file again. (The userids package's
// TestCacheFileEditedIgnored edits the header and ids of a file that is
// otherwise good.)
func TestUsersCacheFileIgnoredWhenWrong(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result string
		spoil  func(t *testing.T, e *cacheFileEnv)
	}{
		{"truncated", "corrupt", func(t *testing.T, e *cacheFileEnv) {
			b := readFile(t, e.path)
			writeBytes(t, e.path, b[:len(b)-1000])
		}},
		{"one id changed", "corrupt", func(t *testing.T, e *cacheFileEnv) {
			b := readFile(t, e.path)
			i := strings.Index(string(b), "}\n") + 2 + 5
			b[i] ^= 1
			writeBytes(t, e.path, b)
		}},
		{"garbage", "corrupt", func(t *testing.T, e *cacheFileEnv) {
			writeBytes(t, e.path, []byte("\x00\x01not a cache file at all\n"))
		}},
		{"empty", "corrupt", func(t *testing.T, e *cacheFileEnv) { writeBytes(t, e.path, nil) }},
		{"another server's URL", "other_server", func(t *testing.T, e *cacheFileEnv) {
			other := newCacheFileEnv(t, 500, 12)
			other.path = e.path
			other.writeFile(t)
		}},
		{"unreadable (a directory)", "unreadable", func(t *testing.T, e *cacheFileEnv) {
			if err := os.Remove(e.path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(e.path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"absent", "absent", func(t *testing.T, e *cacheFileEnv) {
			if err := os.Remove(e.path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCacheFileEnv(t, 1500, 13)
			e.writeFile(t)
			tc.spoil(t, e)
			c := e.collector(t, DefaultUsersConfig())
			if pages := e.startAndCount(t, c, e.users); pages < int64(walkPages(len(e.users))) {
				t.Fatalf("walked %d pages, want a full walk (%d)", pages, walkPages(len(e.users)))
			}
			if got := loadResult(t, c, tc.result); got != 1 {
				t.Fatalf("loads{%s} = %v, want 1", tc.result, got)
			}
			if got := loadResult(t, c, "loaded"); got != 0 {
				t.Fatalf("loads{loaded} = %v, want 0", got)
			}
			if tc.result == "unreadable" {
				return
			}
			// The walk wrote a good file again: this server's, with its
			// active humans, as a second restart shows.
			waitFor(t, "cache file rewritten", func() bool { return float64(c.ids.Stats().CacheFileWrites) == 1 })
			again := e.collector(t, DefaultUsersConfig())
			if pages := e.startAndCount(t, again, e.users); pages != 0 || loadResult(t, again, "loaded") != 1 {
				t.Fatalf("file after the walk: restart walked %d pages, loads{loaded} = %v; want 0, 1", pages, loadResult(t, again, "loaded"))
			}
		})
	}
}

// Users deactivated and created while the exporter was down change
// GET /users/stats: the file is not served, the walk finds the change.
func TestUsersCacheFileUserCountChangedWhileDown(t *testing.T) {
	e := newCacheFileEnv(t, 2000, 14)
	e.writeFile(t)
	users := append([]mmtest.UserSpec(nil), e.users...)
	deactivated := 0
	for i := range users {
		if !users[i].IsBot && !users[i].Deactivated && deactivated < 3 {
			if !e.srv.SetActive(users[i].ID, false) {
				t.Fatalf("SetActive %s: not found", users[i].ID)
			}
			users[i].Deactivated = true
			deactivated++
		}
	}
	c := e.collector(t, DefaultUsersConfig())
	if pages := e.startAndCount(t, c, users); pages < int64(walkPages(len(users))) {
		t.Fatalf("walked %d pages, want a full walk", pages)
	}
	if got := loadResult(t, c, "user_count_changed"); got != 1 {
		t.Fatalf("loads{user_count_changed} = %v, want 1", got)
	}
}

// A file written with another include-bots setting holds other ids.
func TestUsersCacheFileOtherIncludeBots(t *testing.T) {
	e := newCacheFileEnv(t, 1000, 15)
	e.writeFile(t)
	cfg := DefaultUsersConfig()
	cfg.IncludeBots = true
	c := e.collector(t, cfg)
	e.srv.ResetCounters()
	startUsers(t, c)
	waitFor(t, "first id cache", func() bool { return c.ids.Snapshot() != nil })
	want := mmtest.CountStatuses(e.users)
	checkCounts(t, scrapeWithTimeout(t, c, 10*time.Second), want.All, want.AllManual)
	if got := loadResult(t, c, "other_settings"); got != 1 {
		t.Fatalf("loads{other_settings} = %v, want 1", got)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBytes(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
