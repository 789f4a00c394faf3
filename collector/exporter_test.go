package collector

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// newTestExporter builds an exporter with the cluster and saml collectors
// (and extra ones) against url with token, logging into logs.
func newTestExporter(t *testing.T, url, token string, logs *logBuffer, extra map[string]Collector) (*Exporter, *mmclient.Client) {
	t.Helper()
	client := fakeClient(t, url, token, nil)
	deps := Deps{Client: client, Logger: logs.Logger()}
	cluster, err := NewClusterCollector(deps, ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	saml, err := NewSAMLCollector(deps)
	if err != nil {
		t.Fatal(err)
	}
	cs := map[string]Collector{"cluster": cluster, "saml": saml}
	for k, v := range extra {
		cs[k] = v
	}
	return NewExporter(deps, cs), client
}

func threeNodes() []mmtest.Node {
	return []mmtest.Node{
		node("aaaaaaaaaaaaaaaaaaaaaaaaaa", "mm-1", "10.0.0.1:8074", "9.11.1", "140", "0123456789abcdef0123456789abcdef"),
		node("bbbbbbbbbbbbbbbbbbbbbbbbbb", "mm-2", "10.0.0.2:8074", "9.11.1", "140", "0123456789abcdef0123456789abcdef"),
		{ID: "cccccccccccccccccccccccccc"},
	}
}

const defaultServerInfo = `mattermost_server_info{build_number="dev",licensed="false",version="5.37.0"} 1`

func TestExporterAdmin(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes(), SAMLIDP: true, SAMLEnabled: true})
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
	sc := scrapeAdapter{e: e}
	want := expo(
		`mattermost_up 1`,
		defaultServerInfo,
		`mattermost_cluster_nodes 3`,
		`mattermost_cluster_versions 1`,
		`mattermost_cluster_config_hashes 1`,
		`mattermost_saml_certificate_present{certificate="idp"} 1`,
		`mattermost_saml_certificate_present{certificate="private_key"} 0`,
		`mattermost_saml_certificate_present{certificate="public"} 0`,
		`mattermost_saml_enabled 1`,
		`mattermost_exporter_collector_success{collector="cluster"} 1`,
		`mattermost_exporter_collector_success{collector="saml"} 1`,
	)
	if err := testutil.CollectAndCompare(sc, strings.NewReader(want),
		"mattermost_up", "mattermost_server_info", "mattermost_cluster_nodes", "mattermost_cluster_versions",
		"mattermost_cluster_config_hashes", "mattermost_saml_certificate_present", "mattermost_saml_enabled",
		"mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(sc, "mattermost_exporter_collector_duration_seconds"); n != 2 {
		t.Errorf("collector_duration_seconds series = %d, want 2", n)
	}
	if n := testutil.CollectAndCount(sc, "mattermost_cluster_node_up"); n != 3 {
		t.Errorf("cluster_node_up series = %d, want 3", n)
	}
	if l := logs.LinesContaining("level=error"); len(l) != 0 {
		t.Errorf("unexpected error logs: %q", l)
	}
	// One scrape = ping + cluster + SAML certificate + client config.
	s.ResetCounters()
	if _, err := testutil.CollectAndFormat(sc, expfmt.TypeTextPlain); err != nil {
		t.Fatal(err)
	}
	for ep, want := range map[string]int64{
		mmclient.EndpointPing: 1, mmclient.EndpointClusterStatus: 1,
		mmclient.EndpointSAMLCertificate: 1, mmclient.EndpointClientConfig: 1,
	} {
		if got := s.Requests(ep); got != want {
			t.Errorf("requests to %s per scrape = %d, want %d", ep, got, want)
		}
	}
	if got := s.TotalRequests(); got != 4 {
		t.Errorf("requests per scrape = %d, want 4", got)
	}
}

// A non-admin token: cluster and SAML fail with one clear log line each,
// the users counts still appear.
func TestExporterNonAdmin(t *testing.T) {
	users := mmtest.GenerateUsers(300, 7)
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes(), SAMLEnabled: true, Users: users})
	var logs logBuffer
	client := fakeClient(t, s.URL, mmtest.UserToken, nil)
	uc, err := NewUsersCollector(Deps{Client: client, Logger: logs.Logger()}, DefaultUsersConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := uc.Refresh(context.Background()); err != nil {
		t.Fatalf("users refresh: %v", err)
	}
	e, _ := newTestExporter(t, s.URL, mmtest.UserToken, &logs, map[string]Collector{"users": uc})
	sc := scrapeAdapter{e: e}
	want := expo(
		`mattermost_up 1`,
		`mattermost_saml_enabled 1`,
		`mattermost_exporter_collector_success{collector="cluster"} 0`,
		`mattermost_exporter_collector_success{collector="saml"} 0`,
		`mattermost_exporter_collector_success{collector="users"} 1`,
	)
	if err := testutil.CollectAndCompare(sc, strings.NewReader(want),
		"mattermost_up", "mattermost_cluster_nodes", "mattermost_saml_certificate_present", "mattermost_saml_enabled",
		"mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	for _, c := range []struct{ collector, role string }{
		{"cluster", "system_admin role (or system_read_only_admin/system_manager) for /cluster/status"},
		{"saml", "system_admin role for /saml/certificate/status"},
	} {
		lines := logs.LinesContaining("level=error", "collector="+c.collector, "permission denied", c.role)
		// CollectAndCompare scraped once: exactly one line per collector.
		if len(lines) != 1 {
			t.Errorf("%s: %d permission log lines, want 1; logs:\n%s", c.collector, len(lines), logs.String())
		}
		if all := logs.LinesContaining("collector=" + c.collector); len(all) != 1 {
			t.Errorf("%s: %d log lines in one scrape, want 1: %q", c.collector, len(all), all)
		}
	}
	if strings.Contains(logs.String(), mmtest.UserToken) {
		t.Error("the token appears in the logs")
	}
	if n := testutil.CollectAndCount(sc, "mattermost_users"); n != 5 {
		t.Errorf("mattermost_users series = %d, want 5 (one per status); logs:\n%s", n, logs.String())
	}
}

func TestExporterBadToken(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
	var logs logBuffer
	const badToken = "zzzzzzzzzzzzzzzzzzzzzzzzzz"
	e, _ := newTestExporter(t, s.URL, badToken, &logs, nil)
	want := expo(
		// The ping needs no session: Mattermost is up, the token is not.
		`mattermost_up 1`,
		`mattermost_exporter_collector_success{collector="cluster"} 0`,
		`mattermost_exporter_collector_success{collector="saml"} 0`,
	)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
		"mattermost_up", "mattermost_cluster_nodes", "mattermost_saml_certificate_present",
		"mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	for _, c := range []string{"cluster", "saml"} {
		if l := logs.LinesContaining("level=error", "collector="+c, "authentication failed"); len(l) != 1 {
			t.Errorf("%s: %d authentication log lines, want 1; logs:\n%s", c, len(l), logs.String())
		}
	}
	if strings.Contains(logs.String(), badToken) {
		t.Error("the token appears in the logs")
	}
}

func TestExporterServerDown(t *testing.T) {
	t.Run("proxy answers 502", func(t *testing.T) {
		s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
		var logs logBuffer
		e, client := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
		// Seen once healthy: the version must not linger once it is down.
		if _, err := client.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.SetDown(true)
		want := expo(
			`mattermost_up 0`,
			`mattermost_exporter_collector_success{collector="cluster"} 0`,
			`mattermost_exporter_collector_success{collector="saml"} 0`,
		)
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
			"mattermost_up", "mattermost_server_info", "mattermost_cluster_nodes", "mattermost_exporter_collector_success"); err != nil {
			t.Error(err)
		}
		if l := logs.LinesContaining("level=error", "ping failed", "502"); len(l) != 1 {
			t.Errorf("%d ping failure lines, want 1; logs:\n%s", len(l), logs.String())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		s := mmtest.NewServer(mmtest.Config{})
		url := s.URL
		s.Close()
		var logs logBuffer
		e, _ := newTestExporter(t, url, mmtest.AdminToken, &logs, nil)
		want := expo(
			`mattermost_up 0`,
			`mattermost_exporter_collector_success{collector="cluster"} 0`,
			`mattermost_exporter_collector_success{collector="saml"} 0`,
		)
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
			"mattermost_up", "mattermost_server_info", "mattermost_exporter_collector_success"); err != nil {
			t.Error(err)
		}
	})
}

func TestExporterUnhealthy(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetUnhealthy(true)
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
	want := expo(`mattermost_up 0`, defaultServerInfo)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want), "mattermost_up", "mattermost_server_info"); err != nil {
		t.Error(err)
	}
	if l := logs.LinesContaining("level=error", "unhealthy"); len(l) != 1 {
		t.Errorf("%d unhealthy lines, want 1; logs:\n%s", len(l), logs.String())
	}
}

// A ping answered 200 with a status other than OK: up 0, the version still
// shown, and one error line saying which status (not an empty err).
func TestExporterPingNotOK(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version-Id", "5.37.0.dev.69eecffd97ac52aa7ded7e85cca56e52.false")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"DEGRADED"}`)
	}))
	t.Cleanup(ts.Close)
	var logs logBuffer
	client := fakeClient(t, ts.URL, mmtest.AdminToken, nil)
	e := NewExporter(Deps{Client: client, Logger: logs.Logger()}, nil)
	want := expo(`mattermost_up 0`, defaultServerInfo)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want), "mattermost_up", "mattermost_server_info"); err != nil {
		t.Error(err)
	}
	l := logs.LinesContaining("level=error", "unhealthy", "status=DEGRADED")
	if len(l) != 1 || strings.Contains(l[0], "err=null") || !strings.Contains(l[0], `err="ping answered status \"DEGRADED\""`) {
		t.Errorf("want one error line naming the status; logs:\n%s", logs.String())
	}
}

// Mattermost's rate limiter refusing the ping means the server is there: up
// 1, one warn line, and no retry of the ping (one request, not four).
func TestExporterPingRateLimited(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetFault(mmclient.EndpointPing, mmtest.Fault{Code: 429, RetryAfter: 1})
	var logs logBuffer
	client := fakeClient(t, s.URL, mmtest.AdminToken, nil)
	e := NewExporter(Deps{Client: client, Logger: logs.Logger()}, nil)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e, timeout: 20 * time.Second}, strings.NewReader(expo(`mattermost_up 1`)), "mattermost_up"); err != nil {
		t.Error(err)
	}
	if got := s.Requests(mmclient.EndpointPing); got != 1 {
		t.Errorf("ping requests = %d, want 1 (a rate-limited ping is not retried)", got)
	}
	if l := logs.LinesContaining("level=warn", "rate limited the ping"); len(l) != 1 {
		t.Errorf("%d rate-limit lines, want 1; logs:\n%s", len(l), logs.String())
	}
	if l := logs.LinesContaining("level=error"); len(l) != 0 {
		t.Errorf("error lines for a rate-limited ping:\n%s", strings.Join(l, "\n"))
	}
}

func TestExporterServerInfoLabels(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Version: "10.5.1.12345.0123456789abcdef0123456789abcdef.true"})
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
	want := expo(`mattermost_server_info{build_number="12345",licensed="true",version="10.5.1"} 1`)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want), "mattermost_server_info"); err != nil {
		t.Error(err)
	}
}

func TestExporterServerErrorHidesOnlyItsArea(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
	s.SetFault(mmclient.EndpointSAMLCertificate, mmtest.Fault{Code: 500})
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
	want := expo(
		`mattermost_up 1`,
		`mattermost_cluster_nodes 3`,
		`mattermost_saml_enabled 0`,
		`mattermost_exporter_collector_success{collector="cluster"} 1`,
		`mattermost_exporter_collector_success{collector="saml"} 0`,
	)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
		"mattermost_up", "mattermost_cluster_nodes", "mattermost_saml_certificate_present", "mattermost_saml_enabled",
		"mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	if l := logs.LinesContaining("level=error", "collector=saml", "collection failed", "HTTP 500"); len(l) != 1 {
		t.Errorf("%d saml error lines, want 1; logs:\n%s", len(l), logs.String())
	}
}

// A 429 is retried after Retry-After when the deadline allows it, and
// reported at once (success 0, a warning) when it does not.
func TestExporterRateLimited(t *testing.T) {
	t.Run("retry fits the deadline", func(t *testing.T) {
		s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
		s.SetFault(mmclient.EndpointClusterStatus, mmtest.Fault{Code: 429, RetryAfter: 1, Times: 1})
		var logs logBuffer
		e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
		want := expo(
			`mattermost_cluster_nodes 3`,
			`mattermost_exporter_collector_success{collector="cluster"} 1`,
			`mattermost_exporter_collector_success{collector="saml"} 1`,
		)
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e, timeout: 20 * time.Second}, strings.NewReader(want),
			"mattermost_cluster_nodes", "mattermost_exporter_collector_success"); err != nil {
			t.Error(err)
		}
		if got := s.Requests(mmclient.EndpointClusterStatus); got != 2 {
			t.Errorf("cluster status requests = %d, want 2 (429 then retry)", got)
		}
	})
	t.Run("retry would pass the deadline", func(t *testing.T) {
		s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
		s.SetFault(mmclient.EndpointClusterStatus, mmtest.Fault{Code: 429, RetryAfter: 30})
		var logs logBuffer
		e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
		want := expo(
			`mattermost_up 1`,
			`mattermost_exporter_collector_success{collector="cluster"} 0`,
			`mattermost_exporter_collector_success{collector="saml"} 1`,
		)
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e, timeout: 5 * time.Second}, strings.NewReader(want),
			"mattermost_up", "mattermost_cluster_nodes", "mattermost_exporter_collector_success"); err != nil {
			t.Error(err)
		}
		if got := s.Requests(mmclient.EndpointClusterStatus); got != 1 {
			t.Errorf("cluster status requests = %d, want 1 (no retry past the deadline)", got)
		}
		if l := logs.LinesContaining("level=warn", "collector=cluster", "rate limited"); len(l) != 1 {
			t.Errorf("%d rate-limit lines, want 1; logs:\n%s", len(l), logs.String())
		}
	})
}

// A slow answer is abandoned at the scrape deadline; the other areas are
// still reported.
func TestExporterSlowAnswerVsDeadline(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
	s.SetFault(mmclient.EndpointSAMLCertificate, mmtest.Fault{Delay: time.Minute})
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, nil)
	sc := scrapeAdapter{e: e, timeout: 500 * time.Millisecond}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(sc)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := expo(
		`mattermost_up 1`,
		`mattermost_cluster_nodes 3`,
		`mattermost_exporter_collector_success{collector="cluster"} 1`,
		`mattermost_exporter_collector_success{collector="saml"} 0`,
	)
	if err := testutil.GatherAndCompare(prometheus.Gatherers{staticGatherer(mfs)}, strings.NewReader(want),
		"mattermost_up", "mattermost_cluster_nodes", "mattermost_saml_certificate_present", "mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	// The SAML collector gave up at the deadline, not after the fake's minute.
	if d := metricValue(mfs, "mattermost_exporter_collector_duration_seconds", "saml"); d <= 0 || d > 30 {
		t.Errorf("saml duration = %v s, want it cut by the 0.5 s deadline", d)
	}
	if l := logs.LinesContaining("level=warn", "collector=saml", "deadline"); len(l) != 1 {
		t.Errorf("%d deadline lines, want 1; logs:\n%s", len(l), logs.String())
	}
}

type staticGatherer []*dto.MetricFamily

func (g staticGatherer) Gather() ([]*dto.MetricFamily, error) { return g, nil }

func metricValue(mfs []*dto.MetricFamily, name, collectorLabel string) float64 {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "collector" && lp.GetValue() == collectorLabel {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

type funcCollector func(ctx context.Context, ch chan<- prometheus.Metric) error

func (f funcCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return f(ctx, ch)
}

func TestExporterPanicIsIsolated(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Nodes: threeNodes()})
	var logs logBuffer
	e, _ := newTestExporter(t, s.URL, mmtest.AdminToken, &logs, map[string]Collector{
		"broken": funcCollector(func(context.Context, chan<- prometheus.Metric) error { panic("boom") }),
	})
	want := expo(
		`mattermost_up 1`,
		`mattermost_exporter_collector_success{collector="broken"} 0`,
		`mattermost_exporter_collector_success{collector="cluster"} 1`,
		`mattermost_exporter_collector_success{collector="saml"} 1`,
	)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want), "mattermost_up", "mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	if l := logs.LinesContaining("level=error", "collector=broken", "panicked: boom"); len(l) != 1 {
		t.Errorf("%d panic lines, want 1; logs:\n%s", len(l), logs.String())
	}
}

// Collectors run in parallel: two collectors that each wait for the other
// can only both succeed if they run at the same time.
func TestExporterRunsCollectorsInParallel(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	aStarted, bStarted := make(chan struct{}), make(chan struct{})
	rendezvous := func(mine, other chan struct{}) Collector {
		return funcCollector(func(ctx context.Context, ch chan<- prometheus.Metric) error {
			close(mine)
			select {
			case <-other:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	var logs logBuffer
	e := NewExporter(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil), Logger: logs.Logger()},
		map[string]Collector{"a": rendezvous(aStarted, bStarted), "b": rendezvous(bStarted, aStarted)})
	want := expo(
		`mattermost_exporter_collector_success{collector="a"} 1`,
		`mattermost_exporter_collector_success{collector="b"} 1`,
	)
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e, timeout: 20 * time.Second}, strings.NewReader(want), "mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	if got := e.Collectors(); strings.Join(got, ",") != "a,b" {
		t.Errorf("Collectors() = %v", got)
	}
}

type startCounter struct {
	funcCollector
	started atomic.Int32
	ctx     atomic.Value
}

func (s *startCounter) Start(ctx context.Context) {
	s.started.Add(1)
	s.ctx.Store(ctx)
}

func TestExporterStart(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	sc := &startCounter{funcCollector: func(context.Context, chan<- prometheus.Metric) error { return nil }}
	e := NewExporter(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, map[string]Collector{
		"bg":    sc,
		"plain": funcCollector(func(context.Context, chan<- prometheus.Metric) error { return nil }),
	})
	ctx, cancel := context.WithCancel(context.Background())
	e.Start(ctx)
	if n := sc.started.Load(); n != 1 {
		t.Fatalf("Start called %d times, want 1", n)
	}
	cancel()
	got := sc.ctx.Load().(context.Context)
	if !errors.Is(got.Err(), context.Canceled) {
		t.Error("the collector's Start context does not follow the exporter's")
	}
}

func TestExporterNotReadyLoggedAtInfo(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	var logs logBuffer
	e := NewExporter(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil), Logger: logs.Logger()}, map[string]Collector{
		"late": funcCollector(func(context.Context, chan<- prometheus.Metric) error {
			return errors.Join(errors.New("cache not built"), ErrNotReady)
		}),
	})
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(expo(`mattermost_exporter_collector_success{collector="late"} 0`)),
		"mattermost_exporter_collector_success"); err != nil {
		t.Error(err)
	}
	if l := logs.LinesContaining("level=info", "collector=late"); len(l) != 1 {
		t.Errorf("%d info lines, want 1; logs:\n%s", len(l), logs.String())
	}
	if l := logs.LinesContaining("level=error"); len(l) != 0 {
		t.Errorf("not-ready logged as error: %q", l)
	}
}

func TestNewRequiresClient(t *testing.T) {
	if _, err := New(Deps{Logger: log.NewNopLogger()}); err == nil {
		t.Error("New accepted a nil client")
	}
}
