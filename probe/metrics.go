package probe

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fleetMetrics are the fleet's own metrics, served on /metrics.
type fleetMetrics struct {
	f        *Fleet
	rejected prometheus.Counter

	mu         sync.Mutex
	ok         bool
	okTime     time.Time
	reloadDesc *prometheus.Desc
	timeDesc   *prometheus.Desc
	targets    *prometheus.Desc
	started    *prometheus.Desc
	bgInFlight *prometheus.Desc
}

func newFleetMetrics(f *Fleet) *fleetMetrics {
	const ns = "mattermost_exporter"
	return &fleetMetrics{
		f: f,
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "probe_rejected_total",
			Help: "Requests to /probe answered 400 because the target parameter was missing, repeated, malformed or not a configured target name (no request was sent anywhere for them).",
		}),
		reloadDesc: prometheus.NewDesc(ns+"_config_last_reload_successful",
			"1 if the last load of --config.file worked, 0 if it was rejected (the previous targets stay in use).", nil, nil),
		timeDesc: prometheus.NewDesc(ns+"_config_last_reload_success_timestamp_seconds",
			"Unix time of the last successful load of --config.file.", nil, nil),
		targets: prometheus.NewDesc(ns+"_probe_targets",
			"Targets in the loaded --config.file.", nil, nil),
		started: prometheus.NewDesc(ns+"_probe_targets_started",
			"Targets whose collectors and background work are running (probed within --probe.idle-timeout, or started at load with --probe.eager-start).", nil, nil),
		bgInFlight: prometheus.NewDesc(ns+"_background_requests_in_flight",
			"Background (users id-cache walk and status sweep) requests to Mattermost in flight across all targets; at most --probe.max-background-requests.", nil, nil),
	}
}

func (m *fleetMetrics) reloaded(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ok = ok
	if ok {
		m.okTime = time.Now()
	}
}

// Describe implements prometheus.Collector.
func (m *fleetMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.rejected.Describe(ch)
	for _, d := range []*prometheus.Desc{m.reloadDesc, m.timeDesc, m.targets, m.started, m.bgInFlight} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *fleetMetrics) Collect(ch chan<- prometheus.Metric) {
	m.rejected.Collect(ch)
	m.mu.Lock()
	ok, okTime := m.ok, m.okTime
	m.mu.Unlock()
	okValue := 0.0
	if ok {
		okValue = 1
	}
	ch <- prometheus.MustNewConstMetric(m.reloadDesc, prometheus.GaugeValue, okValue)
	if !okTime.IsZero() {
		ch <- prometheus.MustNewConstMetric(m.timeDesc, prometheus.GaugeValue, float64(okTime.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(m.targets, prometheus.GaugeValue, float64(len(m.f.Names())))
	ch <- prometheus.MustNewConstMetric(m.started, prometheus.GaugeValue, float64(m.f.StartedTargets()))
	ch <- prometheus.MustNewConstMetric(m.bgInFlight, prometheus.GaugeValue, float64(len(m.f.slots)))
}
