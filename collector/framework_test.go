package collector

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func TestCollectorFlags(t *testing.T) {
	for _, name := range []string{"cluster", "saml", "users"} {
		f := kingpin.CommandLine.GetFlag("collector." + name)
		if f == nil {
			t.Fatalf("no --collector.%s flag", name)
		}
		if want := "(default: enabled)"; !strings.Contains(f.Model().Help, want) {
			t.Errorf("--collector.%s help %q does not state %q", name, f.Model().Help, want)
		}
	}
	if got := strings.Join(Names(), ","); got != "analytics,cluster,health,jobs,license,plugins,saml,users" {
		t.Errorf("Names() = %s", got)
	}

}

// New honours the parsed flags.
func TestNewHonoursFlags(t *testing.T) {
	if _, err := kingpin.CommandLine.Parse([]string{"--no-collector.users", "--no-collector.saml", "--no-collector.health", "--no-collector.license", "--no-collector.jobs", "--no-collector.plugins", "--collector.cluster.expected-nodes=4"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := kingpin.CommandLine.Parse(nil); err != nil {
			t.Error(err)
		}
	})
	s := mmtest.Start(t, mmtest.Config{})
	e, err := New(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Collectors(), ","); got != "cluster" {
		t.Errorf("enabled collectors = %s, want cluster", got)
	}
	want := expo(`mattermost_cluster_expected_nodes 4`, `mattermost_exporter_collector_success{collector="cluster"} 1`)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
		"mattermost_cluster_expected_nodes", "mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
}

func TestAPIMetrics(t *testing.T) {
	m := NewAPIMetrics()
	names := []string{"mattermost_exporter_api_requests_total", "mattermost_exporter_ratelimit_remaining"}
	m.Observe(mmclient.RequestInfo{Endpoint: mmclient.EndpointPing, Code: 200, RateLimitRemaining: -1, RateLimitLimit: -1})
	m.Observe(mmclient.RequestInfo{Endpoint: mmclient.EndpointPing, Code: 0, RateLimitRemaining: -1, RateLimitLimit: -1})
	// No rate-limit header seen yet: no gauge.
	want := expo(
		`mattermost_exporter_api_requests_total{code="200",endpoint="system_ping"} 1`,
		`mattermost_exporter_api_requests_total{code="error",endpoint="system_ping"} 1`,
	)
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	m.Observe(mmclient.RequestInfo{Endpoint: mmclient.EndpointClusterStatus, Code: 429, RateLimitRemaining: 0, RateLimitLimit: 101})
	m.Observe(mmclient.RequestInfo{Endpoint: mmclient.EndpointClusterStatus, Code: 200, RateLimitRemaining: 57, RateLimitLimit: 101})
	m.Observe(mmclient.RequestInfo{Endpoint: mmclient.EndpointPing, Code: 200, RateLimitRemaining: -1, RateLimitLimit: -1})
	want = expo(
		`mattermost_exporter_api_requests_total{code="200",endpoint="cluster_status"} 1`,
		`mattermost_exporter_api_requests_total{code="200",endpoint="system_ping"} 2`,
		`mattermost_exporter_api_requests_total{code="429",endpoint="cluster_status"} 1`,
		`mattermost_exporter_api_requests_total{code="error",endpoint="system_ping"} 1`,
		`mattermost_exporter_ratelimit_remaining 57`,
	)
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// APIMetrics wired as the client's observer sees the fake's rate limiter.
func TestAPIMetricsFromClient(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{RateLimit: &mmtest.RateLimit{PerSec: 0.001, Burst: 9}})
	m := NewAPIMetrics()
	client := fakeClient(t, s.URL, mmtest.AdminToken, m.Observe)
	e := NewExporter(Deps{Client: client}, nil)
	if _, err := testutil.CollectAndFormat(scrapeAdapter{e: e}, expfmt.TypeTextPlain); err != nil {
		t.Fatal(err)
	}
	want := expo(
		`mattermost_exporter_api_requests_total{code="200",endpoint="system_ping"} 1`,
		`mattermost_exporter_ratelimit_remaining 9`,
	)
	if err := testutil.CollectAndCompare(m, strings.NewReader(want),
		"mattermost_exporter_api_requests_total", "mattermost_exporter_ratelimit_remaining"); err != nil {
		t.Error(err)
	}
}

// The full exposition (every collector, admin token, users cached) passes
// promlint, and every metric family has HELP text.
func TestExpositionLint(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes(), SAMLIDP: true, Users: mmtest.GenerateUsers(100, 1),
		RateLimit: &mmtest.RateLimit{PerSec: 1000, Burst: 1000}})
	api := NewAPIMetrics()
	client := fakeClient(t, s.URL, mmtest.AdminToken, api.Observe)
	var logs logBuffer
	deps := Deps{Client: client, Logger: logs.Logger()}
	cluster, err := NewClusterCollector(deps, ClusterConfig{ExpectedNodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	saml, err := NewSAMLCollector(deps)
	if err != nil {
		t.Fatal(err)
	}
	users, err := NewUsersCollector(deps, DefaultUsersConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := NewExporter(deps, map[string]Collector{"cluster": cluster, "saml": saml, "users": users})

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrapeAdapter{e: e}, api, versioncollector.NewCollector("mattermost_exporter"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP text", mf.GetName())
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := promlint.New(&buf).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// Everything the contract lists is there.
	for _, name := range []string{
		"mattermost_up", "mattermost_server_info", "mattermost_cluster_nodes", "mattermost_cluster_node_info",
		"mattermost_cluster_node_up", "mattermost_cluster_versions", "mattermost_cluster_config_hashes",
		"mattermost_cluster_expected_nodes", "mattermost_saml_certificate_present", "mattermost_saml_enabled",
		"mattermost_users", "mattermost_users_manual", "mattermost_users_sweep_timestamp_seconds",
		"mattermost_exporter_collector_success", "mattermost_exporter_collector_duration_seconds",
		"mattermost_exporter_build_info", "mattermost_exporter_users_refresh_timestamp_seconds",
		"mattermost_exporter_users_refresh_duration_seconds", "mattermost_exporter_users_cached",
		"mattermost_exporter_api_requests_total", "mattermost_exporter_ratelimit_remaining",
	} {
		found := false
		for _, mf := range mfs {
			found = found || mf.GetName() == name
		}
		if !found {
			t.Errorf("%s missing from the exposition", name)
		}
	}
}
