package probe

import (
	"context"
	"fmt"
	stdlog "log"
	"net/http"
	"net/url"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// HandlerOpts configure the scrape handlers (/probe and /metrics).
type HandlerOpts struct {
	// Timeout returns the deadline of one scrape's API calls (main applies
	// the scrape-timeout header rules).
	Timeout func(*http.Request) time.Duration
	// MaxRequests bounds the scrapes served at once (503 beyond); 0 = no
	// limit.
	MaxRequests int
	Logger      log.Logger
	// Self, when set, is gathered last and counts the handler's requests
	// (promhttp_*): the exporter's own go_ and process_ metrics.
	Self *prometheus.Registry
}

// A Scrape gathers one scrape; its API calls end at ctx's deadline.
type Scrape func(ctx context.Context) (prometheus.Gatherer, error)

// The probe's own two metrics.
const (
	probeSuccessName  = "mattermost_probe_success"
	probeSuccessHelp  = "1 if Mattermost answered the ping (mattermost_up 1) and every collector of this probe succeeded, else 0."
	probeDurationName = "mattermost_probe_duration_seconds"
	probeDurationHelp = "How long this probe took, in seconds."
)

// probeDescs describe the probe's own two metrics with a target's labels.
type probeDescs struct{ success, duration *prometheus.Desc }

func newProbeDescs(labels prometheus.Labels) probeDescs {
	return probeDescs{
		success:  prometheus.NewDesc(probeSuccessName, probeSuccessHelp, nil, labels),
		duration: prometheus.NewDesc(probeDurationName, probeDurationHelp, nil, labels),
	}
}

// families returns the probe's two metric families.
func (d probeDescs) families(success, seconds float64) ([]*dto.MetricFamily, error) {
	var out []*dto.MetricFamily
	for _, m := range []struct {
		name, help string
		desc       *prometheus.Desc
		value      float64
	}{{probeSuccessName, probeSuccessHelp, d.success, success}, {probeDurationName, probeDurationHelp, d.duration, seconds}} {
		c, err := prometheus.NewConstMetric(m.desc, prometheus.GaugeValue, m.value)
		if err != nil {
			return nil, err
		}
		metric := &dto.Metric{}
		if err := c.Write(metric); err != nil {
			return nil, err
		}
		out = append(out, &dto.MetricFamily{Name: &m.name, Help: &m.help, Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{metric}})
	}
	return out, nil
}

// Handler serves /probe?target=<name>: the metrics of one scrape of the
// named target, exactly those of a single-target /metrics scrape of it
// without the exporter's go_, process_ and promhttp_ metrics, plus
// mattermost_probe_success and mattermost_probe_duration_seconds. Anything
// but the name of a configured target is answered 400 before any request
// leaves.
func (f *Fleet) Handler(opts HandlerOpts) http.Handler {
	return ScrapeHandler(opts, func(r *http.Request) (Scrape, string) {
		t, reason := f.target(r)
		if t == nil {
			f.metrics.rejected.Inc()
			return nil, reason
		}
		return func(ctx context.Context) (prometheus.Gatherer, error) {
			return t.scrape(ctx, true)
		}, ""
	})
}

// MetricsHandler serves /metrics: with OneTarget the one target's scrape
// (what /probe serves of it, without the probe's own two metrics), else
// the fleet's own metrics and Options.Extra; with opts.Self.
func (f *Fleet) MetricsHandler(opts HandlerOpts) http.Handler {
	return ScrapeHandler(opts, func(*http.Request) (Scrape, string) {
		return func(ctx context.Context) (prometheus.Gatherer, error) {
			if t := f.onlyTarget(); t != nil {
				return t.scrape(ctx, false)
			}
			return f.self, nil
		}, ""
	})
}

// ScrapeHandler serves one scrape per request, the one scrape handler of
// both modes: pick says what the request scrapes (nil and a one-line
// reason: 400, before any limit), at most opts.MaxRequests run at once
// (503 beyond), each with opts.Timeout's deadline.
func ScrapeHandler(opts HandlerOpts, pick func(*http.Request) (Scrape, string)) http.Handler {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Timeout == nil {
		opts.Timeout = func(*http.Request) time.Duration { return 10 * time.Second }
	}
	var sem chan struct{}
	if opts.MaxRequests > 0 {
		sem = make(chan struct{}, opts.MaxRequests)
	}
	errorLog := stdlog.New(log.NewStdlibAdapter(level.Error(log.With(opts.Logger, "component", "promhttp"))), "", 0)
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scrape, reason := pick(r)
		if scrape == nil {
			http.Error(w, reason, http.StatusBadRequest)
			return
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			default:
				http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", opts.MaxRequests), http.StatusServiceUnavailable)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), opts.Timeout(r))
		defer cancel()
		g, err := scrape(ctx)
		if err != nil {
			level.Error(opts.Logger).Log("msg", "probe failed", "err", err)
			http.Error(w, "probe failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		gatherers := prometheus.Gatherers{g}
		if opts.Self != nil {
			gatherers = append(gatherers, opts.Self)
		}
		promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
			ErrorLog:      errorLog,
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(w, r)
	})
	if opts.Self != nil {
		handler = promhttp.InstrumentMetricHandler(opts.Self, handler)
	}
	return handler
}

// target returns the target named by the request's only target parameter,
// or nil and a one-line reason. Nothing is looked up unless the value is a
// well-formed name, and the value is echoed only then.
func (f *Fleet) target(r *http.Request) (*target, string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, "only GET is allowed"
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "malformed query string"
	}
	vals := q["target"]
	switch {
	case len(vals) == 0 || vals[0] == "":
		return nil, "target parameter missing or empty: give the name of a target of the config file, e.g. /probe?target=prod"
	case len(vals) > 1:
		return nil, fmt.Sprintf("target parameter given %d times: give it once", len(vals))
	case !ValidName(vals[0]):
		return nil, fmt.Sprintf("target is not a target name: give the name of a target of the config file (letters, digits, '.', '_', '-', at most %d), never a URL or address", maxNameLen)
	}
	t := f.lookup(vals[0])
	if t == nil {
		return nil, fmt.Sprintf("unknown target %q: not in the config file", vals[0])
	}
	return t, ""
}

// scrape scrapes t once and returns what to serve: the scrape, then the
// API metrics and Options.Extra, and for a probe its success and duration,
// all with t's labels.
func (t *target) scrape(ctx context.Context, probe bool) (prometheus.Gatherer, error) {
	begin := time.Now()
	if t.fixedErr != nil {
		return nil, t.fixedErr
	}
	run, err := t.running()
	if err != nil {
		return nil, err
	}
	// The scrape is gathered before the API metrics so that these count
	// the scrape's own requests.
	scrapeReg := prometheus.NewRegistry()
	prometheus.WrapRegistererWith(t.labels, scrapeReg).MustRegister(run.exporter.ScrapeCollector(ctx))
	mfs, gatherErr := scrapeReg.Gather()
	if gatherErr != nil {
		level.Error(t.logger).Log("msg", "some metrics of the probe could not be gathered", "err", gatherErr)
	}
	if probe {
		success := 0.0
		if probeSucceeded(mfs) {
			success = 1
		}
		own, err := t.probeDescs.families(success, time.Since(begin).Seconds())
		if err != nil {
			return nil, err
		}
		mfs = append(mfs, own...)
	}
	gathered := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
	return prometheus.Gatherers{gathered, t.fixed}, nil
}

// fixedGatherer returns what every scrape of a target of these labels
// serves besides the scrape itself: api and extra, with the labels.
func fixedGatherer(labels prometheus.Labels, api prometheus.Collector, extra []prometheus.Collector) (prometheus.Gatherer, error) {
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(labels, reg)
	for _, c := range append([]prometheus.Collector{api}, extra...) {
		if err := wrapped.Register(c); err != nil {
			return nil, fmt.Errorf("registering a collector: %w", err)
		}
	}
	return reg, nil
}

// probeSucceeded reports mattermost_up 1 and every collector's success 1.
func probeSucceeded(mfs []*dto.MetricFamily) bool {
	up := false
	for _, mf := range mfs {
		switch mf.GetName() {
		case "mattermost_up":
			for _, m := range mf.GetMetric() {
				up = m.GetGauge().GetValue() == 1
			}
		case "mattermost_exporter_collector_success":
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() != 1 {
					return false
				}
			}
		}
	}
	return up
}
