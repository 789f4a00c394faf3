package collector

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
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
			s := mmtest.Start(t, mmtest.Config{Nodes: tc.nodes})
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
	s := mmtest.Start(t, mmtest.Config{Nodes: []mmtest.Node{n, n}})
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
			s := mmtest.Start(t, mmtest.Config{Nodes: []mmtest.Node{node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", "9.11.1", "140", "h")}})
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
	s := mmtest.Start(t, mmtest.Config{})
	if _, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, ClusterConfig{ExpectedNodes: -1}); err == nil {
		t.Error("NewClusterCollector accepted ExpectedNodes -1")
	}
}

func TestServerString(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	tests := []struct {
		name, in, want string
	}{
		{"short", "mm-1", "mm-1"},
		{"empty", "", ""},
		{"exactly the limit", strings.Repeat("b", maxLabelValueLen), strings.Repeat("b", maxLabelValueLen)},
		{"one byte over", strings.Repeat("b", maxLabelValueLen+1), strings.Repeat("b", maxLabelValueLen-len(truncationMarker)) + truncationMarker},
		{"1 MB", long, strings.Repeat("a", maxLabelValueLen-len(truncationMarker)) + truncationMarker},
		{"invalid UTF-8", "mm-\xff\xfe-1", "mm-\uFFFD-1"},
		// 124 ASCII bytes then a 3-byte rune: it straddles the cut and goes.
		{"rune at the cut", strings.Repeat("c", 124) + "€€€", strings.Repeat("c", 124) + truncationMarker},
		// Short but invalid bytes that grow past the limit once replaced.
		{"replacement grows", strings.Repeat("\xffa", 64), strings.Repeat("\uFFFDa", 31) + truncationMarker},
		{"all invalid and long", strings.Repeat("\xff", 1000), "\uFFFD" + truncationMarker},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serverString(tc.in)
			if got != tc.want {
				t.Errorf("serverString = %q (%d bytes), want %q", got, len(got), tc.want)
			}
			if len(got) > maxLabelValueLen || !utf8.ValidString(got) {
				t.Errorf("serverString = %q: %d bytes, valid UTF-8 %v", got, len(got), utf8.ValidString(got))
			}
		})
	}
}

// More nodes than --collector.cluster.max-nodes: the collector fails, no
// node series, the over-limit gauge is 1, and the log says so once (not
// once per scrape).
func TestClusterCollectorTooManyNodes(t *testing.T) {
	nodes := make([]mmtest.Node, DefaultClusterMaxNodes+1)
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("%026d", i), fmt.Sprintf("mm-%d", i), "10.0.0.1:8074", "9.11.1", "140", "h")
	}
	s := mmtest.Start(t, mmtest.Config{Nodes: nodes})
	var logs logBuffer
	deps := Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil), Logger: logs.Logger()}
	c, err := NewClusterCollector(deps, ClusterConfig{}) // default limit
	if err != nil {
		t.Fatal(err)
	}
	e := NewExporter(deps, map[string]Collector{"cluster": c})
	want := expo(
		`mattermost_exporter_cluster_nodes_over_limit 1`,
		`mattermost_exporter_collector_success{collector="cluster"} 0`,
	)
	for i := 0; i < 3; i++ {
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
			"mattermost_exporter_cluster_nodes_over_limit", "mattermost_exporter_collector_success"); err != nil {
			t.Errorf("scrape %d: %v", i, err)
		}
		if n := testutil.CollectAndCount(scrapeAdapter{e: e}, clusterMetricNames...); n != 0 {
			t.Errorf("scrape %d: %d cluster series, want none", i, n)
		}
	}
	lines := logs.LinesContaining("level=error")
	if len(lines) != 1 || !strings.Contains(lines[0], "--collector.cluster.max-nodes") || !strings.Contains(lines[0], "max_nodes=100") {
		t.Errorf("want one error line naming the flag over 6 scrapes, got:\n%s", logs.String())
	}

	// A raised limit accepts the list and says so.
	c, err = NewClusterCollector(deps, ClusterConfig{MaxNodes: 200})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(expo(`mattermost_exporter_cluster_nodes_over_limit 0`, `mattermost_cluster_nodes 101`)),
		"mattermost_exporter_cluster_nodes_over_limit", "mattermost_cluster_nodes"); err != nil {
		t.Error(err)
	}
}

// Twenty nodes with 1 MB hostnames (and 1 KB other fields): every label
// value is cut to the limit and the scrape stays valid.
func TestClusterCollectorHugeLabels(t *testing.T) {
	// Long values that fit the client's body cap (a few KiB per node)
	// become labels cut to maxLabelValueLen.
	nodes := make([]mmtest.Node, 20)
	long := strings.Repeat("h", 8<<10)
	for i := range nodes {
		id := fmt.Sprintf("%026d", i)
		kb := strings.Repeat("k", 1<<10)
		nodes[i] = node(id, fmt.Sprintf("%02d", i)+long, kb, kb, kb, kb)
	}
	s := mmtest.Start(t, mmtest.Config{Nodes: nodes})
	c, err := NewClusterCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, &updateAdapter{c: c}, 20)

	// 20 hostnames of 1 MB exceed the body cap: the collector fails
	// without reading the whole answer and exposes no node series.
	huge := strings.Repeat("h", 1<<20)
	for i := range nodes {
		nodes[i].Hostname = fmt.Sprintf("%02d", i) + huge
	}
	s.SetNodes(nodes)
	a := &updateAdapter{c: c}
	checkLabels(t, a, 0)
	if err := a.lastErr(); !errors.Is(err, mmclient.ErrBodyTooLarge) {
		t.Errorf("Update error = %v, want ErrBodyTooLarge", err)
	}
}

// Invalid UTF-8 in a cluster answer never panics and never reaches a label.
func TestClusterCollectorInvalidUTF8(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaa\",\"hostname\":\"mm-\xff\xfe\",\"ipaddress\":\"10.0.0.1\xc3\",\"version\":\"9.11.1\xed\xa0\x80\",\"schema_version\":\"\xf0\x28\",\"config_hash\":\"h\x80\"}]")
	}))
	t.Cleanup(srv.Close)
	c, err := NewClusterCollector(Deps{Client: fakeClient(t, srv.URL, mmtest.AdminToken, nil)}, ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	checkLabels(t, a, 1)
	if err := a.lastErr(); err != nil {
		t.Errorf("Update error = %v", err)
	}
}

// checkLabels gathers c through a registry (which rejects invalid label
// values) and checks that it got want node_info series whose label values
// are all valid UTF-8 of at most maxLabelValueLen bytes.
func checkLabels(t *testing.T, c prometheus.Collector, want int) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	infos := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "mattermost_cluster_node_info" {
				infos++
			}
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); len(v) > maxLabelValueLen || !utf8.ValidString(v) {
					t.Errorf("%s{%s}: %d bytes, valid UTF-8 %v", mf.GetName(), l.GetName(), len(v), utf8.ValidString(v))
				}
			}
		}
	}
	if infos != want {
		t.Errorf("node_info series = %d, want %d", infos, want)
	}
}
