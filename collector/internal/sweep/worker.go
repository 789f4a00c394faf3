package sweep

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// worker is one worker of a sweep: buffers reused from one batch to
// the next (the batch's id strings, substrings of the cache; the answer; a
// bitset of the ids answered) and the counts of its completed batches in
// this sweep.
type worker struct {
	ids        []string
	body       bytes.Buffer
	seen       []uint64
	cnt        Counts
	unknownVal string // first unknown status value (copied)
}

// buffers holds the buffers of the workers of the sweeps that have
// ended, shared by every users collector of the process: a fleet of a
// thousand targets keeps the buffers of the sweeps in flight, not one set
// per target between its scrapes (the answer of 500 ids is 64 KiB).
var buffers sync.Pool // of *buffer

type buffer struct {
	ids  []string
	body []byte
}

// release returns the worker's buffers to buffers.
func (w *worker) release() {
	if w.ids == nil && w.body.Cap() == 0 {
		return
	}
	clear(w.ids[:cap(w.ids)]) // no substrings of an old cache kept alive
	w.body.Reset()            // Bytes() from the start of the buffer, its whole capacity
	buffers.Put(&buffer{ids: w.ids[:0], body: w.body.Bytes()})
	w.ids, w.body = nil, bytes.Buffer{}
}

// doBatch sweeps ids [lo, hi), holding one of slots while its request is in
// flight. The worker's counts are only updated when the batch is complete.
func (w *worker) doBatch(ctx context.Context, client *mmclient.Client, slots chan struct{}, ids *userids.IDs, lo, hi int) error {
	if w.ids == nil && w.body.Cap() == 0 {
		if b, ok := buffers.Get().(*buffer); ok {
			w.ids, w.body = b.ids, *bytes.NewBuffer(b.body)
		}
	}
	if w.body.Cap() == 0 {
		// One allocation of the usual answer's size rather than a dozen
		// while reading it.
		w.body.Grow(expectedBodyPerID * (hi - lo))
	}
	w.ids = w.ids[:0]
	for i := lo; i < hi; i++ {
		w.ids = append(w.ids, ids.At(i))
	}
	if words := (hi - lo + 63) / 64; cap(w.seen) < words {
		w.seen = make([]uint64, words)
	} else {
		w.seen = w.seen[:words]
		clear(w.seen)
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := client.ReadStatusesByIDs(ctx, w.ids, &w.body)
	<-slots
	// An answer far above the usual ~115 bytes per id (a hostile or broken
	// server, within the client's cap) is not kept for the next batch.
	defer func() {
		if w.body.Cap() > maxKeptBodyPerID*(hi-lo)+4096 {
			w.body = bytes.Buffer{}
		}
	}()
	if err != nil {
		return err
	}
	var local Counts
	answered := 0
	// The decoder finds each answer's id among the ids sent.
	decoded := 0
	err = client.DecodeStatuses(&w.body, w.ids, func(k int, st *mmclient.Status) error {
		// Let a worker whose answer has arrived (or whose slot is free)
		// run: decoding must not delay the requests it overlaps.
		if decoded++; decoded%yieldEvery == 0 {
			runtime.Gosched()
		}
		if k < 0 {
			return fmt.Errorf("answer holds a status for user id %q that was not in the request", userids.Truncate(st.UserID, 40))
		}
		bit := uint64(1) << (uint(k) & 63)
		if w.seen[k>>6]&bit != 0 {
			local.duplicates++
			return nil
		}
		w.seen[k>>6] |= bit
		answered++
		if s := slices.Index(mmclient.KnownStatuses[:], st.Status); s >= 0 {
			local.ByStatus[s]++
			if st.Manual {
				local.Manual[s]++
			}
			return nil
		}
		local.Unknown++
		if w.unknownVal == "" {
			w.unknownVal = userids.Truncate(st.Status, 40)
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case answered == 0:
		return errNoStatuses
	case answered != hi-lo:
		return fmt.Errorf("the server answered %d of the %d ids of the batch; refusing to publish an undercount", answered, hi-lo)
	}
	w.cnt.add(&local)
	return nil
}
