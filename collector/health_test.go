package collector

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var healthMetricNames = []string{"mattermost_health_status", "mattermost_health_timestamp_seconds", "mattermost_search_backend_info"}

const (
	fakeVersion537 = "5.37.0.5.37.0.299fc129c526e441ebe88af9ea6955c0.false"
	fakeVersion112 = "11.2.0.11.2.0.cc2418492a0e65e2ee76e38279ee463874ff842fe741fe22f790b86fa9cb48f8.false"
)

func newTestHealthCollector(t *testing.T, url, token string, interval time.Duration, clock *fakeClock) *HealthCollector {
	t.Helper()
	c, err := NewHealthCollector(Deps{Client: fakeClient(t, url, token, nil)}, HealthConfig{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	c.cache.now = clock.now
	return c
}

// The captured answers of both eras, served byte for byte.
func TestHealthCollectorFixtures(t *testing.T) {
	tests := []struct {
		era, name string
		backend   bool
	}{
		{"real-mattermost", "ping_server_status_admin", false},
		{"real-mattermost", "ping_server_status_nonadmin", false},
		{"current-mattermost", "ping_server_status_admin", true},
		{"current-mattermost", "ping_server_status_rest_semantics_admin", true},
		{"current-mattermost", "ping_server_status_nonadmin", true},
	}
	for _, tc := range tests {
		t.Run(tc.era+"/"+tc.name, func(t *testing.T) {
			s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/system/ping": {tc.era, tc.name}})
			clock := newFakeClock()
			a := &updateAdapter{c: newTestHealthCollector(t, s.URL, "fixturetoken0000000000000a", time.Minute, clock)}
			want := []string{
				`mattermost_health_status{component="database"} 1`,
				`mattermost_health_status{component="filestore"} 1`,
				`mattermost_health_timestamp_seconds 1.8e+09`,
			}
			if tc.backend {
				want = append(want, `mattermost_search_backend_info{backend="database"} 1`)
			}
			if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(want...)), healthMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

// The fake in both eras with the database, then the file store, failing:
// 5.37 answers 500 with the details, 11.x 200; the metric is the same.
func TestHealthCollectorUnhealthy(t *testing.T) {
	for _, version := range []string{fakeVersion537, fakeVersion112} {
		t.Run(version[:4], func(t *testing.T) {
			s := mmtest.Start(t, mmtest.Config{Era: eraOf(version), Version: version})
			clock := newFakeClock()
			a := &updateAdapter{c: newTestHealthCollector(t, s.URL, mmtest.UserToken, 0, clock)}
			backend := ""
			if version == fakeVersion112 {
				backend = `mattermost_search_backend_info{backend="database"} 1`
			}
			check := func(db, fs string) {
				t.Helper()
				want := []string{
					`mattermost_health_status{component="database"} ` + db,
					`mattermost_health_status{component="filestore"} ` + fs,
					`mattermost_health_timestamp_seconds 1.8e+09`,
				}
				if backend != "" {
					want = append(want, backend)
				}
				if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(want...)), healthMetricNames...); err != nil {
					t.Error(err)
				}
				if err := a.lastErr(); err != nil {
					t.Errorf("Update: %v", err)
				}
			}
			check("1", "1")
			s.SetHealth(false, true)
			check("0", "1")
			s.SetHealth(true, false)
			check("1", "0")
			if n := s.Requests(mmclient.EndpointServerHealth); n != 3 {
				t.Errorf("health requests = %d, want 3 (interval 0: every scrape)", n)
			}
		})
	}
}

// Scrapes within the interval reuse the answer (and its timestamp); the
// next one after it asks again.
func TestHealthCollectorInterval(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetSearchBackend("elasticsearch")
	clock := newFakeClock()
	a := &updateAdapter{c: newTestHealthCollector(t, s.URL, mmtest.AdminToken, time.Minute, clock)}
	want := func(db, ts string) string {
		return sigExpo(
			`mattermost_health_status{component="database"} `+db,
			`mattermost_health_status{component="filestore"} 1`,
			`mattermost_health_timestamp_seconds `+ts,
			`mattermost_search_backend_info{backend="elasticsearch"} 1`,
		)
	}
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("1", "1.8e+09")), healthMetricNames...); err != nil {
		t.Error(err)
	}
	s.SetHealth(false, true)
	clock.add(59 * time.Second)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("1", "1.8e+09")), healthMetricNames...); err != nil {
		t.Errorf("within the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointServerHealth); n != 1 {
		t.Errorf("requests within the interval = %d, want 1", n)
	}
	clock.add(time.Second)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("0", "1.80000006e+09")), healthMetricNames...); err != nil {
		t.Errorf("after the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointServerHealth); n != 2 {
		t.Errorf("requests after the interval = %d, want 2", n)
	}
}

// A long backend name is cut to 64 bytes; invalid UTF-8 is repaired.
func TestHealthCollectorBoundsBackend(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetSearchBackend(strings.Repeat("é", 40))
	a := &updateAdapter{c: newTestHealthCollector(t, s.URL, mmtest.AdminToken, 0, newFakeClock())}
	want := sigExpo(`mattermost_search_backend_info{backend="` + strings.Repeat("é", 32) + `"} 1`)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), "mattermost_search_backend_info"); err != nil {
		t.Error(err)
	}
	if got := boundLabel("ab\xffcd", 64); got != "ab\uFFFDcd" {
		t.Errorf("boundLabel invalid UTF-8 = %q", got)
	}
}

func TestHealthCollectorErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault mmtest.Fault
		check func(error) bool
	}{
		{"proxy 502", mmtest.BadGatewayFault(), func(err error) bool { return hasCode(err, 502) }},
		{"hang-up", mmtest.Fault{Hangup: true}, func(err error) bool { return err != nil }},
		{"malformed", mmtest.Fault{Malformed: true}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "health check")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mmtest.Start(t, mmtest.Config{})
			s.SetFault(mmtest.EndpointServerHealth, tc.fault)
			a := &updateAdapter{c: newTestHealthCollector(t, s.URL, mmtest.AdminToken, time.Minute, newFakeClock())}
			if n := testutil.CollectAndCount(a, healthMetricNames...); n != 0 {
				t.Errorf("%d series exported after a failure", n)
			}
			if err := a.lastErr(); !tc.check(err) {
				t.Errorf("Update error = %v", err)
			}
			// Failures are not cached: the next scrape asks again.
			s.ClearFaults()
			if n := testutil.CollectAndCount(a, "mattermost_health_status"); n != 2 {
				t.Errorf("after recovery: %d status series", n)
			}
		})
	}
}

// An answer without the component fields (a server or proxy that dropped
// get_server_status) fails the collector instead of reporting healthy.
func TestHealthCollectorMissingComponents(t *testing.T) {
	s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/system/ping": {"current-mattermost", "ping_admin"}})
	a := &updateAdapter{c: newTestHealthCollector(t, s.URL, "fixturetoken0000000000000a", 0, newFakeClock())}
	if n := testutil.CollectAndCount(a, "mattermost_health_status"); n != 0 {
		t.Errorf("%d status series without component fields", n)
	}
	if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "no status for database and filestore") {
		t.Errorf("Update error = %v", err)
	}
}

// An answer with only one of the two component fields (a proxy or plugin
// that rewrites the ping, a server that skipped one check) fails the
// collector: the missing component's series would otherwise vanish and an
// alert on mattermost_health_status == 0 would never fire for it. The
// component that is reported keeps its series.
func TestHealthCollectorOneComponentMissing(t *testing.T) {
	for _, tc := range []struct {
		name, body, kept, missing string
	}{
		{"no filestore_status", `{"status":"OK","database_status":"OK"}`, "database", "filestore"},
		{"no database_status", `{"status":"OK","filestore_status":"OK"}`, "filestore", "database"},
		{"filestore_status empty", `{"status":"OK","database_status":"OK","filestore_status":""}`, "database", "filestore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mmtest.Start(t, mmtest.Config{})
			s.SetFault(mmtest.EndpointServerHealth, mmtest.Fault{Code: 200, Body: tc.body, ContentType: "application/json"})
			client := fakeClient(t, s.URL, mmtest.AdminToken, nil)
			c, err := NewHealthCollector(Deps{Client: client}, HealthConfig{})
			if err != nil {
				t.Fatal(err)
			}
			e := NewExporter(Deps{Client: client}, map[string]Collector{"health": c})
			want := sigExpo(
				`mattermost_health_status{component="`+tc.kept+`"} 1`,
				`mattermost_exporter_collector_success{collector="health"} 0`,
			)
			if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want),
				"mattermost_health_status", "mattermost_exporter_collector_success"); err != nil {
				t.Error(err)
			}
			a := &updateAdapter{c: c}
			testutil.CollectAndCount(a)
			if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "no status for "+tc.missing) {
				t.Errorf("Update error = %v, want one naming %s", err, tc.missing)
			}
		})
	}
}

func TestNewHealthCollectorRejectsNegativeInterval(t *testing.T) {
	if _, err := NewHealthCollector(Deps{Client: fakeClient(t, "http://127.0.0.1:1", "", nil)}, HealthConfig{Interval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
}

// Concurrent scrapes with a stale answer share one health check.
func TestHealthCollectorConcurrentScrapesShareOneCheck(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetLatency(func(endpoint string, _ int) time.Duration {
		if endpoint == mmtest.EndpointServerHealth {
			return 200 * time.Millisecond
		}
		return 0
	})
	c := newTestHealthCollector(t, s.URL, mmtest.AdminToken, time.Minute, newFakeClock())
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := make(chan prometheus.Metric, 16)
			errs <- c.Update(ctx10s(t), ch)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	if n := s.Requests(mmclient.EndpointServerHealth); n != 1 {
		t.Errorf("%d health requests for 10 concurrent scrapes, want 1", n)
	}
}
