package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// selfValue returns the value of the fleet's own gauge or counter name.
func selfValue(t *testing.T, f *Fleet, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.metrics)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
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
	if got := selfValue(t, f, "mattermost_exporter_probe_targets_started"); got != 1 {
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
	if got := selfValue(t, f, "mattermost_exporter_config_last_reload_successful"); got != 0 {
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
	if got := selfValue(t, f, "mattermost_exporter_config_last_reload_successful"); got != 1 {
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
	if got := selfValue(t, f, "mattermost_exporter_probe_targets"); got != 2 {
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

// The --collector.users.cache-file file goes to the first server listed
// that runs the users collector; a reload that lists another server first
// moves it, also away from a target whose own config is unchanged: no two
// servers ever share it. The target left without a file says so once.
func TestReloadReassignsCacheFiles(t *testing.T) {
	e := newEnv(t)
	const flagFile = "/var/lib/mattermost_exporter/users.ids"
	yaml := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		yaml[n] = e.targetYAML(n, "https://"+n+".example.com", "collectors: [users]")
	}
	var names []string
	load := func() ([]*Target, error) {
		body := "targets:\n"
		for _, n := range names {
			body += yaml[n]
		}
		ts, err := Parse([]byte(body), ReadTokenFile)
		if err != nil {
			return nil, err
		}
		// Parse assigns the flag's file, empty in tests; assign ours.
		return ts, assignCacheFiles(ts, flagFile)
	}
	users := func(f *Fleet) []string {
		var got []string
		for _, n := range f.Names() {
			if file := f.lookup(n).setup().Options.Users.CacheFile; file == nil || *file == flagFile {
				got = append(got, n)
			}
		}
		return got
	}
	names = []string{"a", "b"}
	f, err := New(Options{Load: load, Logger: e.logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	if got := users(f); len(got) != 1 || got[0] != "a" {
		t.Fatalf("targets using the flag's cache file: %v, want [a]", got)
	}
	names = []string{"c", "a", "b"}
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if got := users(f); len(got) != 1 || got[0] != "c" {
		t.Errorf("after listing c first, targets using the flag's cache file: %v, want [c]", got)
	}
	warned := func(n string) int {
		return len(e.logs.LinesContaining("target="+n+" ", "--collector.users.cache-file is already used"))
	}
	if warned("a") != 1 || warned("b") != 1 || warned("c") != 0 {
		t.Errorf("cache-file warnings a %d, b %d, c %d; want 1, 1, 0:\n%s", warned("a"), warned("b"), warned("c"), e.logs.String())
	}
}

// A module whose collectors change restarts the targets using it, though
// their own config is unchanged.
func TestReloadModuleChange(t *testing.T) {
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	ta := e.targetYAML("a", a.URL, "module: m")
	f := e.fleet("modules:\n  m: {collectors: [cluster]}\ntargets:\n"+ta, Options{})
	old := f.lookup("a")
	e.config("modules:\n  m: {collectors: [cluster, saml]}\ntargets:\n" + ta)
	if err := f.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if f.lookup("a") == old {
		t.Fatal("a target whose module changed was kept")
	}
	if out := probeReq(f, "target=a").Body.String(); !strings.Contains(out, `mattermost_exporter_collector_success{collector="saml"}`) {
		t.Errorf("a does not run its module's new collector:\n%s", out)
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

// At most 2 background requests (walks, sweeps) are in flight across the
// fleet; probe requests are never held back. A broken limit fails the test
// within seconds with what it saw, never hangs it: the server's handlers
// are released and the background requests cancelled before the server is
// closed, and every wait has a deadline.
func TestBackgroundLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
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
	bg, cancel := context.WithCancel(backgroundContext(context.Background()))
	// Cleanups run last first: release the handlers and cancel the
	// requests waiting for a slot, then close the server.
	t.Cleanup(srv.Close)
	t.Cleanup(cancel)
	t.Cleanup(unblock)
	slots := make(chan struct{}, 2)
	lt := &limitedTransport{next: http.DefaultTransport, slots: slots, maxHold: time.Minute}
	done := make(chan struct{}, 5)
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
	testhelp.WaitFor(t, 10*time.Second, "two background requests in flight", func() bool { return inFlight.Load() >= 2 })
	// A foreground (probe) request is never limited.
	fg := make(chan struct{})
	go func() {
		defer close(fg)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if resp, err := lt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}()
	testhelp.WaitFor(t, 10*time.Second, "the foreground request in flight", func() bool { return inFlight.Load() >= 3 })
	// Give the 3 held-back requests time to get through a broken limit.
	time.Sleep(100 * time.Millisecond)
	if n := inFlight.Load(); n != 3 {
		t.Fatalf("%d requests in flight, want 2 background (the limit) + 1 foreground", n)
	}
	unblock()
	deadline := time.After(10 * time.Second)
	for i := 0; i < 6; i++ {
		select {
		case <-done:
		case <-fg:
			fg = nil
		case <-deadline:
			t.Fatalf("requests still waiting 10 s after the server answered: %d slots held (a slot is not given back)", len(slots))
		}
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
	if ts := selfValue(t, f, "mattermost_exporter_config_last_reload_success_timestamp_seconds"); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
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
	if !strings.Contains(out, "\nmattermost_probe_success 1\n") {
		t.Errorf("the rotated token is not used:\n%s", out)
	}
	if !strings.Contains(e.logs.String(), "token file changed: reloaded") {
		t.Errorf("rotation not logged:\n%s", e.logs.String())
	}
}

// A token the server refuses makes every request of every probe and of
// the background work answer 401; the token file is re-read on the first
// one, then at most every 5 s (unauthorizedRecheck), not on each: a
// Secret's file is not read dozens of times a scrape while the token stays
// revoked. A token rotated in the file meanwhile is taken at the first 401
// once the 5 s have passed, without a reload. Each re-read logs a line
// (at debug level when the file is unchanged).
func TestUnauthorizedRereadsSpacedBy5s(t *testing.T) {
	t.Parallel() // waits 5 s
	e := newEnv(t)
	a := e.server(mmtest.Config{})
	tok := e.token("a", "revoked-token")
	f := e.fleet("targets:\n  - name: a\n    url: "+a.URL+"\n    token_file: "+tok+"\n    collectors: [cluster]\n", Options{})
	rereads := func() int { return len(e.logs.LinesContaining("Mattermost refused the token (HTTP 401)")) }

	// 10 probes with the revoked token: 10 GET /cluster/status refused.
	start := time.Now() // before the first re-read
	for i := 0; i < 10; i++ {
		if out := probeReq(f, "target=a").Body.String(); !strings.Contains(out, `code="401",endpoint="cluster_status"} `+strconv.Itoa(i+1)) {
			t.Fatalf("probe %d with a revoked token:\n%s", i, out)
		}
	}
	if n := rereads(); n != 1 {
		t.Fatalf("token file re-read %d times for 10 refused requests, want 1 (the first):\n%s", n, e.logs.String())
	}

	// Rotated in the file: taken at the first 401 after the 5 s.
	e.token("a", mmtest.AdminToken)
	for !strings.Contains(probeReq(f, "target=a").Body.String(), "\nmattermost_probe_success 1\n") {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("the rotated token was not taken within 15 s of the first re-read:\n%s", e.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if took := time.Since(start); took < 5*time.Second {
		t.Errorf("the rotated token was taken %s after the first re-read, want 5 s or more", took)
	}
	if n := rereads(); n != 2 {
		t.Errorf("token file re-read %d times, want 2 (first 401, rotation)", n)
	}
	if len(e.logs.LinesContaining("token file changed: reloaded")) != 1 {
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
	if out := metrics(); !strings.Contains(out, "\nmattermost_up 1\n") || strings.Contains(out, "mattermost_probe_success") {
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
