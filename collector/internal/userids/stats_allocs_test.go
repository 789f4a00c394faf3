package userids

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Stats runs on every scrape: it copies counters and allocates nothing.
func TestStatsAllocatesNothing(t *testing.T) {
	client, err := mmclient.New(mmclient.Options{BaseURL: "http://127.0.0.1:1", Token: "x", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := New(client, nil, Config{RefreshInterval: time.Hour, WalkConcurrency: 1, CacheFile: filepath.Join(t.TempDir(), "users.ids")})
	if n := testing.AllocsPerRun(100, func() { _ = c.Stats() }); n != 0 {
		t.Errorf("Stats allocates %v times per call, want 0", n)
	}
}
