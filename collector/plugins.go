package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func init() {
	registerCollector("plugins", true, func(d Deps) (Collector, error) {
		return NewPluginsCollector(d)
	})
}

// Bounds of the plugins collector: plugins exported, label length, and
// distinct name/version pairs per plugin (one per node at most in practice).
const (
	maxPlugins            = 200
	maxPluginLabelLen     = 128
	maxPluginInfoPerStack = 16
)

// PluginsCollector reports GET /api/v4/plugins/statuses: per plugin, how
// many cluster nodes run it, failed to start it, ..., and which versions.
type PluginsCollector struct {
	client *mmclient.Client
}

// NewPluginsCollector returns a plugins collector.
func NewPluginsCollector(deps Deps) (*PluginsCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("plugins collector: nil client")
	}
	return &PluginsCollector{client: deps.Client}, nil
}

var (
	pluginsEnabledDesc = newDesc(
		prometheus.BuildFQName(namespace, "plugins", "enabled"),
		"1 if plugins are enabled on the server (PluginSettings.Enable), 0 if the server answers that plugins are disabled.",
		nil, nil,
	)
	pluginNodesDesc = newDesc(
		prometheus.BuildFQName(namespace, "plugin", "nodes"),
		"Cluster nodes reporting the plugin in this state (not_running, starting, running, failed_to_start, failed_to_stay_running, stopping).",
		[]string{"plugin_id", "state"}, nil,
	)
	pluginInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "plugin", "info"),
		"One series per plugin id, name and version reported by GET /api/v4/plugins/statuses; more than one series for a plugin means its nodes run different versions. Always 1.",
		[]string{"plugin_id", "name", "version"}, nil,
	)
	pluginVersionsDesc = newDesc(
		prometheus.BuildFQName(namespace, "plugin", "versions"),
		"Distinct versions of the plugin across the nodes reporting it; more than 1 means version skew.",
		[]string{"plugin_id"}, nil,
	)
	pluginsDroppedDesc = newDesc(
		prometheus.BuildFQName(exporterNamespace, "plugins", "dropped"),
		"Plugins listed by /plugins/statuses but not exported because more plugins than the exporter accepts were listed.",
		nil, nil,
	)
)

// PermissionHint implements PermissionHinter.
func (c *PluginsCollector) PermissionHint() string {
	return "the token's account needs the system_admin role (permission sysconsole_read_plugins) for /plugins/statuses"
}

type pluginAgg struct {
	states   [len(mmclient.PluginStateNames)]int
	versions map[string]bool
	infos    map[[2]string]bool // name, version
}

// Update implements Collector.
func (c *PluginsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	statuses, err := c.client.GetPluginStatuses(ctx)
	if mmclient.IsPluginsDisabled(err) {
		// A configuration, not a failure.
		ch <- prometheus.MustNewConstMetric(pluginsEnabledDesc, prometheus.GaugeValue, 0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("plugin statuses: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(pluginsEnabledDesc, prometheus.GaugeValue, 1)

	plugins := map[string]*pluginAgg{}
	dropped := map[string]bool{}
	for _, st := range statuses {
		id := boundLabel(st.PluginID, maxPluginLabelLen)
		if id == "" {
			continue
		}
		p := plugins[id]
		if p == nil {
			if len(plugins) >= maxPlugins {
				if len(dropped) < 10000 {
					dropped[id] = true
				}
				continue
			}
			p = &pluginAgg{versions: map[string]bool{}, infos: map[[2]string]bool{}}
			plugins[id] = p
		}
		if st.State >= 0 && st.State < len(p.states) {
			p.states[st.State]++
		}
		version := boundLabel(st.Version, maxPluginLabelLen)
		p.versions[version] = true
		if len(p.infos) < maxPluginInfoPerStack {
			p.infos[[2]string{boundLabel(st.Name, maxPluginLabelLen), version}] = true
		}
	}

	ids := make([]string, 0, len(plugins))
	for id := range plugins {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := plugins[id]
		for state, name := range mmclient.PluginStateNames {
			ch <- prometheus.MustNewConstMetric(pluginNodesDesc, prometheus.GaugeValue, float64(p.states[state]), id, name)
		}
		for info := range p.infos {
			ch <- prometheus.MustNewConstMetric(pluginInfoDesc, prometheus.GaugeValue, 1, id, info[0], info[1])
		}
		ch <- prometheus.MustNewConstMetric(pluginVersionsDesc, prometheus.GaugeValue, float64(len(p.versions)), id)
	}
	ch <- prometheus.MustNewConstMetric(pluginsDroppedDesc, prometheus.GaugeValue, float64(len(dropped)))
	return nil
}
