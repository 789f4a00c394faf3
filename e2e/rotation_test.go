package e2e

// Token rotation under load (issue 28, item 5): while scrapes run every
// 250 ms and walks of GET /users are under way, the admin creates a new
// token, writes it to --mattermost.token-file and revokes the old one at
// once, twice in a row. No count may be lost (every scrape that exports
// counts is exact) and at most one scrape per rotation may report a
// failure (a request in flight when the old token was revoked).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// rotationFailure says what a scrape reports as failed ("" = nothing).
func rotationFailure(mfs map[string]*dto.MetricFamily) string {
	if v, _ := hostileValue(mfs, "mattermost_up"); v != 1 {
		return "mattermost_up 0"
	}
	var failed []string
	if mf := mfs["mattermost_exporter_collector_success"]; mf != nil {
		for _, m := range mf.GetMetric() {
			if m.GetGauge().GetValue() != 1 {
				for _, lp := range m.GetLabel() {
					failed = append(failed, lp.GetValue())
				}
			}
		}
	}
	if len(failed) > 0 {
		return "collector_success 0: " + strings.Join(failed, ",")
	}
	return ""
}

func TestTokenRotationUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("token rotation test skipped in -short mode")
	}
	exporterBinary(t)
	dir := t.TempDir()
	fake := mmtest.NewServer(mmtest.Config{Users: mmtest.GenerateUsers(3000, 32), Nodes: mmtest.DemoNodes(2, 0, 0)})
	t.Cleanup(fake.Close)
	pageServed := soakPageSignal(fake, 50*time.Millisecond)
	tokenFile := filepath.Join(dir, "token")
	// Written as a Kubernetes Secret volume or a config manager does: a
	// new file renamed over the old one.
	writeToken := func(tok string) {
		tmp := tokenFile + ".new"
		if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, tokenFile); err != nil {
			t.Fatal(err)
		}
	}
	writeToken(mmtest.AdminToken)
	p := goldenStartExporter(t, fake.URL, "",
		"--mattermost.token-file="+tokenFile,
		"--collector.users.refresh-interval=1s")
	truth := fake.Counts().Humans
	soakWaitExact(t, p.addr, fake, 30*time.Second, "exact counts before the rotation", rotationFailure)

	var failures []string
	w := soakWatch(p.addr, 250*time.Millisecond, func(mfs map[string]*dto.MetricFamily) string {
		if why := rotationFailure(mfs); why != "" {
			failures = append(failures, time.Now().Format("15:04:05.000")+" "+why)
		}
		if got, ok := soakUsers(mfs); ok && soakL1(got, truth) != 0 {
			return fmt.Sprintf("served %s, truth %s", soakFmt(got), soakFmt(truth))
		}
		return ""
	})
	defer w.stop()
	before, _ := soakScrape(p.addr)
	walksBefore, _ := hostileValue(before, "mattermost_exporter_users_refreshes_total")

	old := mmtest.AdminToken
	const rotations = 2
	for i := range rotations {
		time.Sleep(time.Second)
		next := fmt.Sprintf("rotatedtoken%014d", i+1)
		fake.AddAdminToken(next)
		writeToken(next)
		// Revoke while a walk is paging.
		select {
		case <-pageServed:
		default:
		}
		select {
		case <-pageServed:
		case <-time.After(10 * time.Second):
			t.Fatal("no walk within 10 s")
		}
		fake.RevokeToken(old)
		old = next
		time.Sleep(6 * time.Second) // past the 5 s spacing of 401-triggered re-reads
	}
	// Walks go on with the last token.
	ok, why := soakWait(20*time.Second, func() (bool, string) {
		mfs := w.lastScrape()
		n, _ := hostileValue(mfs, "mattermost_exporter_users_refreshes_total")
		return n >= walksBefore+3, fmt.Sprintf("%v walks, %v before", n, walksBefore)
	})
	w.stop()
	if !ok {
		t.Errorf("the walks did not go on after the rotations: %s", why)
	}
	scrapes, wrong, last := w.results()
	unauthorized, _ := hostileValue(last, "mattermost_exporter_api_requests_total", "code", "401")
	walkErrors, _ := hostileValue(last, "mattermost_exporter_users_refresh_errors_total")
	log, _ := os.ReadFile(p.logPath)
	reloads := strings.Count(string(log), "token file changed: reloaded")
	t.Logf("rotation summary: %d rotations under %d scrapes (every 250 ms) and walks every second: %d scrapes reported a failure %v, %d wrong counts, %v requests answered 401, %v failed walks, %d reloads logged",
		rotations, scrapes, len(failures), failures, len(wrong), unauthorized, walkErrors, reloads)
	if len(wrong) > 0 {
		t.Errorf("counts lost during the rotations: %v", wrong)
	}
	if len(failures) > rotations {
		t.Errorf("%d scrapes reported a failure in %d rotations, want at most one each: %v", len(failures), rotations, failures)
	}
	if reloads != rotations {
		t.Errorf("%d 'reloaded' log lines, want %d", reloads, rotations)
	}
	if strings.Contains(string(log), "rotatedtoken") || strings.Contains(string(log), mmtest.AdminToken) {
		t.Error("a token is in the log")
	}
}
