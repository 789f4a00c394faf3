package e2e

// Upgrade underneath (issue 28, item 3): the Mattermost the running
// exporter watches is upgraded from 5.37 to 11.2 (answer shapes, headers,
// X-Version-Id, and a request body limit lower than the exporter's status
// batches). With a real Prometheus evaluating the shipped alert rules, the
// exporter must keep exact counts on every scrape, follow the new version
// in mattermost_server_info at the first scrape after the switch, halve its
// status batches after the 413 once (by the second scrape: the first may
// share a sweep begun before the switch) and keep the smaller size, need no
// restart, and no alert may go pending or fire.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// upgradeInfoVersion is the version label of mattermost_server_info.
func upgradeInfoVersion(mfs map[string]*dto.MetricFamily) string {
	ms := mfs["mattermost_server_info"].GetMetric()
	if len(ms) != 1 {
		return ""
	}
	return labelOf(ms[0], "version")
}

func TestUpgradeUnderneath(t *testing.T) {
	if testing.Short() {
		t.Skip("upgrade test with a real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	dir := t.TempDir()
	exporterBinary(t)

	// 6,000 accounts: a batch of 5,000 ids (145 KB) fits 5.37's 100 MiB
	// limit but not the 100,000 bytes the upgraded server is configured
	// with; 2,500 (72 KB) does.
	const batch = 5000
	fake := mmtest.NewServer(mmtest.Config{
		Era:     mmtest.Era537,
		Nodes:   promE2EHealthyNodes(),
		SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: true, SAMLEnabled: true,
		Users:     mmtest.GenerateUsers(6000, 30),
		RateLimit: &mmtest.RateLimit{PerSec: 100000, Burst: 100000},
	})
	t.Cleanup(fake.Close)
	promE2EHealthySignals(t, fake)
	p := goldenStartExporter(t, fake.URL, mmtest.AdminToken,
		fmt.Sprintf("--collector.cluster.expected-nodes=%d", promE2EExpectedNodes),
		fmt.Sprintf("--collector.users.batch-size=%d", batch),
		"--collector.users.refresh-interval=5s",
		"--collector.health.interval=1s", "--collector.jobs.interval=1s",
		"--collector.saml.idp-metadata-interval=1s",
	)
	promWaitHTTP(t, "http://"+p.addr+"/", 20*time.Second)

	api := promStartPrometheus(t, prometheusBin, dir, p.addr, promShortenedRules(t, dir), "")
	promWaitFor(t, 40*time.Second, "counts and 5.37 in Prometheus", func() (bool, string) {
		r := api.query(`mattermost_server_info{version="5.37.0"} * on(job, instance) group_left sum by (job, instance) (mattermost_users)`)
		return len(r) == 1 && r[0].Value == fmt.Sprint(fake.Counts().Active-fake.Counts().ActiveBots), fmt.Sprintf("%v", r)
	})
	api.waitQuiet(30 * time.Second)
	before, err := soakScrape(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	startTime, _ := hostileValue(before, "process_start_time_seconds")
	if b, _ := hostileValue(before, "mattermost_exporter_users_batch_size"); b != batch {
		t.Fatalf("batch size %v before the upgrade, want %d", b, batch)
	}

	// Every scrape from here on: exact counts, no failed collector.
	truth := fake.Counts().Humans
	w := soakWatch(p.addr, 100*time.Millisecond, func(mfs map[string]*dto.MetricFamily) string {
		got, ok := soakUsers(mfs)
		if !ok {
			return "users collector failed or exported no counts"
		}
		if soakL1(got, truth) != 0 {
			return fmt.Sprintf("served %s, truth %s", soakFmt(got), soakFmt(truth))
		}
		if v, _ := hostileValue(mfs, "mattermost_up"); v != 1 {
			return "mattermost_up 0"
		}
		return ""
	})
	defer w.stop()
	alertsSeen := map[string]bool{}
	watchAlerts := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			for _, a := range api.alerts() {
				alertsSeen[a.Labels["alertname"]+" "+a.State] = true
			}
		}
	}
	watchAlerts(3 * time.Second)

	// The upgrade: every node and the server answer as 11.2, whose
	// administrator configured a 100,000-byte body limit.
	nodes := promE2EHealthyNodes()
	for i := range nodes {
		nodes[i].Version, nodes[i].SchemaVersion = "11.2.0", "11.2.0"
	}
	fake.SetEra(mmtest.Era11)
	fake.SetMaximumPayloadSizeBytes(100000)
	fake.SetNodes(nodes)
	switched := time.Now()

	// mattermost_server_info follows at the first scrape begun after the
	// switch.
	first, err := soakScrape(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	if v := upgradeInfoVersion(first); v != "11.2.0" {
		t.Errorf("first scrape after the upgrade: mattermost_server_info version %q, want 11.2.0", v)
	}
	got, ok := soakUsers(first)
	if !ok || soakL1(got, truth) != 0 {
		t.Errorf("first scrape after the upgrade: served %s (ok %v), truth %s", soakFmt(got), ok, soakFmt(truth))
	}
	// The first scrape may share a sweep begun before the switch (by
	// Prometheus or the watcher); the next one's sweep began after it and
	// met the 413.
	if b, _ := hostileValue(first, "mattermost_exporter_users_batch_size"); b != batch/2 {
		second, err := soakScrape(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := hostileValue(second, "mattermost_exporter_users_batch_size"); b != batch/2 {
			t.Errorf("batch size %v at the second scrape after the upgrade, want %d", b, batch/2)
		}
	}
	watchAlerts(8 * time.Second)
	promWaitFor(t, 20*time.Second, "11.2.0 in Prometheus with exact counts", func() (bool, string) {
		r := api.query(`mattermost_server_info{version="11.2.0"} * on(job, instance) group_left sum by (job, instance) (mattermost_users)`)
		return len(r) == 1 && r[0].Value == fmt.Sprint(fake.Counts().Active-fake.Counts().ActiveBots), fmt.Sprintf("%v", r)
	})
	watchAlerts(2 * time.Second)
	w.stop()

	after := w.lastScrape()
	if st, _ := hostileValue(after, "process_start_time_seconds"); st != startTime || p.exited() {
		t.Errorf("the exporter restarted (start time %v, was %v; exited %v)", st, startTime, p.exited())
	}
	if b, _ := hostileValue(after, "mattermost_exporter_users_batch_size"); b != batch/2 {
		t.Errorf("batch size %v at the end, want %d kept", b, batch/2)
	}
	scrapes, wrong, _ := w.results()
	if len(wrong) > 0 {
		t.Errorf("%d of %d scrapes around the upgrade were wrong: %v", len(wrong), scrapes, wrong)
	}
	log, _ := os.ReadFile(p.logPath)
	if n := strings.Count(string(log), "refused status batches as too large"); n != 1 {
		t.Errorf("%d log lines about the 413, want 1", n)
	}
	delete(alertsSeen, "")
	versions := api.query(`count by (version) (last_over_time(mattermost_server_info[1m]))`)
	if len(versions) != 2 {
		t.Errorf("Prometheus saw versions %v in the last minute, want 5.37.0 then 11.2.0", versions)
	}
	if len(alertsSeen) > 0 {
		t.Errorf("alerts active around the upgrade: %v", alertsSeen)
	}
	t.Logf("upgrade summary: %d scrapes around the switch, all exact; server_info 11.2.0 at the first scrape after it; batch %d -> %d after one 413; versions seen by Prometheus in the last minute %v; no alert (%s); %s since the switch",
		scrapes, batch, batch/2, versions, promAlertList(nil), time.Since(switched).Round(time.Second))
}
