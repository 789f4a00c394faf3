package sweep

import (
	"context"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// humanIDs are the ids a walk of users keeps without bots.
func humanIDs(t *testing.T, users []mmtest.UserSpec) *userids.IDs {
	t.Helper()
	var ids []string
	for _, u := range users {
		if !u.IsBot && !u.Deactivated {
			ids = append(ids, u.ID)
		}
	}
	snap, err := userids.NewSnapshot(ids, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &snap.IDs
}

// A sweep counts every id by status in batches of BatchSize; a sweep
// younger than MaxAge is served again without requests; Stats reports both.
func TestSweeperCountsAndReuses(t *testing.T) {
	users := mmtest.GenerateUsers(2500, 21)
	srv := mmtest.NewServer(mmtest.Config{Users: users})
	t.Cleanup(srv.Close)
	client, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := New(client, nil, Config{BatchSize: 300, Concurrency: 2, MaxAge: time.Hour})
	ids := humanIDs(t, users)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.Counts(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := mmtest.CountStatuses(users)
	for i, st := range mmclient.KnownStatuses {
		if res.Counts.ByStatus[i] != int64(want.Humans[st]) || res.Counts.Manual[i] != int64(want.HumansManual[st]) {
			t.Errorf("%s: %d (%d manual), want %d (%d)", st, res.Counts.ByStatus[i], res.Counts.Manual[i], want.Humans[st], want.HumansManual[st])
		}
	}
	if got, want := srv.Requests(mmtest.EndpointStatusesByIDs), int64((ids.Len()+299)/300); got != want {
		t.Errorf("%d status requests, want %d", got, want)
	}
	again, err := s.Counts(ctx, ids)
	if err != nil || again != res {
		t.Fatalf("second call: %p, %v; want the first sweep again", again, err)
	}
	st := s.Stats()
	if st.Sweeps != 1 || st.Reused != 1 || st.Errors != 0 || st.BatchSize != 300 || !st.LastTaken.Equal(res.Taken) {
		t.Fatalf("stats %+v, want 1 sweep, 1 reused, batch 300, last taken %s", st, res.Taken)
	}
}
