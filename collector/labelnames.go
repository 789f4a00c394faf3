package collector

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// labelNames holds the label names of the package's metrics, recorded
// where their Descs are built (newDesc, newCounterVec; the package's Descs
// are package variables, built at init), so that the list cannot go stale.
var labelNames = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

func recordLabels(names ...string) {
	labelNames.Lock()
	defer labelNames.Unlock()
	for _, n := range names {
		labelNames.m[n] = true
	}
}

// newDesc is prometheus.NewDesc, recording the label names.
func newDesc(fqName, help string, variableLabels []string, constLabels prometheus.Labels) *prometheus.Desc {
	recordLabels(variableLabels...)
	recordLabels(slices.Collect(maps.Keys(constLabels))...)
	return prometheus.NewDesc(fqName, help, variableLabels, constLabels)
}

// newCounterVec is prometheus.NewCounterVec, recording the label names.
func newCounterVec(opts prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	recordLabels(labels...)
	recordLabels(slices.Collect(maps.Keys(opts.ConstLabels))...)
	return prometheus.NewCounterVec(opts, labels)
}

// LabelNames returns, sorted, the label names of the metrics of every
// collector, of the ping and of APIMetrics: a label added to all of a
// target's metrics must not have one of these names (the series would
// fail to gather).
func LabelNames() []string {
	NewAPIMetrics() // its Descs are built at run time
	labelNames.Lock()
	defer labelNames.Unlock()
	return slices.Sorted(maps.Keys(labelNames.m))
}
