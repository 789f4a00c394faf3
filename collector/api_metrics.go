package collector

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// APIMetrics counts the exporter's requests to Mattermost and remembers the
// last rate-limit budget the server reported. Wire Observe into
// mmclient.Options.Observer and register the APIMetrics (a long-lived
// prometheus.Collector) in the exporter's registry.
type APIMetrics struct {
	requests      *prometheus.CounterVec
	remainingDesc *prometheus.Desc

	mu            sync.Mutex
	remaining     float64
	remainingSeen bool
}

// NewAPIMetrics returns an empty APIMetrics.
func NewAPIMetrics() *APIMetrics {
	return &APIMetrics{
		requests: newCounterVec(prometheus.CounterOpts{
			Namespace: exporterNamespace,
			Name:      "api_requests_total",
			Help:      "HTTP requests the exporter made to the Mattermost API, by endpoint and HTTP status code (code=\"error\" when no answer came back).",
		}, "endpoint", "code"),
		remainingDesc: newDesc(
			prometheus.BuildFQName(exporterNamespace, "", "ratelimit_remaining"),
			"Requests left in Mattermost's rate-limit bucket for the exporter, from the last X-Ratelimit-Remaining header seen (present once the server has sent one).",
			nil, nil,
		),
	}
}

// Observe records one finished HTTP exchange. It is safe for concurrent use
// and has the signature of mmclient.Options.Observer.
func (m *APIMetrics) Observe(info mmclient.RequestInfo) {
	code := "error"
	if info.Code > 0 {
		code = strconv.Itoa(info.Code)
	}
	m.requests.WithLabelValues(info.Endpoint, code).Inc()
	if info.RateLimitRemaining >= 0 {
		m.mu.Lock()
		m.remaining = float64(info.RateLimitRemaining)
		m.remainingSeen = true
		m.mu.Unlock()
	}
}

// Describe implements prometheus.Collector.
func (m *APIMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	ch <- m.remainingDesc
}

// Collect implements prometheus.Collector.
func (m *APIMetrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.mu.Lock()
	remaining, seen := m.remaining, m.remainingSeen
	m.mu.Unlock()
	if seen {
		ch <- prometheus.MustNewConstMetric(m.remainingDesc, prometheus.GaugeValue, remaining)
	}
}
