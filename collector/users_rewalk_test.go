package collector

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// With a refresh interval shorter than rewalkMin, a walk that disagrees
// with GET /users/stats is made again within the refresh interval, not
// after rewalkMin (1 min): the bound docs/operations.md states, exact
// within the refresh interval plus two walks of an account change, holds
// for every interval.
func TestUsersRewalkNoLaterThanRefreshInterval(t *testing.T) {
	cfg := serialWalkConfig()
	cfg.RefreshInterval = time.Second
	users := mmtest.GenerateUsers(1000, 11)
	// rewalkMin at its default (1 min), longer than waitFor's 30 s.
	env := newUsersEnv(t, 0, cfg, mmtest.Config{Users: users}, userids.WithStatsInterval(0), userids.WithRetry(10*time.Second, 10*time.Second, time.Minute))
	victim := -1
	for i := 700; i < len(users); i++ {
		if !users[i].IsBot && !users[i].Deactivated {
			victim = i
			break
		}
	}
	var once sync.Once
	env.srv.SetLatency(func(endpoint string, offset int) time.Duration {
		if endpoint == mmtest.EndpointUsers && offset == 200 {
			once.Do(func() { go env.srv.RenameUser(users[victim].ID, "aaaa-renamed") })
			time.Sleep(20 * time.Millisecond) // let the rename land before page 2
		}
		return 0
	})
	startUsers(t, env.c)
	waitFor(t, "the first walk", func() bool { return env.c.ids.Stats().Refreshes >= 1 })
	if st := env.c.ids.Stats(); st.Refreshes == 1 && (!st.StatsKnown || st.StatsDifference != -1) {
		t.Fatalf("stats difference after the first walk = %d (known %v), want -1 (the renamed account skipped)", st.StatsDifference, st.StatsKnown)
	}
	waitFor(t, "the re-walk within the refresh interval", func() bool { return env.c.ids.Stats().Refreshes >= 2 })
	if snap := env.c.ids.Snapshot(); !slices.Contains(idList(&snap.IDs), users[victim].ID) {
		t.Fatal("the re-walk did not count the renamed account")
	}
}
