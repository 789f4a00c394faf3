package sweep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/collector/internal/userids"
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

// NumStatuses is the number of known status values.
const NumStatuses = len(mmclient.KnownStatuses)

// Counts are the only data a sweep keeps.
type Counts struct {
	// ByStatus and Manual count the users by status, in the order of
	// mmclient.KnownStatuses; Manual those whose status was set by hand.
	ByStatus [NumStatuses]int64
	Manual   [NumStatuses]int64
	// Unknown counts the users whose status is none of the known ones.
	Unknown    int64
	duplicates int64 // repeated answers ignored (logged at debug)
}

func (a *Counts) add(b *Counts) {
	for i := range a.ByStatus {
		a.ByStatus[i] += b.ByStatus[i]
		a.Manual[i] += b.Manual[i]
	}
	a.Unknown += b.Unknown
	a.duplicates += b.duplicates
}

// Result is one complete sweep.
type Result struct {
	Counts Counts
	// Taken is when the sweep started: the counts are no older than this.
	Taken    time.Time
	Duration time.Duration
	// firstUnknown is one unknown status value seen (copied, truncated).
	firstUnknown string
}

// errNoStatuses is returned when the server answers a batch with [].
var errNoStatuses = errors.New("the server returned no statuses (is ServiceSettings.EnableUserStatuses false?)")

// Sweeper runs the sweeps and keeps the last complete one.
type Sweeper struct {
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
	last     atomic.Pointer[Result]
	progress atomic.Pointer[progress] // of the latest sweep started
	waiting  atomic.Int64             // scrapes waiting on a sweep
	// slots holds one token per request in flight (Concurrency).
	slots chan struct{}
	// workers are the 2*Concurrency workers of a sweep (one sweep runs at
	// a time); their buffers go back to buffers when it ends.
	workers []worker

	unknownLog rate.Sometimes // once per unknownLogEvery

	sweeps, errors, reused atomic.Uint64
	since                  time.Time // when counting began
}

// progress counts the batches of a sweep, for the deadline error.
type progress struct {
	done  atomic.Int64
	total int
}

// Config is what the collector's settings say about the sweeps.
type Config struct {
	BatchSize   int           // ids per status request, at least 1
	Concurrency int           // status requests in flight, at least 1
	MaxAge      time.Duration // reuse a sweep younger than this; 0 = never
}

// Option changes a Sweeper at construction (tests).
type Option func(*Sweeper)

// WithLastResult makes r the last complete sweep, as if it had run.
func WithLastResult(r *Result) Option { return func(s *Sweeper) { s.last.Store(r) } }

// New returns a sweeper asking client; sweeps run under
// context.Background until Start.
func New(client *mmclient.Client, logger log.Logger, cfg Config, opts ...Option) *Sweeper {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	s := &Sweeper{
		client: client, logger: logger, maxAge: cfg.MaxAge,
		slots:      make(chan struct{}, cfg.Concurrency),
		workers:    make([]worker, 2*cfg.Concurrency),
		unknownLog: rate.Sometimes{Interval: unknownLogEvery},
		since:      time.Now(),
	}
	s.batch.Store(int64(cfg.BatchSize))
	s.Start(context.Background())
	for _, o := range opts {
		o(s)
	}
	return s
}

// Start makes ctx the context sweeps run under from now on: its values
// reach every status request, and its end stops a sweep in flight.
func (s *Sweeper) Start(ctx context.Context) { s.life.Store(&ctx) }

// Counts returns counts for one scrape: a sweep younger than MaxAge, or the
// result of the sweep in flight or of a new one. On error it also returns
// the last complete sweep if it is younger than staleServeLimit, so that the
// scrape can serve it with its timestamp.
func (s *Sweeper) Counts(ctx context.Context, ids *userids.IDs) (*Result, error) {
	now := time.Now()
	if last := s.last.Load(); s.maxAge > 0 && last != nil && now.Sub(last.Taken) <= s.maxAge {
		s.reused.Add(1)
		return last, nil
	}
	if err := ctx.Err(); err != nil {
		return s.servable(), fmt.Errorf("users status sweep not started: %w", err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = now.Add(sweepBudgetNoDeadline)
	}
	ch := s.group.DoChan("sweep", func() (any, error) { return s.sweep(dl, ids) })
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case r := <-ch:
		if r.Err != nil {
			return s.servable(), fmt.Errorf("users status sweep: %w", r.Err)
		}
		return r.Val.(*Result), nil
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
func (s *Sweeper) servable() *Result {
	if last := s.last.Load(); last != nil && time.Since(last.Taken) <= staleServeLimit {
		return last
	}
	return nil
}

// sweep runs every batch of ids before dl; all or nothing.
func (s *Sweeper) sweep(dl time.Time, ids *userids.IDs) (*Result, error) {
	ctx, cancel := context.WithDeadline(*s.life.Load(), dl)
	defer cancel()
	begin := time.Now()
	n := ids.Len()
	size := int(s.batch.Load())
	prog := &progress{total: (n + size - 1) / size}
	s.progress.Store(prog)
	res := &Result{Taken: begin}

	// The workers take the next batch in turn; a batch that fails (the
	// context's end included) fails the sweep and stops the others.
	var mu sync.Mutex     // guards res
	var next atomic.Int64 // next batch to take
	g, gctx := errgroup.WithContext(ctx)
	for i := range min(len(s.workers), prog.total) {
		w := &s.workers[i]
		w.cnt, w.unknownVal = Counts{}, ""
		g.Go(func() error {
			for b := int(next.Add(1) - 1); b < prog.total; b = int(next.Add(1) - 1) {
				lo, hi := b*size, min((b+1)*size, n)
				if err := s.runBatch(gctx, w, ids, lo, hi); err != nil {
					return fmt.Errorf("batch %d of %d (%d ids): %w", b+1, prog.total, hi-lo, err)
				}
				prog.done.Add(1)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Counts.add(&w.cnt)
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
		s.errors.Add(1)
		return nil, err
	}
	res.Duration = time.Since(begin)
	if last := s.last.Load(); last == nil || res.Taken.After(last.Taken) {
		s.last.Store(res)
	}
	s.sweeps.Add(1)
	level.Debug(s.logger).Log("msg", "status sweep complete", "ids", n, "duplicate_answers", res.Counts.duplicates, "duration", res.Duration)
	if res.Counts.Unknown > 0 {
		s.logUnknown(res)
	}
	return res, nil
}

// runBatch sweeps ids [lo, hi); a 413 splits the range in halves, each
// retried at once, and lowers the batch size of later sweeps.
func (s *Sweeper) runBatch(ctx context.Context, w *worker, ids *userids.IDs, lo, hi int) error {
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
func (s *Sweeper) logUnknown(res *Result) {
	s.unknownLog.Do(func() {
		level.Warn(s.logger).Log("msg", "users with an unknown status value; counted in mattermost_users_unknown_status", "count", res.Counts.Unknown, "example", res.firstUnknown)
	})
}

// Stats are the sweeper's figures for the exporter's self-metrics.
type Stats struct {
	BatchSize int64  // ids per request now (lowered after a 413)
	Sweeps    uint64 // complete sweeps
	Errors    uint64 // failed sweeps
	Reused    uint64 // scrapes answered from a sweep younger than MaxAge
	Waiting   int64  // scrapes waiting on a sweep now
	// LastTaken is when the last complete sweep started (zero: none).
	LastTaken time.Time
	// Since is when the counts began (the counters' created timestamp).
	Since time.Time
}

// Stats returns the sweeper's figures now.
func (s *Sweeper) Stats() Stats {
	st := Stats{BatchSize: s.batch.Load(), Sweeps: s.sweeps.Load(), Errors: s.errors.Load(), Reused: s.reused.Load(), Waiting: s.waiting.Load(), Since: s.since}
	if last := s.last.Load(); last != nil {
		st.LastTaken = last.Taken
	}
	return st
}
