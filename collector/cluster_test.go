package collector

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var clusterMetricNames = []string{
	"mattermost_cluster_nodes",
	"mattermost_cluster_node_info",
	"mattermost_cluster_node_up",
	"mattermost_cluster_versions",
	"mattermost_cluster_config_hashes",
	"mattermost_cluster_expected_nodes",
}

func node(id, host, ip, version, schema, hash string) mmtest.Node {
	return mmtest.Node{ID: id, Hostname: host, IPAddress: ip, Version: version, SchemaVersion: schema, ConfigHash: hash}
}

func TestClusterCollector(t *testing.T) {
	const (
		v1 = "9.11.1"
		v2 = "9.11.2"
		h1 = "0123456789abcdef0123456789abcdef"
		h2 = "fedcba9876543210fedcba9876543210"
	)
	tests := []struct {
		name     string
		nodes    []mmtest.Node
		expected int
		want     []string
	}{
		{
			name: "healthy three nodes",
			nodes: []mmtest.Node{
				node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", v1, "140", h1),
				node("bbbbbbbbbbbbbbbbbbbbbbbbbb", "mm-2", "10.0.0.2:8074", v1, "140", h1),
				node("cccccccccccccccccccccccccc", "mm-3", "10.0.0.3:8074", v1, "140", h1),
			},
			want: []string{
				`mattermost_cluster_nodes 3`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa",ip_address="10.0.0.1:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb",ip_address="10.0.0.2:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-3",id="cccccccccccccccccccccccccc",ip_address="10.0.0.3:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_up{hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa"} 1`,
				`mattermost_cluster_node_up{hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb"} 1`,
				`mattermost_cluster_node_up{hostname="mm-3",id="cccccccccccccccccccccccccc"} 1`,
				`mattermost_cluster_versions 1`,
				`mattermost_cluster_config_hashes 1`,
			},
		},
		{
			// The unreachable node has another "version" (none) and hash
			// (none): neither may count as skew.
			name: "one node unreachable",
			nodes: []mmtest.Node{
				node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", v1, "140", h1),
				node("bbbbbbbbbbbbbbbbbbbbbbbbbb", "mm-2", "10.0.0.2:8074", v1, "140", h1),
				{ID: "cccccccccccccccccccccccccc"},
			},
			want: []string{
				`mattermost_cluster_nodes 3`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa",ip_address="10.0.0.1:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb",ip_address="10.0.0.2:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="",hostname="",id="cccccccccccccccccccccccccc",ip_address="",schema_version="",version=""} 1`,
				`mattermost_cluster_node_up{hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa"} 1`,
				`mattermost_cluster_node_up{hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb"} 1`,
				`mattermost_cluster_node_up{hostname="",id="cccccccccccccccccccccccccc"} 0`,
				`mattermost_cluster_versions 1`,
				`mattermost_cluster_config_hashes 1`,
			},
		},
		{
			name: "version skew",
			nodes: []mmtest.Node{
				node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", v1, "140", h1),
				node("bbbbbbbbbbbbbbbbbbbbbbbbbb", "mm-2", "10.0.0.2:8074", v2, "141", h1),
			},
			want: []string{
				`mattermost_cluster_nodes 2`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa",ip_address="10.0.0.1:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb",ip_address="10.0.0.2:8074",schema_version="141",version="` + v2 + `"} 1`,
				`mattermost_cluster_node_up{hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa"} 1`,
				`mattermost_cluster_node_up{hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb"} 1`,
				`mattermost_cluster_versions 2`,
				`mattermost_cluster_config_hashes 1`,
			},
		},
		{
			name: "config mismatch",
			nodes: []mmtest.Node{
				node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", v1, "140", h1),
				node("bbbbbbbbbbbbbbbbbbbbbbbbbb", "mm-2", "10.0.0.2:8074", v1, "140", h2),
			},
			want: []string{
				`mattermost_cluster_nodes 2`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa",ip_address="10.0.0.1:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_info{config_hash="` + h2 + `",hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb",ip_address="10.0.0.2:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_up{hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa"} 1`,
				`mattermost_cluster_node_up{hostname="mm-2",id="bbbbbbbbbbbbbbbbbbbbbbbbbb"} 1`,
				`mattermost_cluster_versions 1`,
				`mattermost_cluster_config_hashes 2`,
			},
		},
		{
			name: "expected nodes, one missing from the list",
			nodes: []mmtest.Node{
				node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", v1, "140", h1),
			},
			expected: 2,
			want: []string{
				`mattermost_cluster_nodes 1`,
				`mattermost_cluster_node_info{config_hash="` + h1 + `",hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa",ip_address="10.0.0.1:8074",schema_version="140",version="` + v1 + `"} 1`,
				`mattermost_cluster_node_up{hostname="mm-1",id="aaaaaaaaaaaaaaaaaaaaaaaaaa"} 1`,
				`mattermost_cluster_versions 1`,
				`mattermost_cluster_config_hashes 1`,
				`mattermost_cluster_expected_nodes 2`,
			},
		},
		{
			name:  "not clustered",
			nodes: nil,
			want: []string{
				`mattermost_cluster_nodes 0`,
				`mattermost_cluster_versions 0`,
				`mattermost_cluster_config_hashes 0`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFakeMattermost(t, mmtest.Config{Nodes: tc.nodes})
			c, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, ClusterConfig{ExpectedNodes: tc.expected})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			if err := testutil.CollectAndCompare(a, strings.NewReader(expo(tc.want...)), clusterMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
			if got := s.Requests(mmclient.EndpointClusterStatus); got != 1 {
				t.Errorf("cluster status requests = %d, want 1", got)
			}
		})
	}
}

// A node listed twice (never seen, but it would make the registry reject the
// whole scrape) is reported once.
func TestClusterCollectorDuplicateNode(t *testing.T) {
	n := node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", "9.11.1", "140", "0123456789abcdef0123456789abcdef")
	s := startFakeMattermost(t, mmtest.Config{Nodes: []mmtest.Node{n, n}})
	c, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(expo(`mattermost_cluster_nodes 1`)), "mattermost_cluster_nodes"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(a, "mattermost_cluster_node_info"); n != 1 {
		t.Errorf("node_info series = %d, want 1", n)
	}
}

func TestClusterCollectorErrors(t *testing.T) {
	tests := []struct {
		name  string
		token string
		fault *mmtest.Fault
		check func(error) bool
	}{
		{"non-admin 403", mmtest.UserToken, nil, mmclient.IsForbidden},
		{"bad token 401", "not-a-valid-token", nil, mmclient.IsUnauthorized},
		{"server error 500", mmtest.AdminToken, &mmtest.Fault{Code: 500}, func(err error) bool { return hasCode(err, 500) }},
		{"proxy 502 page", mmtest.AdminToken, ptr(mmtest.BadGatewayFault()), func(err error) bool { return hasCode(err, 502) }},
		{"malformed JSON", mmtest.AdminToken, &mmtest.Fault{Malformed: true}, func(err error) bool {
			var ae *mmclient.APIError
			return err != nil && !errors.As(err, &ae) && strings.Contains(err.Error(), "cluster status")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFakeMattermost(t, mmtest.Config{Nodes: []mmtest.Node{node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", "9.11.1", "140", "h")}})
			if tc.fault != nil {
				s.SetFault(mmclient.EndpointClusterStatus, *tc.fault)
			}
			c, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, tc.token, nil)}, ClusterConfig{ExpectedNodes: 3})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			// Only the configured expectation is exposed; nothing observed.
			if err := testutil.CollectAndCompare(a, strings.NewReader(expo(`mattermost_cluster_expected_nodes 3`)), clusterMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); !tc.check(err) {
				t.Errorf("Update error = %v, not the expected kind", err)
			}
		})
	}
}

func hasCode(err error, code int) bool {
	var ae *mmclient.APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

func ptr[T any](v T) *T { return &v }

func TestNewClusterCollectorRejectsNegativeExpectation(t *testing.T) {
	s := startFakeMattermost(t, mmtest.Config{})
	if _, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, ClusterConfig{ExpectedNodes: -1}); err == nil {
		t.Error("NewClusterCollector accepted ExpectedNodes -1")
	}
}
