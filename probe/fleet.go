package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/collector"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Defaults of Options.
const (
	DefaultIdleTimeout           = 10 * time.Minute
	DefaultMaxBackgroundRequests = 8
	// defaultMaxHold bounds how long one background request keeps its
	// slot (a page of GET /users or a status batch takes well under a
	// second), so that targets that accept connections and never answer
	// cannot hold the fleet's slots for long. Sweeps end at their scrape's
	// deadline anyway.
	defaultMaxHold = 30 * time.Second
	// unauthorizedRecheck spaces the token file checks triggered by HTTP
	// 401 answers.
	unauthorizedRecheck = 5 * time.Second
)

// Options configure a Fleet.
type Options struct {
	ConfigFile string
	// Load returns the targets at New and at each Reload; nil = LoadFile
	// of ConfigFile.
	Load   func() ([]*Target, error)
	Logger log.Logger
	// EagerStart starts every target's background work at load instead of
	// at its first probe.
	EagerStart bool
	// OneTarget is the single-target mode (--mattermost.url): New starts
	// the targets and returns their start error, nothing is stopped for
	// idleness or limited in background requests, log lines carry no
	// target key, and Reload logs what became of the token.
	OneTarget bool
	// IdleTimeout stops the background work of a target not probed for
	// this long (it starts again at the next probe); 0 = DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxBackgroundRequests bounds the walk and sweep requests in flight
	// across all targets; 0 = DefaultMaxBackgroundRequests.
	MaxBackgroundRequests int
	// MaxHold bounds how long one background request holds its slot; 0 =
	// 30 s.
	MaxHold time.Duration
	// KeepConnections keeps a target's idle connections between its
	// probes (for the transport's 90 s); by default they close
	// ConnIdleTimeout after their last request.
	KeepConnections bool
	// ConnIdleTimeout closes a target's idle connections; 0 =
	// DefaultConnIdleTimeout.
	ConnIdleTimeout time.Duration
	// Extra collectors are served with every scrape of every target, and
	// on the fleet's /metrics (main passes the build info, so that the
	// dashboard finds it per instance).
	Extra []prometheus.Collector
}

// Fleet is the set of targets of the config file. Each target has its own
// client, collectors and API metrics; its background work runs from its
// first probe (or from load with EagerStart) until it has not been probed
// for IdleTimeout, it is removed or changed by a reload, or Close.
type Fleet struct {
	opts  Options
	slots chan struct{}

	reloadMu sync.Mutex // one reload at a time
	mu       sync.RWMutex
	targets  map[string]*target

	metrics *fleetMetrics
	self    *prometheus.Registry // metrics and Options.Extra
	conns   connCounts
	stopGC  context.CancelFunc
	gcDone  chan struct{}
}

// New loads the targets (an error is returned and nothing runs) and
// starts the idle janitor. Close stops everything.
func New(opts Options) (*Fleet, error) {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Load == nil {
		opts.Load = func() ([]*Target, error) { return LoadFile(opts.ConfigFile) }
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.ConnIdleTimeout <= 0 {
		opts.ConnIdleTimeout = DefaultConnIdleTimeout
	}
	if opts.MaxBackgroundRequests <= 0 {
		opts.MaxBackgroundRequests = DefaultMaxBackgroundRequests
	}
	if opts.MaxHold <= 0 {
		opts.MaxHold = defaultMaxHold
	}
	f := &Fleet{opts: opts, targets: map[string]*target{}, gcDone: make(chan struct{})}
	if !opts.OneTarget {
		f.slots = make(chan struct{}, opts.MaxBackgroundRequests)
	}
	f.metrics = newFleetMetrics(f)
	f.self = prometheus.NewRegistry()
	for _, c := range append([]prometheus.Collector{f.metrics}, opts.Extra...) {
		if err := f.self.Register(c); err != nil {
			return nil, fmt.Errorf("registering a collector: %w", err)
		}
	}
	loaded, err := opts.Load()
	if err != nil {
		return nil, err // the caller exits with it; nothing to log twice
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stopGC = cancel
	if opts.OneTarget {
		close(f.gcDone)
	} else {
		go f.janitor(ctx)
	}
	if _, err := f.apply(loaded); err != nil {
		f.Close()
		return nil, err
	}
	f.metrics.reloaded(true)
	return f, nil
}

// Names returns the sorted target names.
func (f *Fleet) Names() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	names := make([]string, 0, len(f.targets))
	for n := range f.targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Reload re-reads the targets and their token files (reason, e.g. SIGHUP,
// is logged). A bad config is rejected (the error is returned and logged,
// the reload gauge set to 0) and the targets in use stay. Otherwise added
// targets are created, removed ones stopped and dropped, changed ones
// restarted; a target whose only change is its token keeps running with the
// new token.
func (f *Fleet) Reload(reason string) error {
	f.reloadMu.Lock()
	defer f.reloadMu.Unlock()
	loaded, err := f.opts.Load()
	var n reloadCounts
	if err == nil {
		n, err = f.apply(loaded)
	}
	f.metrics.reloaded(err == nil)
	logger := log.With(f.opts.Logger, "reason", reason)
	switch {
	case f.opts.OneTarget && err != nil:
		level.Error(logger).Log("msg", "token file not reloaded; the current token stays in use", "err", err)
	case err != nil:
		level.Error(logger).Log("msg", "config not loaded; the targets in use stay", "err", err)
	case f.opts.OneTarget && n.tokens > 0:
		level.Info(logger).Log("msg", "token file reloaded; later requests use the new token")
	case f.opts.OneTarget:
		level.Info(logger).Log("msg", "token file re-read; the token is unchanged")
	default:
		level.Info(logger).Log("msg", "config loaded", "file", f.opts.ConfigFile, "targets", len(loaded),
			"added", n.added, "changed", n.changed, "removed", n.removed, "token_changed", n.tokens)
	}
	return err
}

// reloadCounts say how many targets a load added, changed (restarted),
// removed and gave a new token.
type reloadCounts struct{ added, changed, removed, tokens int }

// apply swaps in the loaded targets. Its error is, with OneTarget, a target
// that did not start.
func (f *Fleet) apply(loaded []*Target) (n reloadCounts, err error) {
	next := make(map[string]*target, len(loaded))
	var stop []*target
	f.mu.Lock()
	for _, t := range loaded {
		old := f.targets[t.Name]
		switch {
		case old == nil:
			n.added++
			next[t.Name] = f.newTarget(t)
		case sameSetup(old.setup(), t):
			if old.setToken(t) {
				n.tokens++
			}
			next[t.Name] = old
		default:
			n.changed++
			stop = append(stop, old)
			next[t.Name] = f.newTarget(t)
		}
	}
	for name, old := range f.targets {
		if _, keep := next[name]; !keep {
			n.removed++
			stop = append(stop, old)
		}
	}
	f.targets = next
	f.mu.Unlock()
	for _, t := range stop {
		t.close()
	}
	return n, f.startEager(next)
}

// startEager starts every target with EagerStart or OneTarget; with
// OneTarget a start error is returned, else logged.
func (f *Fleet) startEager(targets map[string]*target) error {
	if !f.opts.EagerStart && !f.opts.OneTarget {
		return nil
	}
	var errs error
	for _, t := range targets {
		if _, err := t.running(); err != nil {
			if f.opts.OneTarget {
				errs = errors.Join(errs, err)
				continue
			}
			level.Error(t.logger).Log("msg", "target not started", "err", err)
		}
	}
	return errs
}

// lookup returns the target named name, or nil.
func (f *Fleet) lookup(name string) *target {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.targets[name]
}

// onlyTarget returns, with OneTarget, the one target, else nil.
func (f *Fleet) onlyTarget() *target {
	if !f.opts.OneTarget {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(f.targets) != 1 {
		return nil
	}
	for _, t := range f.targets {
		return t
	}
	return nil
}

// Close stops the background work of every target.
func (f *Fleet) Close() {
	f.stopGC()
	<-f.gcDone
	f.mu.Lock()
	targets := f.targets
	f.targets = map[string]*target{}
	f.mu.Unlock()
	for _, t := range targets {
		t.close()
	}
}

// janitor stops the background work of targets idle for IdleTimeout.
func (f *Fleet) janitor(ctx context.Context) {
	defer close(f.gcDone)
	tick := time.NewTicker(max(f.opts.IdleTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			f.stopIdle(now)
		}
	}
}

func (f *Fleet) stopIdle(now time.Time) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, t := range f.targets {
		if t.stopIfIdle(now, f.opts.IdleTimeout) {
			level.Info(t.logger).Log("msg", "target not probed for a while; its background work stopped until the next probe", "idle_timeout", f.opts.IdleTimeout)
		}
	}
}

// StartedTargets returns how many targets have their collectors running.
func (f *Fleet) StartedTargets() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, t := range f.targets {
		if t.isStarted() {
			n++
		}
	}
	return n
}

func (f *Fleet) newTarget(t *Target) *target {
	logger := f.opts.Logger
	if !f.opts.OneTarget {
		logger = log.With(logger, "target", t.Name)
	}
	labels := prometheus.Labels(t.Labels)
	tg := &target{f: f, cfg: t, logger: logger, api: collector.NewAPIMetrics(), labels: labels, probeDescs: newProbeDescs(labels)}
	// Labels never change for a target (other labels make a new one).
	tg.fixed, tg.fixedErr = fixedGatherer(labels, tg.api, f.opts.Extra)
	tg.lastProbe.Store(time.Now().UnixNano())
	if !tokenSentSafely(t.URL) {
		level.Warn(logger).Log("msg", "the Mattermost token is sent over plain http:// to a host that is not this machine; anyone on the path can read it. Use an https:// URL", "url", t.URL)
	}
	if file := t.cacheFileTaken; file != "" {
		level.Warn(logger).Log("msg", "--collector.users.cache-file is already used for another Mattermost server in this process; this target keeps no cache file", "file", file)
	}
	return tg
}

// target is one configured deployment and, while started, its collectors.
type target struct {
	f      *Fleet
	logger log.Logger
	api    *collector.APIMetrics // kept across idle stops (counters)
	labels prometheus.Labels     // added to every metric of its scrapes
	// fixed serves with the labels what every scrape serves besides the
	// scrape itself: api and Options.Extra (fixedErr: they clash).
	fixed      prometheus.Gatherer
	fixedErr   error
	probeDescs probeDescs

	lastProbe atomic.Int64 // unix nanoseconds
	lastCheck atomic.Int64 // of the last 401-triggered token file check

	mu     sync.Mutex
	cfg    *Target
	run    *running // nil while stopped
	closed bool
}

// running is a started target.
type running struct {
	client   *mmclient.Client
	exporter *collector.Exporter
	cancel   context.CancelFunc
	gate     *connGate
}

// running returns the started target, starting it if needed, and records
// the probe time.
func (t *target) running() (*running, error) {
	t.lastProbe.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("target %q was removed by a reload", t.cfg.Name)
	}
	if t.run != nil {
		return t.run, nil
	}
	r, err := t.start()
	if err != nil {
		return nil, err
	}
	t.run = r
	return r, nil
}

// start builds the target's client and collectors and starts their
// background work. Nothing here waits on the network.
func (t *target) start() (*running, error) {
	tr, gate := t.f.newTransport()
	client, err := mmclient.New(mmclient.Options{
		BaseURL:            t.cfg.URL,
		Token:              t.cfg.token,
		CAFile:             t.cfg.TLS.CAFile,
		InsecureSkipVerify: t.cfg.TLS.InsecureSkipVerify,
		Logger:             log.With(t.logger, "component", "mmclient"),
		Transport:          tr,
		WrapTransport:      t.f.wrap(gate),
		Observer:           t.observe,
	})
	if err != nil {
		return nil, err
	}
	exp, err := collector.New(collector.Deps{Client: client, Logger: t.logger, Options: t.cfg.Options})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(backgroundContext(context.Background()))
	exp.Start(ctx)
	level.Debug(t.logger).Log("msg", "target started", "collectors", fmt.Sprint(exp.Collectors()))
	return &running{client: client, exporter: exp, cancel: cancel, gate: gate}, nil
}

// observe counts the request and, on a 401, re-reads the token file (at
// most once per unauthorizedRecheck): a rotated Secret needs no reload.
func (t *target) observe(info mmclient.RequestInfo) {
	t.api.Observe(info)
	if info.Code != http.StatusUnauthorized {
		return
	}
	last, now := t.lastCheck.Load(), time.Now().UnixNano()
	if now-last < int64(unauthorizedRecheck) || !t.lastCheck.CompareAndSwap(last, now) {
		return
	}
	t.mu.Lock()
	path, what := t.cfg.TokenFile, t.cfg.tokenWhat
	t.mu.Unlock()
	if path == "" {
		return // the token came from the environment
	}
	token, sum, err := ReadTokenFile(what, path)
	switch {
	case err != nil:
		level.Warn(t.logger).Log("msg", "Mattermost refused the token (HTTP 401) and the token file could not be re-read", "err", err)
	case t.setToken(&Target{token: token, tokenSum: sum}):
		level.Info(t.logger).Log("msg", "Mattermost refused the token (HTTP 401) and the token file changed: reloaded; later requests use the new token")
	default:
		level.Debug(t.logger).Log("msg", "Mattermost refused the token (HTTP 401); the token file is unchanged")
	}
}

// setToken installs the token of n if it differs; it reports a change.
func (t *target) setToken(n *Target) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n.tokenSum == t.cfg.tokenSum {
		return false
	}
	if t.run != nil {
		if err := t.run.client.SetToken(n.token); err != nil {
			level.Error(t.logger).Log("msg", "new token not installed", "err", err)
			return false
		}
	}
	cfg := *t.cfg
	cfg.token, cfg.tokenSum = n.token, n.tokenSum
	t.cfg = &cfg
	return true
}

// setup returns the target's validated configuration; it is never
// modified (setToken installs a copy).
func (t *target) setup() *Target {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

// sameSetup reports whether a running target of setup old can serve the
// loaded n as it is (bar the token): the same config, the same options
// derived from it (a module's collectors can change under an unchanged
// target) and the same cache-file decision (it depends on the targets
// listed before: assignCacheFiles).
func sameSetup(old, n *Target) bool {
	return reflect.DeepEqual(old.TargetConfig, n.TargetConfig) &&
		reflect.DeepEqual(old.Options, n.Options) &&
		old.cacheFileTaken == n.cacheFileTaken
}

func (t *target) isStarted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.run != nil
}

// stopIfIdle stops the background work when the last probe is older than
// idle, and drops the collectors (their caches) so that the memory goes.
func (t *target) stopIfIdle(now time.Time, idle time.Duration) bool {
	if now.Sub(time.Unix(0, t.lastProbe.Load())) < idle {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopLocked()
}

// close stops the target for good (removed or replaced by a reload).
func (t *target) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.stopLocked()
}

// stopLocked stops the background work, if running; t.mu is held.
func (t *target) stopLocked() bool {
	if t.run == nil {
		return false
	}
	t.run.cancel()
	// Its connections go now, not after the transport's idle timeout.
	t.run.client.CloseIdleConnections()
	t.run = nil
	return true
}

// closedForGood reports whether a reload removed or replaced t.
func (t *target) closedForGood() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}
