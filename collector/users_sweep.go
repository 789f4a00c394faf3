package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// A status sweep asks POST /users/status/ids for every cached id, in batches
// of BatchSize with at most Concurrency requests in flight, and keeps only
// counts. Responses are decoded as a stream (mmclient.StreamStatusesByIDs);
// each result is matched to its batch by binary search in the batch's slice of
// the sorted id cache, and a per-batch bitset counts every id at most once
// (servers of the 5.37 era repeat duplicates). The decoded strings alias the
// client's reused buffer and are never kept.
//
// Completeness: Mattermost answers every id it is sent (ids without a status
// come back as synthesized "offline"), so a batch whose answer lacks some of
// its ids, or names an id it was not sent, is an error that fails the whole
// sweep: the counts would silently undercount. An all-empty answer ([]) is
// what a server with ServiceSettings.EnableUserStatuses=false sends; it also
// fails, with an error saying so. A sweep is all or nothing: only a complete
// sweep is ever published.
//
// Statuses other than the five known ones (a newer server's value) are counted
// in mattermost_users_unknown_status rather than dropped or given an
// unbounded label.

// statusIndex maps a status to its position in mmclient.KnownStatuses, or -1.
func statusIndex(s string) int {
	for i, k := range mmclient.KnownStatuses {
		if s == k {
			return i
		}
	}
	return -1
}

const numStatuses = len(mmclient.KnownStatuses)

// sweepCounts are the only data a sweep keeps.
type sweepCounts struct {
	byStatus   [numStatuses]int64
	manual     [numStatuses]int64
	unknown    int64
	duplicates int64 // repeated answers ignored (logged at debug)
}

func (a *sweepCounts) add(b *sweepCounts) {
	for i := range a.byStatus {
		a.byStatus[i] += b.byStatus[i]
		a.manual[i] += b.manual[i]
	}
	a.unknown += b.unknown
	a.duplicates += b.duplicates
}

// sweepResult is one complete sweep.
type sweepResult struct {
	counts sweepCounts
	// taken is when the sweep started: the counts are no older than this.
	taken    time.Time
	duration time.Duration
	ids      int
	requests int
	// firstUnknown is one unknown status value seen (copied, truncated), for
	// the log.
	firstUnknown string
}

// errNoStatuses is returned when the server answers a batch with [].
var errNoStatuses = errors.New("the server returned no statuses (is ServiceSettings.EnableUserStatuses false?)")

// sweepWorker holds one worker's reusable buffers: the batch's id strings
// (substrings of the cache) and a bitset of the ids already answered.
type sweepWorker struct {
	ids  []string
	seen []uint64
	cnt  sweepCounts
	// unknownVal keeps the first unknown status value (copied).
	unknownVal string
}

func newSweepWorker(batch int) *sweepWorker {
	return &sweepWorker{ids: make([]string, 0, batch), seen: make([]uint64, (batch+63)/64)}
}

// doBatch sweeps ids [lo, hi) of snap. The worker's counts are only updated
// when the batch is complete.
func (w *sweepWorker) doBatch(ctx context.Context, client *mmclient.Client, ids *userIDs, lo, hi int) error {
	w.ids = w.ids[:0]
	for i := lo; i < hi; i++ {
		w.ids = append(w.ids, ids.At(i))
	}
	clear(w.seen)
	var local sweepCounts
	answered := 0
	err := client.StreamStatusesByIDs(ctx, w.ids, func(st *mmclient.Status) error {
		i := ids.indexIn(lo, hi, st.UserID)
		if i < 0 {
			return fmt.Errorf("answer holds a status for user id %q that was not in the request", truncate(st.UserID, 40))
		}
		k := i - lo
		bit := uint64(1) << (uint(k) & 63)
		if w.seen[k>>6]&bit != 0 {
			local.duplicates++
			return nil
		}
		w.seen[k>>6] |= bit
		answered++
		if s := statusIndex(st.Status); s >= 0 {
			local.byStatus[s]++
			if st.Manual {
				local.manual[s]++
			}
			return nil
		}
		local.unknown++
		if w.unknownVal == "" {
			w.unknownVal = truncate(st.Status, 40)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if answered == 0 {
		return errNoStatuses
	}
	if answered != hi-lo {
		return fmt.Errorf("the server answered %d of the %d ids of the batch; refusing to publish an undercount", answered, hi-lo)
	}
	w.cnt.add(&local)
	return nil
}

// truncate copies at most n bytes of s (s may alias a reused buffer).
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return string([]byte(s))
}

// sweepCall is one sweep in flight, shared by every scrape that asks for
// counts while it runs (singleflight).
type sweepCall struct {
	done   chan struct{}
	res    *sweepResult // set before done is closed, nil on error
	err    error
	total  int          // batches
	batchs atomic.Int64 // batches completed
	// deadline handling: the sweep runs on a context detached from the
	// scrape that started it, cancelled by timer when end passes; every
	// scrape that joins may move end later (see extend).
	timer   *time.Timer
	end     time.Time    // guarded by UsersCollector.mu
	endNano atomic.Int64 // end, for the workers
	waiters int          // scrapes that joined; guarded by UsersCollector.mu (read by tests)
}

// sweepBudgetNoDeadline is the budget of a scrape without a deadline.
const sweepBudgetNoDeadline = 2 * time.Minute

// sweepEnd is how long a sweep may run for a scrape with deadline dl (if
// hasDL) seen at now: until dl plus one more scrape budget (dl - now), so
// that a sweep a little slower than one scrape's deadline still completes and
// serves the next scrape instead of being thrown away.
func sweepEnd(now, dl time.Time, hasDL bool) time.Time {
	if !hasDL {
		return now.Add(sweepBudgetNoDeadline)
	}
	return dl.Add(max(dl.Sub(now), 0))
}

// extend makes the sweep last at least until sweepEnd for a joining scrape;
// it never shortens it. Caller holds UsersCollector.mu.
func (call *sweepCall) extend(now, dl time.Time, hasDL bool) {
	end := sweepEnd(now, dl, hasDL)
	if !end.After(call.end) {
		return
	}
	call.end = end
	call.endNano.Store(end.UnixNano())
	call.timer.Reset(time.Until(end))
}

// getCounts returns counts for one scrape: a reusable recent sweep
// (MaxAge), the result of the sweep in flight, or of a new one. On error it
// also returns the last complete sweep (if any, and not older than
// staleServeLimit) so that the scrape can serve it with its timestamp.
func (c *UsersCollector) getCounts(ctx context.Context, snap *idSnapshot) (*sweepResult, error) {
	now := time.Now()
	c.mu.Lock()
	if c.cfg.MaxAge > 0 && c.lastSweep != nil && now.Sub(c.lastSweep.taken) <= c.cfg.MaxAge {
		r := c.lastSweep
		c.mu.Unlock()
		c.sweepsReused.Add(1)
		return r, nil
	}
	dl, hasDL := ctx.Deadline()
	call := c.inflight
	if call != nil && now.Before(call.end) {
		call.extend(now, dl, hasDL)
	} else {
		// No sweep in flight, or only one past its end: its context is
		// cancelled (or about to be) and it can only fail, so joining it
		// would fail this scrape for nothing. It ends on its own.
		call = c.startSweepLocked(now, dl, hasDL, snap)
	}
	call.waiters++
	c.mu.Unlock()

	select {
	case <-call.done:
		if call.err == nil {
			return call.res, nil
		}
		return c.servableLast(), fmt.Errorf("users status sweep: %w", call.err)
	case <-ctx.Done():
		return c.servableLast(), fmt.Errorf("users status sweep not finished before the scrape deadline (%d of %d batches done; it goes on for later scrapes): %w",
			call.batchs.Load(), call.total, ctx.Err())
	}
}

// staleServeLimit: after a failed sweep, the last complete one is served only
// if younger than this; older counts are not shown at all.
const staleServeLimit = 15 * time.Minute

func (c *UsersCollector) servableLast() *sweepResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastSweep == nil || time.Since(c.lastSweep.taken) > staleServeLimit {
		return nil
	}
	return c.lastSweep
}

// startSweepLocked starts a sweep of snap, lasting as sweepEnd says for the
// scrape deadline dl, and makes it the sweep in flight. Caller holds c.mu.
func (c *UsersCollector) startSweepLocked(now, dl time.Time, hasDL bool, snap *idSnapshot) *sweepCall {
	n := snap.ids.Len()
	batch := c.cfg.BatchSize
	end := sweepEnd(now, dl, hasDL)
	ctx, cancel := context.WithCancel(c.life)
	// The end is set before the workers start: they read it as the
	// deadline of every request.
	call := &sweepCall{
		done:  make(chan struct{}),
		total: (n + batch - 1) / batch,
		end:   end,
		timer: time.AfterFunc(time.Until(end), cancel),
	}
	call.endNano.Store(end.UnixNano())
	c.inflight = call
	conc := c.effectiveConcurrencyLocked()
	go func() {
		res, err := c.sweep(ctx, call, snap, conc)
		cancel()
		c.mu.Lock()
		// Under the lock: a joining scrape may Reset the timer until
		// the call stops being the one in flight.
		call.timer.Stop()
		if c.inflight == call {
			// A scrape may have replaced a sweep past its end.
			c.inflight = nil
		}
		if err == nil {
			if c.lastSweep == nil || res.taken.After(c.lastSweep.taken) {
				c.lastSweep = res
			}
			// Back to the configured concurrency one step per
			// complete sweep.
			if c.sweepConc > 0 && c.sweepConc < c.cfg.Concurrency {
				c.sweepConc++
			}
		} else if mmclient.IsTooManyRequests(err) {
			// Rate limited (after the client's Retry-After waits):
			// halve the concurrency of the next sweeps.
			c.sweepConc = max(conc/2, 1)
		}
		call.res, call.err = res, err
		c.mu.Unlock()
		if err == nil {
			c.sweeps.Add(1)
			level.Debug(c.logger).Log("msg", "status sweep complete", "ids", res.ids, "requests", res.requests, "duplicate_answers", res.counts.duplicates, "concurrency", conc, "duration", res.duration)
			if res.counts.unknown > 0 {
				c.logUnknown(res)
			}
		} else {
			c.sweepErrors.Add(1)
		}
		close(call.done)
	}()
	return call
}

// effectiveConcurrencyLocked is the configured concurrency reduced after a
// rate-limited sweep. Caller holds c.mu.
func (c *UsersCollector) effectiveConcurrencyLocked() int {
	if c.sweepConc > 0 && c.sweepConc < c.cfg.Concurrency {
		return c.sweepConc
	}
	return c.cfg.Concurrency
}

// runBatch sweeps ids [lo, hi) with the sweep's current end as the request's
// deadline, so that the client never waits a Retry-After past it. A scrape
// that joins while the request runs may move the end later: a request that
// failed only because it reached the end it was given is then made again
// under the new end, instead of failing a sweep that still has time.
func (c *UsersCollector) runBatch(ctx context.Context, call *sweepCall, w *sweepWorker, ids *userIDs, lo, hi int, requests *atomic.Int64) error {
	for {
		end := call.endNano.Load()
		rctx, rcancel := context.WithDeadline(ctx, time.Unix(0, end))
		err := w.doBatch(rctx, c.client, ids, lo, hi)
		expired := errors.Is(rctx.Err(), context.DeadlineExceeded)
		rcancel()
		requests.Add(1)
		if err == nil || !expired || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || call.endNano.Load() <= end {
			return err
		}
	}
}

// sweep runs every batch of snap with conc workers; all or nothing.
func (c *UsersCollector) sweep(ctx context.Context, call *sweepCall, snap *idSnapshot, conc int) (*sweepResult, error) {
	begin := time.Now()
	n := snap.ids.Len()
	res := &sweepResult{taken: begin, ids: n}
	if n == 0 {
		res.duration = time.Since(begin)
		return res, nil
	}
	batch := c.cfg.BatchSize
	nb := call.total
	conc = min(conc, nb)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var requests atomic.Int64
	workers := make([]*sweepWorker, conc)
	var wg sync.WaitGroup
	for wi := range workers {
		w := newSweepWorker(batch)
		workers[wi] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				lo := b * batch
				hi := min(lo+batch, n)
				err := c.runBatch(ctx, call, w, &snap.ids, lo, hi, &requests)
				if err != nil {
					cancel(fmt.Errorf("batch %d of %d (%d ids): %w", b+1, nb, hi-lo, err))
					return
				}
				call.batchs.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for _, w := range workers {
		res.counts.add(&w.cnt)
		if res.firstUnknown == "" {
			res.firstUnknown = w.unknownVal
		}
	}
	res.requests = int(requests.Load())
	res.duration = time.Since(begin)
	return res, nil
}
