package collector

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// userIDs is the id cache's storage: a sorted, de-duplicated set of user ids
// (each exactly mmclient.UserIDLen long) packed into one immutable string of
// 26*N bytes, with no separator and no per-id header. Id i is
// s[i*26:(i+1)*26]; slicing a string neither allocates nor copies, so a
// status batch is built from substrings of it at no cost per id. Memory is
// exactly 26 bytes per user (plus one string header), far below the 100
// bytes per user budget.
type userIDs struct {
	s string
}

// Len is the number of ids.
func (u *userIDs) Len() int { return len(u.s) / mmclient.UserIDLen }

// At returns id i (a substring of the cache; no allocation).
func (u *userIDs) At(i int) string { return u.s[i*mmclient.UserIDLen : (i+1)*mmclient.UserIDLen] }

// SizeBytes is the size of the backing storage.
func (u *userIDs) SizeBytes() int { return len(u.s) }

// maxCachedIDs bounds the accounts a walk reads (active or not), the ids a
// cache file may hold, and how many accounts a walk's builder is sized for
// in advance.
const maxCachedIDs = 50_000_000

// idSnapshot is one completed walk: the ids to sweep and facts about the walk.
// It is immutable once published.
type idSnapshot struct {
	ids userIDs
	// activeAll counts distinct active accounts seen by the walk, bots
	// included, comparable with GET /users/stats' total_users_count.
	activeAll int64
	// bots counts distinct active bot accounts seen by the walk.
	bots int64
	// finished is when the walk completed; duration is how long it took.
	finished time.Time
	duration time.Duration
	// pages is the number of GET /users requests the walk made, 429
	// answers included (the walk asks without client retries).
	pages int
	// duplicates is how many repeated ids the walk dropped (pages shifted by
	// accounts created during the walk); invalid counts the ids skipped as
	// not Mattermost ids.
	duplicates int
	invalid    int
	// newestCreateAt is the newest create_at (epoch ms, server clock) of
	// any account the walk saw, deactivated ones included; accounts
	// created later are found by the incremental refresh
	// (users_incremental.go). 0 = unknown (no incremental refresh).
	newestCreateAt int64
	// fromFile: loaded from --collector.users.cache-file at start, not
	// walked by this process.
	fromFile bool
}

// idBuilder accumulates the active accounts of one walk as 27-byte records:
// the 26-byte id then a bot flag. Pages come sorted by username, not by id,
// and OFFSET paging can repeat an account when accounts are inserted before
// the current offset during the walk, so build sorts the records by id and
// drops repeats.
type idBuilder struct {
	recs    []idRecord
	invalid int
}

type idRecord [mmclient.UserIDLen + 1]byte

// newIDBuilder returns a builder sized for about hint accounts (0 = unknown).
func newIDBuilder(hint int) *idBuilder {
	return &idBuilder{recs: make([]idRecord, 0, max(hint, 0))}
}

// add records one active account. Ids that are not Mattermost ids (26
// characters a-z0-9) are counted and skipped: the client refuses, and the
// server rejects, a whole status batch holding one.
func (b *idBuilder) add(id string, bot bool) {
	if !mmclient.IsUserID(id) {
		b.invalid++
		return
	}
	var r idRecord
	copy(r[:], id)
	if bot {
		r[mmclient.UserIDLen] = 1
	}
	b.recs = append(b.recs, r)
}

// build sorts and de-duplicates the records and packs the kept ids (humans,
// plus bots when includeBots) into a userIDs of exactly 26 bytes per id. It
// consumes the builder. The snapshot it returns has the ids, the distinct
// active accounts (bots included), the distinct bots, the repeats dropped
// and the ids skipped; the caller fills in the rest.
func (b *idBuilder) build(includeBots bool) *idSnapshot {
	recs := b.recs
	b.recs = nil
	slices.SortFunc(recs, func(x, y idRecord) int { return bytes.Compare(x[:mmclient.UserIDLen], y[:mmclient.UserIDLen]) })
	n := len(recs)
	recs = slices.CompactFunc(recs, func(x, y idRecord) bool { return bytes.Equal(x[:mmclient.UserIDLen], y[:mmclient.UserIDLen]) })
	snap := &idSnapshot{duplicates: n - len(recs), invalid: b.invalid, activeAll: int64(len(recs))}
	for i := range recs {
		if recs[i][mmclient.UserIDLen] != 0 {
			snap.bots++
		}
	}
	kept := snap.activeAll
	if !includeBots {
		kept -= snap.bots
	}
	// One exact-size string, written once (strings.Builder does not copy
	// it again).
	var out strings.Builder
	out.Grow(int(kept) * mmclient.UserIDLen)
	for i := range recs {
		if includeBots || recs[i][mmclient.UserIDLen] == 0 {
			out.Write(recs[i][:mmclient.UserIDLen])
		}
	}
	snap.ids = userIDs{s: out.String()}
	return snap
}
