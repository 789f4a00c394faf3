// Package collector turns Mattermost API answers into Prometheus metrics.
//
// It follows node_exporter's layout: every area (cluster, saml, health,
// license, jobs, plugins, analytics, users) lives in its own file and
// registers itself from init() with registerCollector, which creates the
// --collector.<name> / --no-collector.<name> flags. An
// Exporter holds the long-lived sub-collectors, built once at start, and
// hands out one prometheus.Collector per scrape (ScrapeCollector) that runs
// the ping and every enabled area in parallel with the scrape's context.
package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

const (
	// namespace prefixes the metrics about Mattermost itself.
	namespace = "mattermost"
	// exporterNamespace prefixes the exporter's own metrics.
	exporterNamespace = "mattermost_exporter"
)

// Collector is one area. Update is called once per scrape, concurrently with
// the other areas, with the scrape's context (deadline). Returning an error
// sets mattermost_exporter_collector_success{collector} to 0 for that area;
// metrics already sent are still exposed.
type Collector interface {
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Starter is implemented by collectors with background work (the users id
// cache). Start must return quickly; the work stops when ctx is cancelled.
type Starter interface {
	Start(ctx context.Context)
}

// PermissionHinter may be implemented by a Collector to say, in the single
// log line written when the API answers HTTP 403, which role the token's
// account needs. Without it a generic line is logged.
type PermissionHinter interface {
	PermissionHint() string
}

// ErrNotReady may be wrapped by a Collector's Update error when it has no
// data yet (for example before the first background refresh). The scrape
// reports success 0 for that area and logs the error at info level instead
// of error.
var ErrNotReady = errors.New("no data yet")

// Deps is what every collector factory receives.
type Deps struct {
	Client *mmclient.Client
	Logger log.Logger
	// Options overrides, for one target of a multi-target exporter, the
	// collectors and collector options that otherwise come from the flags.
	// The zero value overrides nothing.
	Options TargetOptions
}

type factoryFunc func(Deps) (Collector, error)

type registration struct {
	name             string
	factory          factoryFunc
	enabled          *bool
	enabledByDefault bool
}

// registry of collectors; written only from init() (registerCollector), read afterwards.
var registrations = map[string]*registration{}

// registerCollector is called from init() of each collector file. It creates
// the kingpin flags --collector.<name> / --no-collector.<name> on
// kingpin.CommandLine, with the default stated in the help.
func registerCollector(name string, enabledByDefault bool, factory func(Deps) (Collector, error)) {
	if _, dup := registrations[name]; dup {
		panic(fmt.Sprintf("collector %q registered twice", name))
	}
	state := "disabled"
	if enabledByDefault {
		state = "enabled"
	}
	help := fmt.Sprintf("Enable the %s collector (default: %s).", name, state)
	flag := kingpin.Flag("collector."+name, help).Default(strconv.FormatBool(enabledByDefault)).Bool()
	registrations[name] = &registration{name: name, factory: factory, enabled: flag, enabledByDefault: enabledByDefault}
}

// Names returns the names of every registered collector, sorted.
func Names() []string {
	names := make([]string, 0, len(registrations))
	for n := range registrations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnabledCollectors returns the sorted names of the collectors enabled by the
// parsed flags.
func EnabledCollectors() []string {
	var names []string
	for _, n := range Names() {
		if *registrations[n].enabled {
			names = append(names, n)
		}
	}
	return names
}

// Exporter holds the long-lived collectors and builds one prometheus.Collector
// per scrape.
type Exporter struct {
	client     *mmclient.Client
	logger     log.Logger
	names      []string // sorted
	collectors map[string]Collector
}

// New builds every collector enabled by the (parsed) flags, or those of
// deps.Options.Collectors when set, once. Background
// work is not started here: call Start.
func New(deps Deps) (*Exporter, error) {
	if deps.Client == nil {
		return nil, errors.New("collector: Deps.Client is nil")
	}
	if deps.Logger == nil {
		deps.Logger = log.NewNopLogger()
	}
	if err := deps.Options.Validate(); err != nil {
		return nil, err
	}
	names := EnabledCollectors()
	if deps.Options.Collectors != nil {
		names = deps.Options.Collectors
	}
	cs := make(map[string]Collector)
	for _, name := range names {
		reg, ok := registrations[name]
		if !ok {
			return nil, fmt.Errorf("unknown collector %q (known: %s)", name, strings.Join(Names(), ", "))
		}
		c, err := reg.factory(Deps{Client: deps.Client, Logger: log.With(deps.Logger, "collector", name), Options: deps.Options})
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", name, err)
		}
		cs[name] = c
	}
	return NewExporter(deps, cs), nil
}

// NewExporter builds an Exporter from explicit collectors, keyed by name (for
// tests and for callers that configure collectors without flags). The ping
// (mattermost_up, mattermost_server_info) always runs.
func NewExporter(deps Deps, collectors map[string]Collector) *Exporter {
	if deps.Logger == nil {
		deps.Logger = log.NewNopLogger()
	}
	e := &Exporter{
		client:     deps.Client,
		logger:     deps.Logger,
		collectors: make(map[string]Collector, len(collectors)),
	}
	for name, c := range collectors {
		e.names = append(e.names, name)
		e.collectors[name] = c
	}
	sort.Strings(e.names)
	return e
}

// Collectors returns the sorted names of the exporter's collectors.
func (e *Exporter) Collectors() []string {
	return append([]string(nil), e.names...)
}

// Start starts the background work of every collector implementing Starter.
// The work stops when ctx is cancelled.
func (e *Exporter) Start(ctx context.Context) {
	for _, name := range e.names {
		if s, ok := e.collectors[name].(Starter); ok {
			level.Debug(e.logger).Log("msg", "starting background work", "collector", name)
			s.Start(ctx)
		}
	}
}

// ScrapeCollector returns a prometheus.Collector bound to one scrape's ctx,
// meant for a per-scrape registry. Its Collect runs the ping and every
// collector in parallel.
func (e *Exporter) ScrapeCollector(ctx context.Context) prometheus.Collector {
	return &scrape{ctx: ctx, e: e}
}

var (
	collectorSuccessDesc = newDesc(
		prometheus.BuildFQName(exporterNamespace, "collector", "success"),
		"1 if the collector's last collection (this scrape) worked, else 0.",
		[]string{"collector"}, nil,
	)
	collectorDurationDesc = newDesc(
		prometheus.BuildFQName(exporterNamespace, "collector", "duration_seconds"),
		"How long the collector took during this scrape, in seconds.",
		[]string{"collector"}, nil,
	)
)

// scrape is the per-scrape prometheus.Collector. It is unchecked: Describe
// sends nothing, so it must be registered in a per-scrape registry.
type scrape struct {
	ctx context.Context
	e   *Exporter
}

func (s *scrape) Describe(chan<- *prometheus.Desc) {}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	wg.Add(1 + len(s.e.names))
	go func() {
		defer wg.Done()
		s.e.ping(s.ctx, ch)
	}()
	for _, name := range s.e.names {
		go func(name string, c Collector) {
			defer wg.Done()
			s.e.runCollector(s.ctx, name, c, ch)
		}(name, s.e.collectors[name])
	}
	wg.Wait()
}

func (e *Exporter) runCollector(ctx context.Context, name string, c Collector, ch chan<- prometheus.Metric) {
	begin := time.Now()
	err := safeUpdate(ctx, c, ch)
	duration := time.Since(begin).Seconds()
	success := 1.0
	if err != nil {
		success = 0
		logCollectorError(e.logger, name, c, err)
	} else {
		level.Debug(e.logger).Log("collector", name, "msg", "collection succeeded", "duration_seconds", duration)
	}
	ch <- prometheus.MustNewConstMetric(collectorDurationDesc, prometheus.GaugeValue, duration, name)
	ch <- prometheus.MustNewConstMetric(collectorSuccessDesc, prometheus.GaugeValue, success, name)
}

// safeUpdate turns a panic inside a collector into an error, so one broken
// area cannot take the whole exporter down.
func safeUpdate(ctx context.Context, c Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collector panicked: %v", r)
		}
	}()
	return c.Update(ctx, ch)
}

// maxLabelValueLen bounds, in bytes, every label value (and logged value)
// taken from the server.
const maxLabelValueLen = 128

// MaxLabelValueLen is maxLabelValueLen, also the bound of the label values
// a config file adds to a target's metrics.
const MaxLabelValueLen = maxLabelValueLen

// truncationMarker ends a value cut by serverString, within the limit.
const truncationMarker = "…"

// serverString makes a string from the server safe as a label value or log
// value: valid UTF-8 (client_golang refuses, and MustNewConstMetric panics
// on, anything else; invalid bytes become U+FFFD) and at most
// maxLabelValueLen bytes. A longer value is cut at a rune boundary and ends
// with truncationMarker. Only the first maxLabelValueLen bytes are looked
// at, so a 1 MB value costs no more than a short one.
func serverString(s string) string {
	if len(s) <= maxLabelValueLen && utf8.ValidString(s) {
		return s
	}
	cut := len(s) > maxLabelValueLen
	if cut {
		s = s[:maxLabelValueLen]
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	if !cut && len(s) <= maxLabelValueLen {
		return s
	}
	end := maxLabelValueLen - len(truncationMarker)
	if end > len(s) {
		end = len(s)
	}
	for end > 0 && end < len(s) && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + truncationMarker
}

// loggedError wraps an error its collector has already logged itself (for
// example rate-limited to once an hour): the scrape logs it at debug level
// only, so a lasting condition does not write a line per scrape.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// logCollectorError writes the one log line of a failed collection.
func logCollectorError(logger log.Logger, name string, c Collector, err error) {
	switch {
	case errors.As(err, new(loggedError)):
		level.Debug(logger).Log("collector", name, "msg", "collection failed (logged by the collector)", "err", err)
	case mmclient.IsForbidden(err):
		hint := "the token's account lacks a permission this collector needs"
		if h, ok := c.(PermissionHinter); ok {
			hint = h.PermissionHint()
		}
		level.Error(logger).Log("collector", name, "msg", "permission denied: "+hint, "err", err)
	case mmclient.IsUnauthorized(err):
		level.Error(logger).Log("collector", name, "msg", "authentication failed: the token is invalid, expired or revoked (check --mattermost.token-file or MATTERMOST_TOKEN)", "err", err)
	case errors.Is(err, ErrNotReady):
		level.Info(logger).Log("collector", name, "msg", "no data yet", "err", err)
	case errors.Is(err, context.Canceled):
		level.Debug(logger).Log("collector", name, "msg", "scrape cancelled", "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		level.Warn(logger).Log("collector", name, "msg", "did not finish within the scrape deadline", "err", err)
	case mmclient.IsTooManyRequests(err):
		level.Warn(logger).Log("collector", name, "msg", "rate limited by Mattermost", "err", err)
	default:
		level.Error(logger).Log("collector", name, "msg", "collection failed", "err", err)
	}
}
