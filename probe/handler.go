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

// HandlerOpts configure the /probe handler.
type HandlerOpts struct {
	// Timeout returns the deadline of one probe's API calls (main applies
	// the same scrape-timeout header rules as /metrics).
	Timeout func(*http.Request) time.Duration
	// MaxRequests bounds the probes served at once (503 beyond); 0 = no
	// limit.
	MaxRequests int
	Logger      log.Logger
	// Extra collectors are served with every probe (main passes the
	// build info, which a single-target scrape holds too, so that the
	// dashboard finds it per instance).
	Extra []prometheus.Collector
}

var (
	probeSuccessDesc = prometheus.NewDesc("mattermost_probe_success",
		"1 if Mattermost answered the ping (mattermost_up 1) and every collector of this probe succeeded, else 0.",
		nil, nil)
	probeDurationDesc = prometheus.NewDesc("mattermost_probe_duration_seconds",
		"How long this probe took, in seconds.",
		nil, nil)
)

// Handler serves /probe?target=<name>: the metrics of one scrape of the
// named target, exactly those of a single-target /metrics scrape of it
// without the exporter's go_, process_ and promhttp_ metrics (with the
// build info when passed in Extra), plus mattermost_probe_success
// and mattermost_probe_duration_seconds. Anything but the name of a
// configured target is answered 400 before any request leaves.
func (f *Fleet) Handler(opts HandlerOpts) http.Handler {
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, reason := f.target(r)
		if t == nil {
			f.metrics.rejected.Inc()
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
		g, err := f.probe(ctx, t, opts.Extra)
		if err != nil {
			level.Error(t.logger).Log("msg", "probe failed", "err", err)
			http.Error(w, "probe failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		promhttp.HandlerFor(g, promhttp.HandlerOpts{
			ErrorLog:      errorLog,
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(w, r)
	})
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

// probe scrapes t once and returns what to serve.
func (f *Fleet) probe(ctx context.Context, t *target, extra []prometheus.Collector) (prometheus.Gatherer, error) {
	begin := time.Now()
	run, err := t.running()
	if err != nil {
		return nil, err
	}
	labels := t.labels()
	// The scrape is gathered before the API metrics so that these count
	// the scrape's own requests.
	scrapeReg := prometheus.NewRegistry()
	prometheus.WrapRegistererWith(labels, scrapeReg).MustRegister(run.exporter.ScrapeCollector(ctx))
	mfs, gatherErr := scrapeReg.Gather()
	if gatherErr != nil {
		level.Error(t.logger).Log("msg", "some metrics of the probe could not be gathered", "err", gatherErr)
	}
	success := 0.0
	if probeSucceeded(mfs) {
		success = 1
	}
	probeReg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(labels, probeReg)
	wrapped.MustRegister(t.api, constCollector{
		prometheus.MustNewConstMetric(probeSuccessDesc, prometheus.GaugeValue, success),
		prometheus.MustNewConstMetric(probeDurationDesc, prometheus.GaugeValue, time.Since(begin).Seconds()),
	})
	for _, c := range extra {
		if err := wrapped.Register(c); err != nil {
			return nil, fmt.Errorf("extra collector: %w", err)
		}
	}
	gathered := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, nil })
	return prometheus.Gatherers{gathered, probeReg}, nil
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

// constCollector is an unchecked collector of fixed metrics.
type constCollector []prometheus.Metric

func (constCollector) Describe(chan<- *prometheus.Desc) {}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// labels returns the target's configured labels.
func (t *target) labels() prometheus.Labels {
	t.mu.Lock()
	defer t.mu.Unlock()
	return prometheus.Labels(t.cfg.Labels)
}
