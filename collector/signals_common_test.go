package collector

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Server strings cut to a label's byte limit are cut between two runes: a
// multi-byte character across the limit (a search backend, license SKU,
// job type or plugin named with 30 or 60 "€", 3 bytes each) is dropped
// whole. A cut inside it would leave invalid UTF-8, which client_golang
// refuses: the collector would fail on every scrape for as long as the
// server says so.
func TestServerLabelsCutOnARuneBoundary(t *testing.T) {
	euros := func(n int) string { return strings.Repeat("€", n) }
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetSearchBackend(euros(30))
	s.SetLicense(&mmtest.License{SkuShortName: euros(30), Users: 10, StartsAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_900_000_000, 0)})
	s.SetJobs([]mmtest.Job{{Type: euros(30), Status: "success", CreateAt: time.Unix(1_799_999_000, 0), LastActivityAt: time.Unix(1_799_999_900, 0)}})
	s.SetPlugins(true, []mmtest.PluginStatus{{PluginID: euros(60), Name: euros(60), Version: euros(60), State: 2}})
	client := fakeClient(t, s.URL, mmtest.AdminToken, nil)
	cs := map[string]Collector{}
	var err error
	if cs["health"], err = NewHealthCollector(Deps{Client: client}, HealthConfig{}); err != nil {
		t.Fatal(err)
	}
	if cs["license"], err = NewLicenseCollector(Deps{Client: client}); err != nil {
		t.Fatal(err)
	}
	if cs["jobs"], err = NewJobsCollector(Deps{Client: client}, JobsConfig{}); err != nil {
		t.Fatal(err)
	}
	if cs["plugins"], err = NewPluginsCollector(Deps{Client: client}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(scrapeAdapter{e: NewExporter(Deps{Client: client}, cs)})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// label name -> the value wanted: 64-byte limits keep 21 "€" (63
	// bytes), the plugins' 128-byte limit 42 (126 bytes).
	want := map[string]string{
		"mattermost_search_backend_info/backend":             euros(21),
		"mattermost_license_info/sku_short_name":             euros(21),
		"mattermost_job_last_success_timestamp_seconds/type": euros(21),
		"mattermost_plugin_info/plugin_id":                   euros(42),
		"mattermost_plugin_info/name":                        euros(42),
		"mattermost_plugin_info/version":                     euros(42),
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				key := mf.GetName() + "/" + lp.GetName()
				if !utf8.ValidString(lp.GetValue()) {
					t.Errorf("%s: invalid UTF-8 %q", key, lp.GetValue())
				}
				if w, ok := want[key]; ok {
					seen[key] = true
					if lp.GetValue() != w {
						t.Errorf("%s = %q (%d bytes), want %d bytes of whole runes", key, lp.GetValue(), len(lp.GetValue()), len(w))
					}
				}
			}
			if mf.GetName() == "mattermost_exporter_collector_success" && m.GetGauge().GetValue() != 1 {
				t.Errorf("%v: collector failed", m.GetLabel())
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("no %s", key)
		}
	}
}
