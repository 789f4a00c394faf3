package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func TestProbeRejectsAnythingButAConfiguredName(t *testing.T) {
	e := newEnv(t)
	prod := e.server(mmtest.Config{})
	other := e.server(mmtest.Config{}) // not in the config: named by URL below
	f := e.fleet("targets:\n"+e.targetYAML("prod", prod.URL), Options{})
	long := strings.Repeat("a", 10000)
	cases := map[string]string{
		"no parameter":        "",
		"empty":               "target=",
		"repeated":            "target=prod&target=prod",
		"repeated, one empty": "target=prod&target=",
		"unknown name":        "target=nope",
		"URL":                 "target=" + url.QueryEscape(other.URL),
		"host:port":           "target=" + strings.TrimPrefix(other.URL, "http://"),
		"path traversal":      "target=../../etc/passwd",
		"encoded traversal":   "target=%2e%2e%2fprod",
		"CRLF header inject":  "target=prod%0d%0aX-Injected:%20yes",
		"LF inject":           "target=prod%0aX-Injected:%20yes",
		"space":               "target=pro%20d",
		"plus (space)":        "target=pro+d",
		"NUL":                 "target=prod%00",
		"very long":           "target=" + long,
		"unicode":             "target=pr%C3%B6d",
		"malformed escape":    "target=%zz",
		"semicolon":           "target=prod;x",
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			w := probeReq(f, q)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("code %d, want 400; body %q", w.Code, w.Body.String())
			}
			body := strings.TrimSuffix(w.Body.String(), "\n")
			if body == "" || strings.ContainsAny(body, "\r\n") {
				t.Errorf("reason is not one line: %q", body)
			}
			if len(body) > 300 {
				t.Errorf("reason is %d bytes long", len(body))
			}
			if strings.Contains(body, "X-Injected") || strings.Contains(body, other.URL) || strings.Contains(body, "..") {
				t.Errorf("reason echoes the rejected value: %q", body)
			}
			for k := range w.Header() {
				if strings.EqualFold(k, "X-Injected") {
					t.Errorf("header injected")
				}
			}
		})
	}
	if n := prod.TotalRequests() + other.TotalRequests(); n != 0 {
		t.Errorf("%d requests reached a fake server, want 0", n)
	}
	if f.StartedTargets() != 0 {
		t.Errorf("a rejected probe started a target")
	}
	if got := testutil.ToFloat64(f.metrics.rejected); got != float64(len(cases)) {
		t.Errorf("rejected counter %v, want %d", got, len(cases))
	}
	// Other methods are refused too.
	r := httptest.NewRequest(http.MethodPost, "/probe?target=prod", nil)
	w := httptest.NewRecorder()
	f.Handler(HandlerOpts{}).ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || prod.TotalRequests() != 0 {
		t.Errorf("POST: code %d, requests %d", w.Code, prod.TotalRequests())
	}
}

func TestProbeServesTheTargetsMetrics(t *testing.T) {
	e := newEnv(t)
	healthy := e.server(mmtest.Config{Nodes: []mmtest.Node{{ID: "n1", Hostname: "a", Version: "9.0.0"}, {ID: "n2", Hostname: "b", Version: "9.0.0"}}})
	forbidden := e.server(mmtest.Config{})
	forbidden.SetFault(mmtest.EndpointClusterStatus, mmtest.Fault{Code: http.StatusForbidden})
	body := "targets:\n" +
		e.targetYAML("healthy", healthy.URL, "collectors: [cluster, saml]", "cluster: {expected_nodes: 2}", "labels: {customer: acme}") +
		e.targetYAML("forbidden", forbidden.URL, "collectors: [cluster]")
	f := e.fleet(body, Options{})

	w := probeReq(f, "target=healthy")
	if w.Code != http.StatusOK {
		t.Fatalf("code %d: %s", w.Code, w.Body)
	}
	out := w.Body.String()
	for _, want := range []string{
		`mattermost_up{customer="acme"} 1`,
		`mattermost_cluster_nodes{customer="acme"} 2`,
		`mattermost_cluster_expected_nodes{customer="acme"} 2`,
		`mattermost_exporter_collector_success{collector="cluster",customer="acme"} 1`,
		`mattermost_probe_success{customer="acme"} 1`,
		`mattermost_probe_duration_seconds{customer="acme"}`,
		`mattermost_exporter_api_requests_total{code="200",customer="acme",endpoint="cluster_status"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("healthy probe lacks %s", want)
		}
	}
	for _, unwanted := range []string{"go_goroutines", "process_", "mattermost_exporter_build_info", `collector="users"`, "mattermost_exporter_config_"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("probe holds %s", unwanted)
		}
	}

	out = probeReq(f, "target=forbidden").Body.String()
	for _, want := range []string{
		"mattermost_up 1",
		`mattermost_exporter_collector_success{collector="cluster"} 0`,
		"mattermost_probe_success 0",
	} {
		if !strings.Contains(out, "\n"+want+"\n") {
			t.Errorf("forbidden probe lacks %s:\n%s", want, out)
		}
	}
	// Neither probe's API requests show up in the other's.
	if strings.Contains(out, `code="200",endpoint="cluster_status"`) {
		t.Errorf("forbidden probe counts the healthy target's requests")
	}
	if got := healthy.Requests(mmtest.EndpointClusterStatus); got != 1 {
		t.Errorf("healthy got %d cluster requests", got)
	}
}

// Options.Extra is served with every probe, with the target's labels and
// counting each probe's own API requests, and on the fleet's /metrics
// without labels; the same at every scrape.
func TestProbeServesExtraEveryTime(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	extra := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_extra", Help: "Extra."})
	extra.Set(7)
	f := e.fleet("targets:\n"+e.targetYAML("a", a.URL, "collectors: [cluster]", "labels: {customer: acme}"), Options{Extra: []prometheus.Collector{extra}})
	for i := 1; i <= 3; i++ {
		out := probeReq(f, "target=a").Body.String()
		for _, want := range []string{
			`test_extra{customer="acme"} 7`,
			`mattermost_probe_success{customer="acme"} 1`,
			fmt.Sprintf(`mattermost_exporter_api_requests_total{code="200",customer="acme",endpoint="cluster_status"} %d`, i),
		} {
			if !strings.Contains(out, "\n"+want+"\n") {
				t.Errorf("probe %d lacks %s:\n%s", i, want, out)
			}
		}
		w := httptest.NewRecorder()
		f.MetricsHandler(HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if out := w.Body.String(); !strings.Contains(out, "\ntest_extra 7\n") || !strings.Contains(out, "\nmattermost_exporter_probe_targets 1\n") {
			t.Errorf("fleet /metrics %d:\n%s", i, out)
		}
	}
}

// --web.max-requests bounds the probes served at once, across targets: one
// beyond the limit is answered 503 at once, without a request to its
// target, so that a Prometheus with many targets (or a retrying client)
// cannot pile up probes against slow Mattermost servers. A slot is free
// again when its probe ends.
func TestProbeMaxRequests(t *testing.T) {
	e := newEnv(t)
	slow := e.server(mmtest.Config{})
	other := e.server(mmtest.Config{})
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the fakes close (cleanups run last first)
	slow.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointClusterStatus {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
		return 0
	})
	f := e.fleet("targets:\n"+e.targetYAML("slow", slow.URL, "collectors: [cluster]")+e.targetYAML("other", other.URL, "collectors: [cluster]"), Options{})
	srv := httptest.NewServer(f.Handler(HandlerOpts{MaxRequests: 1, Timeout: func(*http.Request) time.Duration { return 10 * time.Second }}))
	t.Cleanup(srv.Close)
	get := func(target string) (int, string) {
		resp, err := http.Get(srv.URL + "/probe?target=" + target)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	first := make(chan int, 1)
	go func() {
		code, _ := get("slow")
		first <- code
	}()
	select {
	case <-entered: // the first probe holds the only slot
	case <-time.After(10 * time.Second):
		t.Fatal("the first probe did not reach its target")
	}
	code, body := get("other")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Limit of concurrent requests reached (1)") {
		t.Errorf("second probe while the first runs: HTTP %d %.100q, want 503 naming the limit", code, body)
	}
	if n := other.TotalRequests(); n != 0 {
		t.Errorf("the refused probe sent %d requests to its target", n)
	}
	unblock()
	if code := <-first; code != http.StatusOK {
		t.Errorf("first probe: HTTP %d", code)
	}
	if code, body := get("other"); code != http.StatusOK || !strings.Contains(body, "\nmattermost_probe_success 1\n") {
		t.Errorf("probe after the first ended: HTTP %d\n%s", code, body)
	}
}

// A stalled target's probe is still in flight while another target's probe
// completes: targets share no lock or queue on the probe path.
func TestStalledTargetDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t)
	stalled := e.server(mmtest.Config{})
	stalled.SetFault(mmtest.EndpointAll, mmtest.Fault{Delay: time.Hour})
	healthy := e.server(mmtest.Config{})
	f := e.fleet("targets:\n"+e.targetYAML("stalled", stalled.URL)+e.targetYAML("healthy", healthy.URL), Options{})
	h := f.Handler(HandlerOpts{Timeout: func(*http.Request) time.Duration { return time.Hour }})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalledDone := make(chan struct{})
	go func() {
		defer close(stalledDone)
		r := httptest.NewRequest(http.MethodGet, "/probe?target=stalled", nil).WithContext(ctx)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	testhelp.WaitFor(t, 10*time.Second, "the stalled probe's requests to arrive", func() bool { return stalled.TotalRequests() > 0 })

	for i := 0; i < 3; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/probe?target=healthy", nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "\nmattermost_up 1\n") {
			t.Fatalf("healthy probe: code %d\n%s", w.Code, w.Body)
		}
	}
	select {
	case <-stalledDone:
		t.Fatal("the stalled probe finished; the test proves nothing")
	default:
	}
	cancel()
	<-stalledDone
}

func TestTokenNeverInResponsesOrLogs(t *testing.T) {
	const secret = "tok-Zq8wP3secret7Xv"
	e := newEnv(t)
	srv := e.server(mmtest.Config{}) // does not know the token: 401s
	tok := e.token("bad", secret)
	body := "targets:\n  - name: prod\n    url: " + srv.URL + "\n    token_file: " + tok + "\n"
	f := e.fleet(body, Options{})
	var responses []string
	for _, q := range []string{"target=prod", "target=prod", "target=nope", "target=" + url.QueryEscape(srv.URL+"/?t="+secret)} {
		w := probeReq(f, q)
		responses = append(responses, w.Body.String())
	}
	if srv.TotalRequests() == 0 {
		t.Fatal("the probe did not reach the server")
	}
	// A bad reload, a token-only change and the 401 re-read all log.
	e.config(body + "  - name: prod\n")
	_ = f.Reload("test")
	e.token("bad", secret+"2")
	e.config(body)
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	responses = append(responses, probeReq(f, "target=prod").Body.String())
	logs := e.logs.String()
	if !strings.Contains(logs, "target=prod") {
		t.Errorf("nothing logged for the target:\n%s", logs)
	}
	for i, r := range responses {
		if strings.Contains(r, secret) {
			t.Errorf("response %d holds the token:\n%s", i, r)
		}
	}
	if strings.Contains(logs, secret) {
		t.Errorf("logs hold the token:\n%s", logs)
	}
}
