package collector

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// fakeClient returns a client of url with token; observer may be nil.
func fakeClient(t testing.TB, url, token string, observer func(mmclient.RequestInfo)) *mmclient.Client {
	t.Helper()
	c, err := mmclient.New(mmclient.Options{BaseURL: url, Token: token, Observer: observer})
	if err != nil {
		t.Fatalf("mmclient.New: %v", err)
	}
	return c
}

// waitFor polls cond for up to 30 s (testhelp.WaitFor).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testhelp.WaitFor(t, 30*time.Second, what, cond)
}

// logBuffer is the shared log buffer (testhelp.LogBuffer).
type logBuffer = testhelp.LogBuffer

// updateAdapter turns one Collector into a prometheus.Collector for
// testutil; the error of the last Update is kept.
type updateAdapter struct {
	c       Collector
	timeout time.Duration

	mu  sync.Mutex
	err error
}

func (u *updateAdapter) Describe(chan<- *prometheus.Desc) {}

func (u *updateAdapter) Collect(ch chan<- prometheus.Metric) {
	timeout := u.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := u.c.Update(ctx, ch)
	u.mu.Lock()
	u.err = err
	u.mu.Unlock()
}

func (u *updateAdapter) lastErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// scrapeAdapter collects one Exporter scrape with a fresh timeout context.
type scrapeAdapter struct {
	e       *Exporter
	timeout time.Duration
}

func (s scrapeAdapter) Describe(chan<- *prometheus.Desc) {}

func (s scrapeAdapter) Collect(ch chan<- prometheus.Metric) {
	timeout := s.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.e.ScrapeCollector(ctx).Collect(ch)
}

// Expected HELP/TYPE headers, so the test expectations stay readable.
var helpLines = map[string]string{
	"mattermost_up":                                  "1 if Mattermost's API answered this scrape's GET /api/v4/system/ping with status OK, or refused it with HTTP 429 (rate limited, see mattermost_exporter_api_requests_total), else 0 (unreachable, error, or UNHEALTHY).",
	"mattermost_server_info":                         "Mattermost server version, from the X-Version-Id header of this scrape's answers; always 1. Absent when the server did not answer.",
	"mattermost_cluster_nodes":                       "Nodes listed by GET /api/v4/cluster/status, reachable or not (0 when Mattermost is not clustered).",
	"mattermost_cluster_node_info":                   "One series per node listed by /cluster/status, with its reported fields as labels (empty for a node the cluster could not reach); always 1.",
	"mattermost_cluster_node_up":                     "1 if the node listed by /cluster/status reported its version, 0 if it is listed with empty fields (the cluster could not reach it).",
	"mattermost_cluster_versions":                    "Distinct versions among reachable cluster nodes; more than 1 means version skew (0 when not clustered).",
	"mattermost_cluster_config_hashes":               "Distinct config hashes among reachable cluster nodes; more than 1 means the nodes run different configs (0 when not clustered).",
	"mattermost_exporter_cluster_nodes_over_limit":   "1 if /cluster/status listed more nodes than --collector.cluster.max-nodes (the cluster collector then fails and exposes no node series), 0 if the list was accepted; absent when the call failed otherwise.",
	"mattermost_cluster_expected_nodes":              "Number of cluster nodes expected, from --collector.cluster.expected-nodes (only present when set).",
	"mattermost_saml_certificate_present":            "1 if the SAML certificate file (idp, public, private_key) is configured and present in Mattermost's config store, else 0. Says nothing about validity or expiry.",
	"mattermost_saml_enabled":                        "1 if SAML login is enabled (EnableSaml in Mattermost's client config), else 0.",
	"mattermost_exporter_collector_success":          "1 if the collector's last collection (this scrape) worked, else 0.",
	"mattermost_exporter_ratelimit_remaining":        "Requests left in Mattermost's rate-limit bucket for the exporter, from the last X-Ratelimit-Remaining header seen (present once the server has sent one).",
	"mattermost_exporter_api_requests_total":         "HTTP requests the exporter made to the Mattermost API, by endpoint and HTTP status code (code=\"error\" when no answer came back).",
	"mattermost_exporter_collector_duration_seconds": "How long the collector took during this scrape, in seconds.",
}

// expo builds expected exposition text: for each metric name in the order
// given, its HELP (from helpLines) and TYPE lines followed by the sample
// lines starting with that name.
func expo(samples ...string) string { return expoWith(helpLines, samples...) }

// expoWith is expo with the HELP texts of help.
func expoWith(help map[string]string, samples ...string) string {
	var b strings.Builder
	done := map[string]bool{}
	for _, s := range samples {
		name := s
		if i := strings.IndexAny(s, "{ "); i >= 0 {
			name = s[:i]
		}
		if !done[name] {
			done[name] = true
			typ := "gauge"
			if strings.HasSuffix(name, "_total") {
				typ = "counter"
			}
			b.WriteString("# HELP " + name + " " + help[name] + "\n")
			b.WriteString("# TYPE " + name + " " + typ + "\n")
		}
		b.WriteString(s + "\n")
	}
	return b.String()
}
