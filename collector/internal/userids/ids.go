package userids

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// IDs is the id cache's storage: a sorted, de-duplicated set of user ids
// (each exactly mmclient.UserIDLen long) packed into one immutable string of
// 26*N bytes, with no separator and no per-id header. Id i is
// s[i*26:(i+1)*26]; slicing a string neither allocates nor copies, so a
// status batch is built from substrings of it at no cost per id. Memory is
// exactly 26 bytes per user (plus one string header), far below the 100
// bytes per user budget.
type IDs struct {
	s string
}

// Len is the number of ids.
func (u *IDs) Len() int { return len(u.s) / mmclient.UserIDLen }

// At returns id i (a substring of the cache; no allocation).
func (u *IDs) At(i int) string { return u.s[i*mmclient.UserIDLen : (i+1)*mmclient.UserIDLen] }

// SizeBytes is the size of the backing storage.
func (u *IDs) SizeBytes() int { return len(u.s) }

// maxCachedIDs bounds the accounts a walk reads (active or not), the ids a
// cache file may hold, and how many accounts a walk's builder is sized for
// in advance.
const maxCachedIDs = 50_000_000

// builder accumulates the active accounts of one walk as 27-byte records:
// the 26-byte id then a bot flag. Pages come sorted by username, not by id,
// and OFFSET paging can repeat an account when accounts are inserted before
// the current offset during the walk, so build sorts the records by id and
// drops repeats.
type builder struct {
	recs    []record
	invalid int
}

type record [mmclient.UserIDLen + 1]byte

// newBuilder returns a builder sized for about hint accounts (0 = unknown).
func newBuilder(hint int) *builder {
	return &builder{recs: make([]record, 0, max(hint, 0))}
}

// add records one active account. Ids that are not Mattermost ids (26
// characters a-z0-9) are counted and skipped: the client refuses, and the
// server rejects, a whole status batch holding one.
func (b *builder) add(id string, bot bool) {
	if !mmclient.IsUserID(id) {
		b.invalid++
		return
	}
	var r record
	copy(r[:], id)
	if bot {
		r[mmclient.UserIDLen] = 1
	}
	b.recs = append(b.recs, r)
}

// build sorts and de-duplicates the records and packs the kept ids (humans,
// plus bots when includeBots) into a IDs of exactly 26 bytes per id. It
// consumes the builder. The snapshot it returns has the ids, the distinct
// active accounts (bots included), the distinct bots, the repeats dropped
// and the ids skipped; the caller fills in the rest.
func (b *builder) build(includeBots bool) *Snapshot {
	recs := b.recs
	b.recs = nil
	slices.SortFunc(recs, func(x, y record) int { return bytes.Compare(x[:mmclient.UserIDLen], y[:mmclient.UserIDLen]) })
	n := len(recs)
	recs = slices.CompactFunc(recs, func(x, y record) bool { return bytes.Equal(x[:mmclient.UserIDLen], y[:mmclient.UserIDLen]) })
	snap := &Snapshot{Duplicates: n - len(recs), Invalid: b.invalid, ActiveAll: int64(len(recs))}
	for i := range recs {
		if recs[i][mmclient.UserIDLen] != 0 {
			snap.Bots++
		}
	}
	kept := snap.ActiveAll
	if !includeBots {
		kept -= snap.Bots
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
	snap.IDs = IDs{s: out.String()}
	return snap
}

// mergeIDs returns the sorted union of two sorted id sets, and how many
// ids of add were already in base. Runs of base between two added ids are
// copied whole (an added id's place is found by binary search).
func mergeIDs(base, add *IDs) (IDs, int) {
	if add.Len() == 0 {
		return *base, 0
	}
	var out strings.Builder
	out.Grow(base.SizeBytes() + add.SizeBytes())
	known, done := 0, 0 // done: ids of base written
	for j := range add.Len() {
		id := add.At(j)
		k := done + sort.Search(base.Len()-done, func(x int) bool { return base.At(done+x) >= id })
		out.WriteString(base.s[done*mmclient.UserIDLen : k*mmclient.UserIDLen])
		done = k
		if k < base.Len() && base.At(k) == id {
			known++
			continue
		}
		out.WriteString(id)
	}
	out.WriteString(base.s[done*mmclient.UserIDLen:])
	return IDs{s: out.String()}, known
}

// Truncate copies at most n bytes of s, so that a kept or logged prefix of
// a server's string does not keep the whole string alive.
func Truncate(s string, n int) string { return strings.Clone(s[:min(len(s), n)]) }
