package probe

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fleetMetrics are the fleet's own metrics, served on /metrics.
type fleetMetrics struct {
	rejected prometheus.Counter
	gauges   []prometheus.Collector

	mu     sync.Mutex
	ok     bool
	okTime time.Time
}

func newFleetMetrics(f *Fleet) *fleetMetrics {
	const ns = "mattermost_exporter"
	m := &fleetMetrics{rejected: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "probe_rejected_total",
		Help: "Requests to /probe answered 400 because the target parameter was missing, repeated, malformed or not a configured target name (no request was sent anywhere for them).",
	})}
	gauge := func(name, help string, value func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, value)
	}
	m.gauges = []prometheus.Collector{
		gauge("config_last_reload_successful", "1 if the last load of --config.file worked, 0 if it was rejected (the previous targets stay in use).",
			func() float64 { ok, _ := m.lastReload(); return map[bool]float64{true: 1}[ok] }),
		gauge("config_last_reload_success_timestamp_seconds", "Unix time of the last successful load of --config.file.",
			func() float64 { _, t := m.lastReload(); return float64(t.UnixNano()) / 1e9 }),
		gauge("probe_targets", "Targets in the loaded --config.file.",
			func() float64 { return float64(len(f.Names())) }),
		gauge("probe_targets_started", "Targets whose collectors and background work are running (probed within --probe.idle-timeout, or started at load with --probe.eager-start).",
			func() float64 { return float64(f.StartedTargets()) }),
		gauge("probe_connections_open", "Connections to Mattermost the targets have open (between probes none, unless --probe.keep-connections).",
			func() float64 { return float64(f.conns.open.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: ns, Name: "probe_connections_opened_total",
			Help: "Connections to Mattermost the targets opened (TCP; over HTTPS each with a TLS handshake).",
		}, func() float64 { return float64(f.conns.dials.Load()) }),
		gauge("background_requests_in_flight", "Background (users id-cache walk and status sweep) requests to Mattermost in flight across all targets; at most --probe.max-background-requests.",
			func() float64 { return float64(len(f.slots)) }),
	}
	return m
}

func (m *fleetMetrics) reloaded(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ok = ok
	if ok {
		m.okTime = time.Now()
	}
}

// lastReload returns whether the last load worked and when the last one
// that worked was (a Fleet exists only after one).
func (m *fleetMetrics) lastReload() (bool, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ok, m.okTime
}

// Describe implements prometheus.Collector.
func (m *fleetMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.rejected.Describe(ch)
	for _, g := range m.gauges {
		g.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *fleetMetrics) Collect(ch chan<- prometheus.Metric) {
	m.rejected.Collect(ch)
	for _, g := range m.gauges {
		g.Collect(ch)
	}
}
