package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func gauge(t *testing.T, f *Fleet, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.metrics)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

func TestLazyStartAndIdleStop(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{Users: mmtest.GenerateUsers(50, 1)})
	b := e.server(mmtest.Config{Users: mmtest.GenerateUsers(50, 2)})
	f := e.fleet("targets:\n"+e.targetYAML("a", a.URL)+e.targetYAML("b", b.URL), Options{IdleTimeout: 300 * time.Millisecond})
	if f.StartedTargets() != 0 || a.TotalRequests()+b.TotalRequests() != 0 {
		t.Fatalf("targets started before any probe: %d started, %d requests", f.StartedTargets(), a.TotalRequests()+b.TotalRequests())
	}
	if w := probeReq(f, "target=a"); w.Code != http.StatusOK {
		t.Fatalf("probe: %d", w.Code)
	}
	if got := gauge(t, f, "mattermost_exporter_probe_targets_started"); got != 1 {
		t.Fatalf("started %v after probing a, want 1", got)
	}
	// a's background work (the users id-cache walk) runs; b does nothing.
	testhelp.WaitFor(t, 10*time.Second, "a's id-cache walk", func() bool { return a.Requests(mmtest.EndpointUsers) > 0 })
	if b.TotalRequests() != 0 {
		t.Errorf("b got %d requests without a probe", b.TotalRequests())
	}
	// Not probed for the idle timeout: stopped, and its background work
	// with it.
	testhelp.WaitFor(t, 10*time.Second, "a's idle stop", func() bool { return f.StartedTargets() == 0 })
	time.Sleep(50 * time.Millisecond) // a walk in flight at the stop ends
	before := a.TotalRequests()
	time.Sleep(200 * time.Millisecond)
	if after := a.TotalRequests(); after != before {
		t.Errorf("a got %d requests after its idle stop", after-before)
	}
	// The next probe starts it again.
	if w := probeReq(f, "target=a"); w.Code != http.StatusOK || f.StartedTargets() != 1 {
		t.Fatalf("probe after idle stop: %d, started %d", w.Code, f.StartedTargets())
	}
	if !strings.Contains(e.logs.String(), "background work stopped") {
		t.Errorf("idle stop not logged")
	}
}

func TestEagerStart(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{Users: mmtest.GenerateUsers(20, 1)})
	f := e.fleet("targets:\n"+e.targetYAML("a", a.URL), Options{EagerStart: true})
	if f.StartedTargets() != 1 {
		t.Fatalf("started %d, want 1", f.StartedTargets())
	}
	testhelp.WaitFor(t, 10*time.Second, "the walk started at load", func() bool { return a.Requests(mmtest.EndpointUsers) > 0 })
}

func TestReload(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	b := e.server(mmtest.Config{})
	c := e.server(mmtest.Config{})
	ta, tb := e.targetYAML("a", a.URL, "collectors: [cluster]"), e.targetYAML("b", b.URL, "collectors: [cluster]")
	f := e.fleet("targets:\n"+ta+tb, Options{})
	for _, n := range []string{"a", "b"} {
		if w := probeReq(f, "target="+n); w.Code != http.StatusOK {
			t.Fatalf("probe %s: %d", n, w.Code)
		}
	}
	oldA, oldB := f.lookup("a"), f.lookup("b")

	// A bad config is rejected: old targets stay, gauge 0.
	e.config("targets:\n" + ta + "    bogus: 1\n")
	if err := f.Reload("test"); err == nil {
		t.Fatal("bad config accepted")
	}
	if got := gauge(t, f, "mattermost_exporter_config_last_reload_successful"); got != 0 {
		t.Errorf("reload gauge %v after a bad config, want 0", got)
	}
	if w := probeReq(f, "target=b"); w.Code != http.StatusOK {
		t.Errorf("b gone after a rejected reload: %d", w.Code)
	}
	if !strings.Contains(e.logs.String(), "config not loaded; the targets in use stay") {
		t.Errorf("rejected reload not logged")
	}

	// a unchanged, b removed, c added, and a changed in a second step.
	e.config("targets:\n" + ta + e.targetYAML("c", c.URL, "collectors: [cluster]"))
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, f, "mattermost_exporter_config_last_reload_successful"); got != 1 {
		t.Errorf("reload gauge %v, want 1", got)
	}
	if f.lookup("a") != oldA {
		t.Errorf("unchanged target a was replaced")
	}
	if !oldB.closedForGood() || f.lookup("b") != nil {
		t.Errorf("removed target b still there")
	}
	bReqs := b.TotalRequests()
	if w := probeReq(f, "target=b"); w.Code != http.StatusBadRequest || b.TotalRequests() != bReqs {
		t.Errorf("probe of removed b: %d, %d new requests", w.Code, b.TotalRequests()-bReqs)
	}
	if w := probeReq(f, "target=c"); w.Code != http.StatusOK {
		t.Errorf("probe of added c: %d", w.Code)
	}
	if got := gauge(t, f, "mattermost_exporter_probe_targets"); got != 2 {
		t.Errorf("targets %v, want 2", got)
	}

	e.config("targets:\n" + e.targetYAML("a", a.URL, "collectors: [cluster]", "cluster: {expected_nodes: 5}") + e.targetYAML("c", c.URL, "collectors: [cluster]"))
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if f.lookup("a") == oldA || !oldA.closedForGood() {
		t.Errorf("changed target a was not restarted")
	}
	if out := probeReq(f, "target=a").Body.String(); !strings.Contains(out, "mattermost_cluster_expected_nodes 5") {
		t.Errorf("changed a does not use its new options:\n%s", out)
	}
}

// A reload whose only change is a target's token file content installs the
// token in the running client: no restart, the id cache stays.
func TestReloadTokenOnly(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	body := "targets:\n" + e.targetYAML("a", a.URL, "collectors: [cluster]")
	f := e.fleet(body, Options{})
	probeReq(f, "target=a")
	old := f.lookup("a")
	e.token("a", mmtest.UserToken) // a plain user: /cluster/status is 403
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if f.lookup("a") != old {
		t.Fatal("token-only change restarted the target")
	}
	out := probeReq(f, "target=a").Body.String()
	if !strings.Contains(out, `mattermost_exporter_collector_success{collector="cluster"} 0`) {
		t.Errorf("new token not used:\n%s", out)
	}
}

func TestBackgroundLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}))
	defer srv.Close()
	slots := make(chan struct{}, 2)
	lt := &limitedTransport{next: http.DefaultTransport, slots: slots, maxHold: time.Minute}
	bg := backgroundContext(context.Background())
	done := make(chan struct{})
	for i := 0; i < 5; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequestWithContext(bg, http.MethodGet, srv.URL, nil)
			resp, err := lt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	testhelp.WaitFor(t, 10*time.Second, "two background requests in flight", func() bool { return inFlight.Load() == 2 })
	// A foreground (probe) request is never limited.
	fg := make(chan struct{})
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if resp, err := lt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
		close(fg)
	}()
	testhelp.WaitFor(t, 10*time.Second, "the foreground request in flight", func() bool { return inFlight.Load() == 3 })
	close(release)
	<-fg
	for i := 0; i < 5; i++ {
		<-done
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("peak %d requests in flight, want at most 2 background + 1 foreground", p)
	}
	if len(slots) != 0 {
		t.Errorf("%d slots still held", len(slots))
	}
}

func TestRejectedCounterAndReloadTimestamp(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	f := e.fleet("targets:\n"+e.targetYAML("a", a.URL), Options{})
	if ts := gauge(t, f, "mattermost_exporter_config_last_reload_success_timestamp_seconds"); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("reload timestamp %v", ts)
	}
	probeReq(f, "target=zzz")
	if got := testutil.ToFloat64(f.metrics.rejected); got != 1 {
		t.Errorf("rejected %v", got)
	}
}

// A 401 makes the target re-read its token file: a rotated Secret needs no
// reload.
func TestUnauthorizedRereadsTokenFile(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	tok := e.token("a", "revoked-token")
	f := e.fleet("targets:\n  - name: a\n    url: "+a.URL+"\n    token_file: "+tok+"\n    collectors: [cluster]\n", Options{})
	e.token("a", mmtest.AdminToken) // rotated in the file, no reload
	out := probeReq(f, "target=a").Body.String()
	if !strings.Contains(out, `code="401"`) {
		t.Fatalf("first probe did not meet a 401:\n%s", out)
	}
	out = probeReq(f, "target=a").Body.String()
	if !strings.Contains(out, "mattermost_probe_success 1") {
		t.Errorf("the rotated token is not used:\n%s", out)
	}
	if !strings.Contains(e.logs.String(), "token file changed: reloaded") {
		t.Errorf("rotation not logged:\n%s", e.logs.String())
	}
}

func TestPlainTextTokenWarning(t *testing.T) {
	e := newEnv(t)
	body := "targets:\n" + e.targetYAML("remote", "http://chat.example.com") + e.targetYAML("tls", "https://chat.example.com")
	e.fleet(body, Options{})
	logs := e.logs.String()
	if !strings.Contains(logs, "target=remote") || strings.Contains(logs, "target=tls") {
		t.Errorf("want one warning, for remote:\n%s", logs)
	}
}

// The single-target mode: its one target starts at New, a start error is
// New's error, and a reload re-reads the token file with one log line
// saying what became of the token; a bad file keeps the token in use.
func TestOneTarget(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	path := e.token("a", mmtest.AdminToken)
	tc := TargetConfig{Name: "mattermost", URL: a.URL, TokenFile: path}
	load := func() ([]*Target, error) {
		token, sum, err := ReadTokenFile("--mattermost.token-file", path)
		if err != nil {
			return nil, err
		}
		return []*Target{NewTarget(tc, token, sum, "--mattermost.token-file")}, nil
	}
	f, err := New(Options{Load: load, OneTarget: true, Logger: e.logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	if f.StartedTargets() != 1 {
		t.Fatal("the target did not start at New")
	}
	metrics := func() string {
		w := httptest.NewRecorder()
		f.MetricsHandler(HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return w.Body.String()
	}
	if out := metrics(); !strings.Contains(out, "mattermost_up 1") || strings.Contains(out, "mattermost_probe_success") {
		t.Errorf("/metrics of the one target:\n%s", out)
	}
	for _, step := range []struct{ content, want string }{
		{mmtest.AdminToken, "token file re-read; the token is unchanged"},
		{mmtest.UserToken, "token file reloaded; later requests use the new token"},
		{"bad token", "token file not reloaded; the current token stays in use"},
		{"ctrl\x1btoken", "contains control characters"},
	} {
		e.token("a", step.content)
		_ = f.Reload("SIGHUP")
		if n := strings.Count(e.logs.String(), step.want); n != 1 {
			t.Errorf("%d log lines with %q, want 1:\n%s", n, step.want, e.logs.String())
		}
	}
	if out := metrics(); !strings.Contains(out, `mattermost_exporter_collector_success{collector="cluster"} 0`) {
		t.Errorf("the user token (403 on /cluster/status) is not in use:\n%s", out)
	}
	if logs := e.logs.String(); strings.Contains(logs, mmtest.UserToken) || strings.Contains(logs, "target=") {
		t.Errorf("a token or a target key in the logs:\n%s", logs)
	}
	if _, err := New(Options{Load: func() ([]*Target, error) {
		return []*Target{NewTarget(TargetConfig{Name: "x", URL: "ftp://x"}, "t", [32]byte{}, "")}, nil
	}, OneTarget: true}); err == nil {
		t.Error("a target that cannot start: no error from New")
	}
}
