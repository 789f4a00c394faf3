package userids

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// newTestServer starts a fake Mattermost, stopped when the test ends, and
// a client of it with token and no retries.
func newTestServer(t *testing.T, cfg mmtest.Config, token string) (*mmtest.Server, *mmclient.Client) {
	t.Helper()
	srv := mmtest.NewServer(cfg)
	t.Cleanup(srv.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: token, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// Refresh publishes a snapshot of the active humans, writes the cache file
// and counts both; Stats lists every result label of the counters by
// label; a failed walk keeps the snapshot and is told by Err.
func TestCacheRefreshPublishesAndCounts(t *testing.T) {
	users := mmtest.GenerateUsers(900, 31)
	srv, client := newTestServer(t, mmtest.Config{Users: users}, mmtest.UserToken)
	c := New(client, nil, Config{RefreshInterval: time.Hour, WalkConcurrency: 1, CacheFile: filepath.Join(t.TempDir(), "users.ids")})
	if c.Snapshot() != nil || c.Err() != nil {
		t.Fatal("a snapshot or an error before any walk")
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := c.Snapshot()
	want := mmtest.CountStatuses(users)
	humans := 0
	for _, n := range want.Humans {
		humans += n
	}
	if snap == nil || snap.IDs.Len() != humans || snap.FromFile {
		t.Fatalf("snapshot %+v, want %d ids walked", snap, humans)
	}
	st := c.Stats()
	if st.Refreshes != 1 || st.RefreshErrors != 0 || st.CacheFileWrites != 1 || !st.StatsKnown || st.StatsDifference != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Pages != int64(len(users)/200+1) || st.LastFullPages != st.Pages {
		t.Errorf("pages %d, last full %d; want %d", st.Pages, st.LastFullPages, len(users)/200+1)
	}
	if IncrementalResults != [...]string{"applied", "fell_back"} || st.Incremental != [2]uint64{} || st.CacheFileLoads != [len(CacheFileResults)]uint64{} {
		t.Errorf("labels: incremental %v %v, cache file loads %v %v", IncrementalResults, st.Incremental, CacheFileResults, st.CacheFileLoads)
	}
	srv.SetDown(true)
	if err := c.Refresh(context.Background()); err == nil || c.Err() == nil {
		t.Fatalf("walk of a server that is down: %v, Err %v", err, c.Err())
	}
	if c.Snapshot() != snap || c.Stats().RefreshErrors != 1 {
		t.Fatal("a failed walk replaced the snapshot or was not counted")
	}
}
