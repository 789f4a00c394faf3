package userids

import (
	"fmt"
	"time"
)

// Snapshot is one completed walk: the ids to sweep and facts about the
// walk. It is immutable once published: readers must not change it.
type Snapshot struct {
	IDs IDs
	// ActiveAll counts distinct active accounts seen by the walk, bots
	// included, comparable with GET /users/stats' total_users_count.
	ActiveAll int64
	// Bots counts distinct active bot accounts seen by the walk.
	Bots int64
	// Finished is when the walk completed; Duration is how long it took.
	Finished time.Time
	Duration time.Duration
	// Pages is the number of GET /users requests the walk made, 429
	// answers included (the walk asks without client retries).
	Pages int
	// Duplicates is how many repeated ids the walk dropped (pages shifted
	// by accounts created during the walk); Invalid counts the ids skipped
	// as not Mattermost ids.
	Duplicates int
	Invalid    int
	// NewestCreateAt is the newest create_at (epoch ms, server clock) of
	// any account the walk saw, deactivated ones included; accounts
	// created later are found by the incremental refresh (incremental.go).
	// 0 = unknown (no incremental refresh).
	NewestCreateAt int64
	// FromFile: loaded from the cache file at start, not walked by this
	// process.
	FromFile bool
}

// NewSnapshot returns a snapshot of the given ids (in any order, repeats
// dropped) finished at the given time, as a walk seeing only these active
// human accounts would publish it. An id that is not a Mattermost id is an
// error. For tests and benchmarks, with WithSnapshot.
func NewSnapshot(ids []string, finished time.Time) (*Snapshot, error) {
	b := newBuilder(len(ids))
	for _, id := range ids {
		b.add(id, false)
	}
	if b.invalid > 0 {
		return nil, fmt.Errorf("%d ids are not Mattermost user ids", b.invalid)
	}
	snap := b.build(false)
	snap.Finished = finished
	return snap, nil
}
