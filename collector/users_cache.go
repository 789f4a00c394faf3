package collector

import (
	"bytes"
	"sort"
	"strings"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// userIDLen is mmclient.UserIDLen: the cache only keeps ids of exactly this
// length (the server rejects a whole status request if one id has another).
const userIDLen = mmclient.UserIDLen

// userIDs is the id cache's storage: a sorted, de-duplicated set of user ids
// packed into one immutable string of userIDLen*N bytes, with no separator and
// no per-id header. Id i is s[i*26:(i+1)*26]; slicing a string neither
// allocates nor copies, so a status batch is built from substrings of it at
// no cost per id. Memory is exactly 26 bytes per user (plus one string
// header), far below the 100 bytes per user budget.
type userIDs struct {
	s string
}

// Len is the number of ids.
func (u *userIDs) Len() int { return len(u.s) / userIDLen }

// At returns id i (a substring of the cache; no allocation).
func (u *userIDs) At(i int) string { return u.s[i*userIDLen : (i+1)*userIDLen] }

// SizeBytes is the size of the backing storage.
func (u *userIDs) SizeBytes() int { return len(u.s) }

// indexIn returns the index of id among ids [lo, hi), or -1. The range is
// sorted, so this is a binary search: no map, no allocation.
func (u *userIDs) indexIn(lo, hi int, id string) int {
	if len(id) != userIDLen {
		return -1
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := strings.Compare(u.At(m), id); {
		case c == 0:
			return m
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

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
	// pages is the number of GET /users requests the walk made (429 answers
	// that escaped the client's own retries included).
	pages int
	// duplicates is how many repeated ids the walk dropped (pages shifted by
	// accounts created during the walk); invalid counts ids of a wrong length.
	duplicates int
	invalid    int
}

// idBuilder accumulates the active accounts of one walk. Records are 27 bytes:
// the 26-byte id then one flag byte (bot or not). Pages come sorted by
// username, not by id, and OFFSET paging can repeat an account when accounts
// are inserted before the current offset during the walk, so build sorts the
// records by id and drops repeats. The builder holds at most 27 bytes per
// active account plus the slice's growth slack.
type idBuilder struct {
	buf     []byte
	invalid int
}

const (
	idRecordLen = userIDLen + 1
	idFlagBot   = 1
)

// newIDBuilder returns a builder sized for about hint accounts (0 = unknown).
func newIDBuilder(hint int) *idBuilder {
	if hint < 0 {
		hint = 0
	}
	return &idBuilder{buf: make([]byte, 0, hint*idRecordLen)}
}

// add records one active account. Ids that are not 26 bytes long are counted
// and skipped (the server would reject the whole status batch they are in).
func (b *idBuilder) add(id string, bot bool) {
	if len(id) != userIDLen {
		b.invalid++
		return
	}
	b.buf = append(b.buf, id...)
	var flag byte
	if bot {
		flag = idFlagBot
	}
	b.buf = append(b.buf, flag)
}

// count is the number of records added so far, repeats included.
func (b *idBuilder) count() int { return len(b.buf) / idRecordLen }

// idRecords sorts the builder's 27-byte records by id in place.
type idRecords []byte

func (r idRecords) Len() int { return len(r) / idRecordLen }
func (r idRecords) Less(i, j int) bool {
	return bytes.Compare(r[i*idRecordLen:i*idRecordLen+userIDLen], r[j*idRecordLen:j*idRecordLen+userIDLen]) < 0
}
func (r idRecords) Swap(i, j int) {
	var tmp [idRecordLen]byte
	a := r[i*idRecordLen : (i+1)*idRecordLen]
	bb := r[j*idRecordLen : (j+1)*idRecordLen]
	copy(tmp[:], a)
	copy(a, bb)
	copy(bb, tmp[:])
}

// build sorts and de-duplicates the records and packs the kept ids (humans,
// plus bots when includeBots) into a userIDs of exactly 26 bytes per id. It
// consumes the builder. It returns the ids, the distinct active accounts
// (bots included), the distinct bots, and the repeats dropped.
func (b *idBuilder) build(includeBots bool) (ids userIDs, activeAll, bots int64, duplicates int) {
	recs := idRecords(b.buf)
	sort.Sort(recs)
	n := recs.Len()
	// Compact in place: kept ids are written as 26-byte records at the
	// front of the buffer; the write position never passes the read one.
	w := 0
	var prev []byte
	for i := 0; i < n; i++ {
		rec := b.buf[i*idRecordLen : (i+1)*idRecordLen]
		id := rec[:userIDLen]
		if prev != nil && bytes.Equal(prev, id) {
			duplicates++
			continue
		}
		activeAll++
		bot := rec[userIDLen]&idFlagBot != 0
		if bot {
			bots++
		}
		if bot && !includeBots {
			// prev must stay the last distinct id even when it is not kept.
			prev = id
			continue
		}
		dst := b.buf[w*userIDLen : (w+1)*userIDLen]
		copy(dst, id)
		// dst may overlap the bytes of a later record only below the
		// current read position, so prev (the current record) is intact
		// until the next iteration reads it: keep a copy-free reference to
		// the compacted id instead.
		prev = dst
		w++
	}
	// One exact-size copy: the builder's larger buffer becomes garbage.
	ids = userIDs{s: string(b.buf[:w*userIDLen])}
	b.buf = nil
	return ids, activeAll, bots, duplicates
}
