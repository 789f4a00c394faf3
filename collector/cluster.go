package collector

import (
	"context"
	"errors"
	"fmt"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var clusterExpectedNodes = kingpin.Flag("collector.cluster.expected-nodes",
	"Number of nodes the Mattermost cluster should have; exposed as mattermost_cluster_expected_nodes so alerts can catch nodes missing from /cluster/status (0 = not set).").
	Default("0").Int()

func init() {
	registerCollector("cluster", true, func(d Deps) (Collector, error) {
		return NewClusterCollector(d, ClusterConfig{ExpectedNodes: *clusterExpectedNodes})
	})
}

// ClusterConfig configures the cluster collector.
type ClusterConfig struct {
	// ExpectedNodes, when > 0, is exposed as mattermost_cluster_expected_nodes.
	ExpectedNodes int
}

// ClusterCollector reports GET /api/v4/cluster/status.
type ClusterCollector struct {
	client *mmclient.Client
	cfg    ClusterConfig
}

// NewClusterCollector returns a cluster collector for explicit configuration.
func NewClusterCollector(deps Deps, cfg ClusterConfig) (*ClusterCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("cluster collector: nil client")
	}
	if cfg.ExpectedNodes < 0 {
		return nil, fmt.Errorf("cluster collector: expected nodes must be >= 0, got %d", cfg.ExpectedNodes)
	}
	return &ClusterCollector{client: deps.Client, cfg: cfg}, nil
}

var (
	clusterNodesDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "nodes"),
		"Nodes listed by GET /api/v4/cluster/status, reachable or not (0 when Mattermost is not clustered).",
		nil, nil,
	)
	clusterNodeInfoDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "node_info"),
		"One series per node listed by /cluster/status, with its reported fields as labels (empty for a node the cluster could not reach); always 1.",
		[]string{"id", "hostname", "ip_address", "version", "schema_version", "config_hash"}, nil,
	)
	clusterNodeUpDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "node_up"),
		"1 if the node listed by /cluster/status reported its version, 0 if it is listed with empty fields (the cluster could not reach it).",
		[]string{"id", "hostname"}, nil,
	)
	clusterVersionsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "versions"),
		"Distinct versions among reachable cluster nodes; more than 1 means version skew (0 when not clustered).",
		nil, nil,
	)
	clusterConfigHashesDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "config_hashes"),
		"Distinct config hashes among reachable cluster nodes; more than 1 means the nodes run different configs (0 when not clustered).",
		nil, nil,
	)
	clusterExpectedNodesDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "cluster", "expected_nodes"),
		"Number of cluster nodes expected, from --collector.cluster.expected-nodes (only present when set).",
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
	nodes, err := c.client.GetClusterStatus(ctx)
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	versions := make(map[string]struct{})
	hashes := make(map[string]struct{})
	seen := make(map[string]struct{}, len(nodes))
	listed := 0
	for _, n := range nodes {
		// Node ids are unique in a healthy answer; a duplicate would make
		// the series collide, so only its first listing counts.
		if _, dup := seen[n.ID]; dup {
			continue
		}
		seen[n.ID] = struct{}{}
		listed++
		reachable := n.Version != ""
		up := 0.0
		if reachable {
			up = 1
			versions[n.Version] = struct{}{}
			hashes[n.ConfigHash] = struct{}{}
		}
		ch <- prometheus.MustNewConstMetric(clusterNodeInfoDesc, prometheus.GaugeValue, 1,
			n.ID, n.Hostname, n.IPAddress, n.Version, n.SchemaVersion, n.ConfigHash)
		ch <- prometheus.MustNewConstMetric(clusterNodeUpDesc, prometheus.GaugeValue, up, n.ID, n.Hostname)
	}
	ch <- prometheus.MustNewConstMetric(clusterNodesDesc, prometheus.GaugeValue, float64(listed))
	ch <- prometheus.MustNewConstMetric(clusterVersionsDesc, prometheus.GaugeValue, float64(len(versions)))
	ch <- prometheus.MustNewConstMetric(clusterConfigHashesDesc, prometheus.GaugeValue, float64(len(hashes)))
	return nil
}
