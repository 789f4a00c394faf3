package e2e

// HA pair (issue 28, item 4): two real Prometheus servers, with their own
// external labels and so their own scrape offsets, scrape one exporter at
// the same interval (15 s in production; 3 s here, with
// --collector.users.max-age scaled alike: 14 s -> 2.8 s). Both must see
// exact counts, before and after a change of statuses, and the status
// requests at Mattermost per interval must be what the README states:
// ceil(N / batch-size) POST /users/status/ids per sweep, one sweep per
// scrape without --collector.users.max-age (two per interval for the
// pair), one per interval with it.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	haInterval = 3 * time.Second // 15 s / 5
	haMaxAge   = 2800 * time.Millisecond
	haWindow   = 6 // intervals counted
)

// haStartPrometheus starts replica's Prometheus (its files in dir/prometheus-replica) scraping
// exporterAddr every haInterval.
func haStartPrometheus(t *testing.T, bin, dir, replica, exporterAddr string) *promAPI {
	t.Helper()
	sub := filepath.Join(dir, "prometheus-"+replica)
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	return promStartPrometheusConfig(t, bin, sub, fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
  external_labels:
    replica: %s
scrape_configs:
  - job_name: mattermost
    static_configs:
      - targets: [%q]
`, haInterval, haInterval, replica, exporterAddr))
}

// haCounts is sum by (status) (mattermost_users) in one Prometheus.
func haCounts(api *promAPI) map[string]int {
	out := map[string]int{}
	for _, s := range api.query(`sum by (status) (mattermost_users)`) {
		v, _ := strconv.ParseFloat(s.Value, 64)
		out[s.Metric["status"]] = int(v)
	}
	return out
}

func TestHAPair(t *testing.T) {
	if testing.Short() {
		t.Skip("HA pair test with two real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	exporterBinary(t)
	for _, maxAge := range []time.Duration{0, haMaxAge} {
		t.Run(fmt.Sprintf("max-age=%s", maxAge), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fake := mmtest.NewServer(mmtest.Config{Users: mmtest.GenerateUsers(2400, 31)})
			t.Cleanup(fake.Close)
			args := []string{"--collector.users.refresh-interval=15m"}
			if maxAge > 0 {
				args = append(args, "--collector.users.max-age="+maxAge.String())
			}
			p := goldenStartExporter(t, fake.URL, mmtest.AdminToken, args...)
			promWaitHTTP(t, "http://"+p.addr+"/", 20*time.Second)
			a := haStartPrometheus(t, prometheusBin, dir, "a", p.addr)
			b := haStartPrometheus(t, prometheusBin, dir, "b", p.addr)

			bothExact := func(what string, timeout time.Duration) {
				t.Helper()
				truth := fake.Counts().Humans
				promWaitFor(t, timeout, what, func() (bool, string) {
					ca, cb := haCounts(a), haCounts(b)
					return soakL1(ca, truth) == 0 && soakL1(cb, truth) == 0,
						fmt.Sprintf("a: %s, b: %s, truth %s", soakFmt(ca), soakFmt(cb), soakFmt(truth))
				})
			}
			bothExact("both Prometheus with exact counts", 40*time.Second)
			time.Sleep(haInterval) // a whole interval of both scraping

			// Status requests over haWindow intervals.
			perSweep := int(math.Ceil(float64(fake.Counts().Active-fake.Counts().ActiveBots) / 1000))
			fake.ResetCounters()
			time.Sleep(haWindow * haInterval)
			got := int(fake.Requests(mmtest.EndpointStatusesByIDs))
			sweepsPerInterval := 2
			if maxAge > 0 {
				sweepsPerInterval = 1
			}
			want := haWindow * sweepsPerInterval * perSweep
			lo, hi := want-sweepsPerInterval*perSweep, want+sweepsPerInterval*perSweep
			offset := haOffset(a, b)
			t.Logf("HA summary (max-age %s): %d status requests in %d intervals of %s = %.1f per interval (%d per sweep, documented %d sweeps per interval: %d), scrape offset between the two Prometheus %s",
				maxAge, got, haWindow, haInterval, float64(got)/haWindow, perSweep, sweepsPerInterval, sweepsPerInterval*perSweep, offset)
			if got < lo || got > hi {
				t.Errorf("%d status requests in %d intervals, want %d (%d to %d: a sweep may straddle the window's ends)", got, haWindow, want, lo, hi)
			}

			// A change of statuses: both see it within an interval plus
			// max-age (and slack for a loaded machine).
			for i, u := range fake.Users()[:300] {
				fake.SetStatus(u.ID, []string{mmclient.StatusOnline, mmclient.StatusDND, mmclient.StatusAway}[i%3], i%2 == 0)
			}
			changed := time.Now()
			bothExact("both Prometheus with the changed counts", haInterval+maxAge+10*time.Second)
			t.Logf("HA summary (max-age %s): both Prometheus exact %s after a change of 300 statuses", maxAge, time.Since(changed).Round(100*time.Millisecond))
			for _, api := range []*promAPI{a, b} {
				if r := api.query(`min_over_time(up[1m])`); len(r) != 1 || r[0].Value != "1" {
					t.Errorf("a scrape failed in the last minute: min up = %v", r)
				}
			}
		})
	}
}

// haOffset is the time between the two Prometheus' last scrapes, modulo
// the interval.
func haOffset(a, b *promAPI) time.Duration {
	ts := func(api *promAPI) float64 {
		r := api.query(`timestamp(up)`)
		if len(r) != 1 {
			return math.NaN()
		}
		v, _ := strconv.ParseFloat(r[0].Value, 64)
		return v
	}
	d := math.Mod(math.Abs(ts(a)-ts(b)), haInterval.Seconds())
	return time.Duration(d * float64(time.Second)).Round(time.Millisecond)
}
