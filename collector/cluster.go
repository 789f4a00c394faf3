package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var clusterExpectedNodes = kingpin.Flag("collector.cluster.expected-nodes",
	"Number of nodes the Mattermost cluster should have; exposed as mattermost_cluster_expected_nodes so alerts can catch nodes missing from /cluster/status (0 = not set).").
	Default("0").Int()

var clusterMaxNodes = kingpin.Flag("collector.cluster.max-nodes",
	"Most nodes accepted from /cluster/status; a longer list fails the cluster collector and sets mattermost_exporter_cluster_nodes_over_limit to 1 (bounds the series a broken or hostile server can create).").
	Default(strconv.Itoa(DefaultClusterMaxNodes)).Int()

// DefaultClusterMaxNodes is the default of ClusterConfig.MaxNodes.
const DefaultClusterMaxNodes = 100

// overLimitLogInterval spaces the log lines of a lasting over-limit answer.
const overLimitLogInterval = time.Hour

func init() {
	registerCollector("cluster", true, func(d Deps) (Collector, error) {
		return NewClusterCollector(d, d.Options.cluster())
	})
}

// ClusterConfig configures the cluster collector.
type ClusterConfig struct {
	// ExpectedNodes, when > 0, is exposed as mattermost_cluster_expected_nodes.
	ExpectedNodes int
	// MaxNodes is the most nodes accepted from /cluster/status (0 =
	// DefaultClusterMaxNodes).
	MaxNodes int
}

// Validate reports an invalid setting (a *SettingError). It checks the
// values as given: a MaxNodes of 0 fails here, as the flag's 0 must, while
// NewClusterCollector first replaces it by DefaultClusterMaxNodes.
func (cfg ClusterConfig) Validate() error {
	switch {
	case cfg.ExpectedNodes < 0:
		return &SettingError{Setting: "cluster.expected-nodes", Problem: fmt.Sprintf("must be >= 0, got %d", cfg.ExpectedNodes)}
	case cfg.MaxNodes < 1:
		return &SettingError{Setting: "cluster.max-nodes", Problem: fmt.Sprintf("must be >= 1, got %d", cfg.MaxNodes)}
	}
	return nil
}

// ClusterCollector reports GET /api/v4/cluster/status.
type ClusterCollector struct {
	client       *mmclient.Client
	logger       log.Logger
	cfg          ClusterConfig
	overLimitLog rate.Sometimes // once per overLimitLogInterval
}

// NewClusterCollector returns a cluster collector for explicit configuration.
func NewClusterCollector(deps Deps, cfg ClusterConfig) (*ClusterCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("cluster collector: nil client")
	}
	if cfg.MaxNodes == 0 {
		cfg.MaxNodes = DefaultClusterMaxNodes
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cluster collector: %w", err)
	}
	logger := deps.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &ClusterCollector{
		client:       deps.Client,
		logger:       logger,
		cfg:          cfg,
		overLimitLog: rate.Sometimes{First: 1, Interval: overLimitLogInterval},
	}, nil
}

var (
	clusterNodesDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "nodes"),
		"Nodes listed by GET /api/v4/cluster/status, reachable or not (0 when Mattermost is not clustered).",
		nil, nil,
	)
	clusterNodeInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "node_info"),
		"One series per node listed by /cluster/status, with its reported fields as labels (empty for a node the cluster could not reach); always 1.",
		[]string{"id", "hostname", "ip_address", "version", "schema_version", "config_hash"}, nil,
	)
	clusterNodeUpDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "node_up"),
		"1 if the node listed by /cluster/status reported its version, 0 if it is listed with empty fields (the cluster could not reach it).",
		[]string{"id", "hostname"}, nil,
	)
	clusterVersionsDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "versions"),
		"Distinct versions among reachable cluster nodes; more than 1 means version skew (0 when not clustered).",
		nil, nil,
	)
	clusterConfigHashesDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "config_hashes"),
		"Distinct config hashes among reachable cluster nodes; more than 1 means the nodes run different configs (0 when not clustered).",
		nil, nil,
	)
	clusterExpectedNodesDesc = newDesc(
		prometheus.BuildFQName(namespace, "cluster", "expected_nodes"),
		"Number of cluster nodes expected, from --collector.cluster.expected-nodes (only present when set).",
		nil, nil,
	)
	clusterNodesOverLimitDesc = newDesc(
		prometheus.BuildFQName(exporterNamespace, "cluster", "nodes_over_limit"),
		"1 if /cluster/status listed more nodes than --collector.cluster.max-nodes (the cluster collector then fails and exposes no node series), 0 if the list was accepted; absent when the call failed otherwise.",
		nil, nil,
	)
)

// PermissionHint implements PermissionHinter.
func (c *ClusterCollector) PermissionHint() string {
	return "the token's account needs the system_admin role (or system_read_only_admin/system_manager) for /cluster/status"
}

// Update implements Collector.
func (c *ClusterCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if c.cfg.ExpectedNodes > 0 {
		// Configuration, not an observation: exposed even if the call fails,
		// so "expected > listed" alerts have both sides.
		ch <- prometheus.MustNewConstMetric(clusterExpectedNodesDesc, prometheus.GaugeValue, float64(c.cfg.ExpectedNodes))
	}
	nodes, err := c.client.GetClusterStatus(ctx, mmclient.MaxItems(c.cfg.MaxNodes))
	if errors.Is(err, mmclient.ErrTooManyItems) {
		ch <- prometheus.MustNewConstMetric(clusterNodesOverLimitDesc, prometheus.GaugeValue, 1)
		err = fmt.Errorf("cluster status: more than %d nodes (--collector.cluster.max-nodes): %w", c.cfg.MaxNodes, err)
		c.overLimitLog.Do(func() {
			level.Error(c.logger).Log("msg", "Mattermost lists more cluster nodes than --collector.cluster.max-nodes allows; no node series are exposed until the list shrinks or the flag is raised (logged at most once an hour)",
				"max_nodes", c.cfg.MaxNodes, "err", err)
		})
		return loggedError{err}
	}
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(clusterNodesOverLimitDesc, prometheus.GaugeValue, 0)
	versions := make(map[string]struct{})
	hashes := make(map[string]struct{})
	seen := make(map[string]struct{}, len(nodes))
	listed := 0
	for _, n := range nodes {
		// Label values are bounded and valid UTF-8 (serverString).
		id, hostname := serverString(n.ID), serverString(n.Hostname)
		// Node ids are unique in a healthy answer; a duplicate (or two ids
		// equal once truncated) would make the series collide, so only
		// its first listing counts.
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		listed++
		reachable := n.Version != ""
		up := 0.0
		if reachable {
			up = 1
			versions[n.Version] = struct{}{}
			hashes[n.ConfigHash] = struct{}{}
		}
		ch <- prometheus.MustNewConstMetric(clusterNodeInfoDesc, prometheus.GaugeValue, 1,
			id, hostname, serverString(n.IPAddress), serverString(n.Version), serverString(n.SchemaVersion), serverString(n.ConfigHash))
		ch <- prometheus.MustNewConstMetric(clusterNodeUpDesc, prometheus.GaugeValue, up, id, hostname)
	}
	ch <- prometheus.MustNewConstMetric(clusterNodesDesc, prometheus.GaugeValue, float64(listed))
	ch <- prometheus.MustNewConstMetric(clusterVersionsDesc, prometheus.GaugeValue, float64(len(versions)))
	ch <- prometheus.MustNewConstMetric(clusterConfigHashesDesc, prometheus.GaugeValue, float64(len(hashes)))
	return nil
}
