package e2e

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestAlertAndDashboardMetricNames fails when an alert rule or a dashboard query uses a metric
// name the exporter does not export. The exported names come from the golden exposition written
// by the core end-to-end test (e2e/testdata/metrics.golden) once it exists, else from the
// metrics contract.
func TestAlertAndDashboardMetricNames(t *testing.T) {
	known, source, err := promKnownMetricNames()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported names from %s (%d names)", source, len(known))

	var queries []promQuery
	for _, r := range promAlerts(promLoadRules(t, promAlertsFile)) {
		queries = append(queries, promQuery{Where: "alert " + r.Alert, Expr: r.Expr})
	}
	nAlerts := len(queries)
	queries = append(queries, grafanaQueries(t, promLoadDashboard(t, promDashboardFile))...)
	if nAlerts == 0 || len(queries) == nAlerts {
		t.Fatalf("found %d alert expressions and %d dashboard queries; expected both", nAlerts, len(queries)-nAlerts)
	}

	used := map[string]bool{}
	for _, q := range queries {
		names, err := promQLMetricNames(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: selects no metric: %q", q.Where, q.Expr)
		}
		for _, n := range names {
			used[n] = true
			if !known[n] {
				t.Errorf("%s uses %s, which the exporter does not export (per %s)", q.Where, n, source)
			}
		}
	}

	// The dashboard is the operator's view of the whole contract: every contract metric must
	// appear in at least one panel.
	dashUsed := map[string]bool{}
	for _, q := range queries[nAlerts:] {
		names, _ := promQLMetricNames(q.Expr)
		for _, n := range names {
			dashUsed[n] = true
		}
	}
	for _, n := range promContractMetrics {
		if !dashUsed[n] {
			t.Errorf("contract metric %s is on no dashboard panel", n)
		}
	}
}

// TestPromQLMetricNames checks the tokenizer the names test relies on, including that it finds
// a misspelt name (a test that cannot fail would prove nothing).
func TestPromQLMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`mattermost_up == 0`, []string{"mattermost_up"}},
		{`up{job=~".*mattermost.*"} == 0 or absent(up{job=~".*mattermost.*"})`, []string{"up"}},
		{`mattermost_exporter_collector_success == 0 unless on(job, instance) mattermost_up == 0`,
			[]string{"mattermost_exporter_collector_success", "mattermost_up"}},
		{`sum by (job, instance) (increase(mattermost_exporter_api_requests_total{code="429"}[5m])) > 0`,
			[]string{"mattermost_exporter_api_requests_total"}},
		{`sum(rate(a_total{x="y"}[$__rate_interval])) by (endpoint, code)`, []string{"a_total"}},
		{`time() - mattermost_exporter_users_refresh_timestamp_seconds > 3600`,
			[]string{"mattermost_exporter_users_refresh_timestamp_seconds"}},
		{`mattermost_cluster_node_info{job=~"$job"} * on(job, instance, id) group_left(hostname) mattermost_cluster_node_up`,
			[]string{"mattermost_cluster_node_info", "mattermost_cluster_node_up"}},
		{`label_replace(foo, "dst", "$1", "src", "(.*)") + bar offset 5m + baz @ 1609746000`,
			[]string{"bar", "baz", "foo"}},
		{`topk(5, max_over_time(x_seconds[1h:5m])) > bool 1e-3`, []string{"x_seconds"}},
		{`count without (status) (mattermost_users) / ignoring(status) group_right sum(mattermost_users_manual)`,
			[]string{"mattermost_users", "mattermost_users_manual"}},
		{`mattermost_up{job=~"$job",instance=~"$instance"}`, []string{"mattermost_up"}},
		{`vector(1)`, nil},
	}
	for _, c := range cases {
		got, err := promQLMetricNames(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.expr, got, c.want)
		}
	}

	for _, bad := range []string{`sum(x`, `x{a="b"`, `x{a="b}`, `x[5m`, `rate(x[$__rate_interval]) * $factor`} {
		if got, err := promQLMetricNames(bad); err == nil {
			t.Errorf("%q: want an error, got %v", bad, got)
		}
	}

	known := map[string]bool{"mattermost_up": true}
	names, err := promQLMetricNames(`mattermost_upp == 0`)
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	sort.Strings(unknown)
	if strings.Join(unknown, ",") != "mattermost_upp" {
		t.Errorf("misspelt name not reported: unknown = %v", unknown)
	}
}

// TestGoldenExpositionNames checks the exposition reader on a small sample, and, once the core
// test has written it, that the golden file holds every unconditional contract metric.
func TestGoldenExpositionNames(t *testing.T) {
	sample := t.TempDir() + "/sample.prom"
	promWriteFile(t, sample, `# HELP mattermost_up 1 if up.
# TYPE mattermost_up gauge
mattermost_up 1
# HELP h_seconds A histogram.
# TYPE h_seconds histogram
h_seconds_bucket{le="+Inf"} 1
h_seconds_sum 0.1
h_seconds_count 1
plain_metric{a="b"} 2
`)
	names, err := promExpositionNames(sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mattermost_up", "h_seconds", "h_seconds_bucket", "h_seconds_sum", "h_seconds_count", "plain_metric"} {
		if !names[n] {
			t.Errorf("name %s not read from the sample", n)
		}
	}

	golden, err := promExpositionNames(promGoldenFile)
	if err != nil {
		t.Logf("golden exposition not readable yet (%v); the names test uses the contract table", err)
		return
	}
	for _, n := range promContractMetrics {
		if _, conditional := promConditionalMetrics[n]; conditional {
			continue
		}
		if !golden[n] {
			t.Errorf("%s lacks contract metric %s", promGoldenFile, n)
		}
	}
}
