package e2e

// The single-target mode is a fleet of one: /metrics of an exporter started
// with --mattermost.url serves what /probe?target=x of an exporter whose
// config file names the same deployment serves, minus the probe's own two
// metrics and the exporter's go_, process_ and promhttp_ ones.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/collector"
	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func TestSingleTargetMetricsEqualFleetProbe(t *testing.T) {
	fake := mmtest.Start(t, goldenConfig())
	goldenSignals(t, fake)
	all := collector.Names()
	var flags []string
	for _, name := range all {
		flags = append(flags, "--collector."+name)
	}
	// One page in flight, as in the golden test: the refresh counters
	// then do not depend on timing.
	single := goldenStartExporter(t, fake.URL, mmtest.AdminToken,
		append(flags, "--collector.cluster.expected-nodes=3", "--collector.users.walk-concurrency=1")...)
	single.waitUsersReady(t)

	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	promWriteFile(t, token, mmtest.AdminToken+"\n")
	config := filepath.Join(dir, "fleet.yml")
	promWriteFile(t, config, "targets:\n  - name: x\n    url: "+fake.URL+"\n    token_file: "+token+
		"\n    collectors: ["+strings.Join(all, ", ")+"]\n    cluster: {expected_nodes: 3}\n    users: {walk_concurrency: 1}\n")
	fleet := startFleetExporter(t, "--config.file="+config)
	probeURL := "http://" + fleet.addr + "/probe?target=x"
	var probed string
	testhelp.WaitFor(t, 60*time.Second, "the fleet's users collector", func() bool {
		time.Sleep(100 * time.Millisecond) // a probe scrapes the fake
		probed, _ = scrapeText(probeURL)
		return strings.Contains(probed, `mattermost_exporter_collector_success{collector="users"} 1`)
	})
	probed = mustScrape(t, probeURL)
	metrics := single.scrape(t)

	for _, c := range all {
		if !strings.Contains(metrics, `mattermost_exporter_collector_success{collector="`+c+`"} 1`) {
			t.Errorf("collector %s did not succeed on /metrics", c)
		}
	}
	got := goldenNormalize(goldenWithoutFamily(goldenWithoutFamily(probed,
		"mattermost_probe_success"), "mattermost_probe_duration_seconds"))
	if want := goldenNormalize(metrics); got != want {
		t.Errorf("/probe?target=x differs from the single-target /metrics (-metrics +probe):\n%s", goldenDiff(want, got))
	}
	if !strings.Contains(probed, "\nmattermost_probe_success 1\n") {
		t.Errorf("probe did not succeed:\n%s", probed)
	}
}

// startFleetExporter runs the exporter with args (no --mattermost.url) on a
// free port until the test ends.
func startFleetExporter(t *testing.T, args ...string) *goldenExporter {
	t.Helper()
	e := goldenExec(t, exporterBinary(t), exporterEnv(), args)
	goldenWaitListening(t, e)
	return e
}
