package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// A status sweep asks POST /users/status/ids for every id of a snapshot, in
// batches with at most Concurrency requests in flight, and keeps only counts.
// One sweep runs at a time: scrapes that ask while it runs share it
// (singleflight). It runs detached from the scrape that started it, until
// that scrape's deadline (or until the collector stops).
//
// Each answer is read whole into the worker's buffer
// (mmclient.ReadStatusesByIDs) and decoded once the request's slot is free
// again (Client.DecodeStatuses): twice Concurrency workers share
// Concurrency request slots, so the server never has more than Concurrency
// requests from one sweep, and decoding one answer overlaps the wait for
// the next instead of adding to it. Each result is matched to its id in the
// batch while decoding, and a per-batch bitset counts every id at most once
// (servers of the 5.37 era repeat duplicates, 11.x dedupes).
//
// Completeness: Mattermost answers every id it is sent (ids without a status
// come back as synthesized "offline"), so a batch whose answer lacks some of
// its ids, or names an id it was not sent, fails the whole sweep. An empty
// answer ([]) is what a server with ServiceSettings.EnableUserStatuses=false
// sends; it fails too, saying so. Only a complete sweep is ever published.
//
// A batch answered 413 (the body is above the server's
// ServiceSettings.MaximumPayloadSizeBytes) is split in halves and retried
// within the sweep; the smaller size is kept for later sweeps.
//
// Statuses other than the five known ones are counted in
// mattermost_users_unknown_status rather than dropped or given an unbounded
// label.

const (
	// sweepBudgetNoDeadline bounds a sweep started by a scrape without a
	// deadline.
	sweepBudgetNoDeadline = 2 * time.Minute
	// staleServeLimit: after a failed sweep, the last complete one is served
	// only if younger than this; older counts are not shown at all.
	staleServeLimit = 15 * time.Minute
	// maxKeptBodyPerID: a worker keeps its answer buffer for the next
	// batch up to this many bytes per id (answers are about 115).
	maxKeptBodyPerID = 256
	// expectedBodyPerID sizes a new answer buffer.
	expectedBodyPerID = 128
	// yieldEvery: a decoding worker yields the CPU every this many
	// statuses (about 60 µs of decoding); without it the 100k make bench
	// ratio went from a median of 1.00 to 1.12 (docs/performance.md).
	yieldEvery = 100
	// unknownLogEvery throttles the warning about unknown status values.
	unknownLogEvery = time.Hour
)

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
	// firstUnknown is one unknown status value seen (copied, truncated).
	firstUnknown string
}

// errNoStatuses is returned when the server answers a batch with [].
var errNoStatuses = errors.New("the server returned no statuses (is ServiceSettings.EnableUserStatuses false?)")

// sweeper runs the sweeps and keeps the last complete one.
type sweeper struct {
	client *mmclient.Client
	logger log.Logger
	// life is the context sweeps run under: the one given to Start (its
	// values, such as the fleet's background-request marker, reach every
	// status request, and it ends when the collector stops), Background
	// before that.
	life   atomic.Pointer[context.Context]
	maxAge time.Duration

	batch    atomic.Int64 // ids per request, lowered after a 413
	group    singleflight.Group
	last     atomic.Pointer[sweepResult]
	progress atomic.Pointer[sweepProgress] // of the latest sweep started
	waiting  atomic.Int64                  // scrapes waiting on a sweep (for tests)
	// slots holds one token per request in flight (Concurrency).
	slots chan struct{}
	// workers are the 2*Concurrency workers of a sweep (one sweep runs at
	// a time); their buffers go back to sweepBuffers when it ends.
	workers []sweepWorker

	unknownLog rate.Sometimes // once per unknownLogEvery

	sweeps, errors, reused prometheus.Counter
}

// sweepProgress counts the batches of a sweep, for the deadline error.
type sweepProgress struct {
	done  atomic.Int64
	total int
}

func newSweeper(client *mmclient.Client, logger log.Logger, cfg UsersConfig) *sweeper {
	s := &sweeper{
		client: client, logger: logger, maxAge: cfg.MaxAge,
		slots:      make(chan struct{}, cfg.Concurrency),
		workers:    make([]sweepWorker, 2*cfg.Concurrency),
		unknownLog: rate.Sometimes{Interval: unknownLogEvery},
		sweeps:     newUsersCounter("sweeps_total", "Complete status sweeps (each ceil(cached / batch-size) POST /users/status/ids requests, plus any retries)."),
		errors:     newUsersCounter("sweep_errors_total", "Status sweeps that failed or ran out of time; their partial counts were discarded."),
		reused:     newUsersCounter("sweeps_reused_total", "Scrapes answered from a sweep younger than --collector.users.max-age, without requests."),
	}
	s.batch.Store(int64(cfg.BatchSize))
	s.setLife(context.Background())
	return s
}

func (s *sweeper) setLife(ctx context.Context) { s.life.Store(&ctx) }

// counts returns counts for one scrape: a sweep younger than MaxAge, or the
// result of the sweep in flight or of a new one. On error it also returns
// the last complete sweep if it is younger than staleServeLimit, so that the
// scrape can serve it with its timestamp.
func (s *sweeper) counts(ctx context.Context, snap *idSnapshot) (*sweepResult, error) {
	now := time.Now()
	if last := s.last.Load(); s.maxAge > 0 && last != nil && now.Sub(last.taken) <= s.maxAge {
		s.reused.Inc()
		return last, nil
	}
	if err := ctx.Err(); err != nil {
		return s.servable(), fmt.Errorf("users status sweep not started: %w", err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = now.Add(sweepBudgetNoDeadline)
	}
	ch := s.group.DoChan("sweep", func() (any, error) { return s.sweep(dl, snap) })
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case r := <-ch:
		if r.Err != nil {
			return s.servable(), fmt.Errorf("users status sweep: %w", r.Err)
		}
		return r.Val.(*sweepResult), nil
	case <-ctx.Done():
		done, total := int64(0), 0
		if p := s.progress.Load(); p != nil {
			done, total = p.done.Load(), p.total
		}
		return s.servable(), fmt.Errorf("users status sweep not finished before the scrape deadline (%d of %d batches done): %w", done, total, ctx.Err())
	}
}

// servable is the last complete sweep if it is recent enough to serve after
// a failure.
func (s *sweeper) servable() *sweepResult {
	if last := s.last.Load(); last != nil && time.Since(last.taken) <= staleServeLimit {
		return last
	}
	return nil
}

// sweep runs every batch of snap before dl; all or nothing.
func (s *sweeper) sweep(dl time.Time, snap *idSnapshot) (*sweepResult, error) {
	ctx, cancel := context.WithDeadline(*s.life.Load(), dl)
	defer cancel()
	begin := time.Now()
	n := snap.ids.Len()
	size := int(s.batch.Load())
	prog := &sweepProgress{total: (n + size - 1) / size}
	s.progress.Store(prog)
	res := &sweepResult{taken: begin}

	// The workers take the next batch in turn; a batch that fails (the
	// context's end included) fails the sweep and stops the others.
	var mu sync.Mutex     // guards res
	var next atomic.Int64 // next batch to take
	g, gctx := errgroup.WithContext(ctx)
	for i := range min(len(s.workers), prog.total) {
		w := &s.workers[i]
		w.cnt, w.unknownVal = sweepCounts{}, ""
		g.Go(func() error {
			for b := int(next.Add(1) - 1); b < prog.total; b = int(next.Add(1) - 1) {
				lo, hi := b*size, min((b+1)*size, n)
				if err := s.runBatch(gctx, w, &snap.ids, lo, hi); err != nil {
					return fmt.Errorf("batch %d of %d (%d ids): %w", b+1, prog.total, hi-lo, err)
				}
				prog.done.Add(1)
			}
			mu.Lock()
			defer mu.Unlock()
			res.counts.add(&w.cnt)
			if res.firstUnknown == "" {
				res.firstUnknown = w.unknownVal
			}
			return nil
		})
	}
	err := g.Wait()
	for i := range s.workers {
		s.workers[i].release()
	}
	if now := int(s.batch.Load()); now != size {
		level.Warn(s.logger).Log("msg", "the server refused status batches as too large (413: ServiceSettings.MaximumPayloadSizeBytes); using smaller batches from now on", "batch_size", now, "was", size)
	}
	if err != nil {
		s.errors.Inc()
		return nil, err
	}
	res.duration = time.Since(begin)
	if last := s.last.Load(); last == nil || res.taken.After(last.taken) {
		s.last.Store(res)
	}
	s.sweeps.Inc()
	level.Debug(s.logger).Log("msg", "status sweep complete", "ids", n, "duplicate_answers", res.counts.duplicates, "duration", res.duration)
	if res.counts.unknown > 0 {
		s.logUnknown(res)
	}
	return res, nil
}

// runBatch sweeps ids [lo, hi); a 413 splits the range in halves, each
// retried at once, and lowers the batch size of later sweeps.
func (s *sweeper) runBatch(ctx context.Context, w *sweepWorker, ids *userIDs, lo, hi int) error {
	err := w.doBatch(ctx, s.client, s.slots, ids, lo, hi)
	if err == nil || !mmclient.IsRequestTooLarge(err) || hi-lo < 2 {
		return err
	}
	half := (hi - lo + 1) / 2
	// Lower the remembered size to half unless another batch lowered it
	// further already.
	for cur := s.batch.Load(); int64(half) < cur; cur = s.batch.Load() {
		if s.batch.CompareAndSwap(cur, int64(half)) {
			break
		}
	}
	if err := s.runBatch(ctx, w, ids, lo, lo+half); err != nil {
		return err
	}
	return s.runBatch(ctx, w, ids, lo+half, hi)
}

// logUnknown warns about unknown status values at most once an hour.
func (s *sweeper) logUnknown(res *sweepResult) {
	s.unknownLog.Do(func() {
		level.Warn(s.logger).Log("msg", "users with an unknown status value; counted in mattermost_users_unknown_status", "count", res.counts.unknown, "example", res.firstUnknown)
	})
}

// sweepWorker is one worker of a sweep: buffers reused from one batch to
// the next (the batch's id strings, substrings of the cache; the answer; a
// bitset of the ids answered) and the counts of its completed batches in
// this sweep.
type sweepWorker struct {
	ids        []string
	body       bytes.Buffer
	seen       []uint64
	cnt        sweepCounts
	unknownVal string // first unknown status value (copied)
}

// sweepBuffers holds the buffers of the workers of the sweeps that have
// ended, shared by every users collector of the process: a fleet of a
// thousand targets keeps the buffers of the sweeps in flight, not one set per
// target between its scrapes (the answer of 500 ids is 64 KiB).
var sweepBuffers sync.Pool // of *sweepBuffer

type sweepBuffer struct {
	ids  []string
	body []byte
}

// release returns the worker's buffers to sweepBuffers.
func (w *sweepWorker) release() {
	if w.ids == nil && w.body.Cap() == 0 {
		return
	}
	clear(w.ids[:cap(w.ids)]) // no substrings of an old cache kept alive
	w.body.Reset()            // Bytes() from the start of the buffer, its whole capacity
	sweepBuffers.Put(&sweepBuffer{ids: w.ids[:0], body: w.body.Bytes()})
	w.ids, w.body = nil, bytes.Buffer{}
}

// doBatch sweeps ids [lo, hi), holding one of slots while its request is in
// flight. The worker's counts are only updated when the batch is complete.
func (w *sweepWorker) doBatch(ctx context.Context, client *mmclient.Client, slots chan struct{}, ids *userIDs, lo, hi int) error {
	if w.ids == nil && w.body.Cap() == 0 {
		if b, ok := sweepBuffers.Get().(*sweepBuffer); ok {
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
	var local sweepCounts
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
			return fmt.Errorf("answer holds a status for user id %q that was not in the request", truncate(st.UserID, 40))
		}
		bit := uint64(1) << (uint(k) & 63)
		if w.seen[k>>6]&bit != 0 {
			local.duplicates++
			return nil
		}
		w.seen[k>>6] |= bit
		answered++
		if s := slices.Index(mmclient.KnownStatuses[:], st.Status); s >= 0 {
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

// truncate copies at most n bytes of s, so that a kept or logged prefix of
// a server's string does not keep the whole string alive.
func truncate(s string, n int) string { return strings.Clone(s[:min(len(s), n)]) }
