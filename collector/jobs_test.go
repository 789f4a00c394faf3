package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var jobsMetricNames = []string{
	"mattermost_job_last_success_timestamp_seconds", "mattermost_job_last_status", "mattermost_jobs_pending",
	"mattermost_job_oldest_pending_age_seconds", "mattermost_exporter_jobs_dropped_types",
}

// statusLines returns the 7 last_status samples of typ, 1 for status.
func statusLines(typ, status string) []string {
	var out []string
	for _, st := range mmclient.KnownJobStatuses {
		v := "0"
		if st == status {
			v = "1"
		}
		out = append(out, fmt.Sprintf(`mattermost_job_last_status{status=%q,type=%q} %s`, st, typ, v))
	}
	return out
}

func jobsWant(success []string, status [][2]string, pending []string, ages []string, dropped string) string {
	var lines []string
	lines = append(lines, success...)
	for _, s := range status {
		lines = append(lines, statusLines(s[0], s[1])...)
	}
	lines = append(lines, pending...)
	lines = append(lines, ages...)
	lines = append(lines, `mattermost_exporter_jobs_dropped_types `+dropped)
	return sigExpo(lines...)
}

func TestJobsCollectorFixtures(t *testing.T) {
	tests := []struct {
		era  string
		want string
	}{
		{"real-mattermost", jobsWant(
			[]string{
				`mattermost_job_last_success_timestamp_seconds{type="expiry_notify"} 1.795999948787e+09`,
				`mattermost_job_last_success_timestamp_seconds{type="migrations"} 1.795998758872e+09`,
			},
			[][2]string{{"expiry_notify", "success"}, {"migrations", "success"}},
			[]string{`mattermost_jobs_pending{type="expiry_notify"} 0`, `mattermost_jobs_pending{type="migrations"} 0`},
			[]string{`mattermost_job_oldest_pending_age_seconds{type="expiry_notify"} 0`, `mattermost_job_oldest_pending_age_seconds{type="migrations"} 0`},
			"0")},
		{"current-mattermost", jobsWant(
			[]string{
				`mattermost_job_last_success_timestamp_seconds{type="import_process"} 1.796000097338e+09`,
				`mattermost_job_last_success_timestamp_seconds{type="migrations"} 1.79600004522e+09`,
			},
			[][2]string{{"import_process", "success"}, {"migrations", "success"}},
			[]string{`mattermost_jobs_pending{type="import_process"} 0`, `mattermost_jobs_pending{type="migrations"} 0`},
			[]string{`mattermost_job_oldest_pending_age_seconds{type="import_process"} 0`, `mattermost_job_oldest_pending_age_seconds{type="migrations"} 0`},
			"0")},
	}
	for _, tc := range tests {
		t.Run(tc.era, func(t *testing.T) {
			s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/jobs": {tc.era, "jobs_admin"}})
			c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, "fixturetoken0000000000000a", nil)}, JobsConfig{})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			if err := testutil.CollectAndCompare(a, strings.NewReader(tc.want), jobsMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

// Non-admins get 403 on both eras: the collector fails and names the role.
func TestJobsCollectorNonAdmin(t *testing.T) {
	for _, era := range []string{"real-mattermost", "current-mattermost"} {
		s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/jobs": {era, "jobs_nonadmin"}})
		c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, "fixturetoken0000000000000a", nil)}, JobsConfig{})
		if err != nil {
			t.Fatal(err)
		}
		a := &updateAdapter{c: c}
		if n := testutil.CollectAndCount(a, jobsMetricNames...); n != 0 {
			t.Errorf("%s: %d series after 403", era, n)
		}
		if err := a.lastErr(); !mmclient.IsForbidden(err) {
			t.Errorf("%s: Update error = %v", era, err)
		}
		// The exporter's log line names the role.
		var logs logBuffer
		e := NewExporter(Deps{Client: fakeClient(t, s.URL, "fixturetoken0000000000000a", nil), Logger: logs.Logger()}, map[string]Collector{"jobs": c})
		want := sigExpo(`mattermost_exporter_collector_success{collector="jobs"} 0`)
		if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(want), "mattermost_exporter_collector_success"); err != nil {
			t.Error(err)
		}
		if len(logs.LinesContaining("permission denied", "system_admin", "/jobs")) != 1 {
			t.Errorf("%s: log:\n%s", era, logs.String())
		}
	}
}

// Every status, pending ages, newest-by-create-time, and the success
// timestamp remembered after the successful job left the recent page.
func TestJobsCollectorStatuses(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	now := time.Unix(1_800_000_000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	s.SetJobs([]mmtest.Job{
		// data_retention: newest failed, an older one succeeded.
		{Type: "data_retention", Status: "error", CreateAt: ago(time.Hour), StartAt: ago(time.Hour), LastActivityAt: ago(50 * time.Minute)},
		{Type: "data_retention", Status: "success", CreateAt: ago(25 * time.Hour), StartAt: ago(25 * time.Hour), LastActivityAt: ago(24 * time.Hour)},
		// ldap_sync: two pending, the oldest for 2 hours, behind one in progress.
		{Type: "ldap_sync", Status: "pending", CreateAt: ago(2 * time.Hour)},
		{Type: "ldap_sync", Status: "pending", CreateAt: ago(10 * time.Minute)},
		{Type: "ldap_sync", Status: "in_progress", CreateAt: ago(3 * time.Hour), StartAt: ago(3 * time.Hour), LastActivityAt: ago(3 * time.Hour)},
		{Type: "message_export", Status: "warning", CreateAt: ago(time.Minute)},
		{Type: "export_process", Status: "cancel_requested", CreateAt: ago(time.Minute)},
		{Type: "import_process", Status: "canceled", CreateAt: ago(time.Minute)},
		// A success without last_activity_at falls back to start_at.
		{Type: "active_users", Status: "success", CreateAt: ago(20 * time.Minute), StartAt: ago(15 * time.Minute)},
	})
	c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, JobsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return now }
	a := &updateAdapter{c: c}
	want := jobsWant(
		[]string{
			`mattermost_job_last_success_timestamp_seconds{type="active_users"} 1.7999991e+09`,
			`mattermost_job_last_success_timestamp_seconds{type="data_retention"} 1.7999136e+09`,
		},
		[][2]string{
			{"active_users", "success"}, {"data_retention", "error"}, {"export_process", "cancel_requested"},
			{"import_process", "canceled"}, {"ldap_sync", "pending"}, {"message_export", "warning"},
		},
		[]string{
			`mattermost_jobs_pending{type="active_users"} 0`, `mattermost_jobs_pending{type="data_retention"} 0`,
			`mattermost_jobs_pending{type="export_process"} 0`, `mattermost_jobs_pending{type="import_process"} 0`,
			`mattermost_jobs_pending{type="ldap_sync"} 2`, `mattermost_jobs_pending{type="message_export"} 0`,
		},
		[]string{
			`mattermost_job_oldest_pending_age_seconds{type="active_users"} 0`, `mattermost_job_oldest_pending_age_seconds{type="data_retention"} 0`,
			`mattermost_job_oldest_pending_age_seconds{type="export_process"} 0`, `mattermost_job_oldest_pending_age_seconds{type="import_process"} 0`,
			`mattermost_job_oldest_pending_age_seconds{type="ldap_sync"} 7200`, `mattermost_job_oldest_pending_age_seconds{type="message_export"} 0`,
		},
		"0")
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), jobsMetricNames...); err != nil {
		t.Error(err)
	}

	// The successful data_retention job leaves the page (200 newer jobs of
	// another type): its timestamp is kept, the type stays exported.
	var flood []mmtest.Job
	for i := 0; i < 200; i++ {
		flood = append(flood, mmtest.Job{Type: "expiry_notify", Status: "in_progress", CreateAt: ago(time.Duration(i) * time.Second)})
	}
	s.SetJobs(flood)
	want = jobsWant(
		[]string{
			`mattermost_job_last_success_timestamp_seconds{type="active_users"} 1.7999991e+09`,
			`mattermost_job_last_success_timestamp_seconds{type="data_retention"} 1.7999136e+09`,
		},
		[][2]string{{"expiry_notify", "in_progress"}},
		[]string{`mattermost_jobs_pending{type="active_users"} 0`, `mattermost_jobs_pending{type="data_retention"} 0`, `mattermost_jobs_pending{type="expiry_notify"} 0`},
		[]string{`mattermost_job_oldest_pending_age_seconds{type="active_users"} 0`, `mattermost_job_oldest_pending_age_seconds{type="data_retention"} 0`, `mattermost_job_oldest_pending_age_seconds{type="expiry_notify"} 0`},
		"0")
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), jobsMetricNames...); err != nil {
		t.Error(err)
	}
	if n := s.Requests(mmclient.EndpointJobs); n != 2 {
		t.Errorf("jobs requests = %d, want 2", n)
	}
}

// A job type that ran twice (a daily data retention, yesterday and today)
// reports the newest success, whatever the order of the page: an older one
// would make a freshness alert on mattermost_job_last_success_timestamp_seconds
// fire although the job ran today. The exporter's first scrape sees both
// on one page.
func TestJobsCollectorLastSuccessIsTheNewest(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	now := time.Unix(1_800_000_000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	s.SetJobs([]mmtest.Job{
		{Type: "data_retention", Status: "success", CreateAt: ago(24 * time.Hour), StartAt: ago(24 * time.Hour), LastActivityAt: ago(23 * time.Hour)},
		{Type: "data_retention", Status: "success", CreateAt: ago(2 * time.Hour), StartAt: ago(2 * time.Hour), LastActivityAt: ago(time.Hour)},
		{Type: "data_retention", Status: "success", CreateAt: ago(48 * time.Hour), StartAt: ago(48 * time.Hour), LastActivityAt: ago(47 * time.Hour)},
	})
	c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, JobsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := sigExpo(`mattermost_job_last_success_timestamp_seconds{type="data_retention"} 1.7999964e+09`) // an hour ago
	if err := testutil.CollectAndCompare(&updateAdapter{c: c}, strings.NewReader(want), "mattermost_job_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// Unknown job types: at most maxOtherJobTypes, the first ones kept across
// scrapes; names cut to 64 bytes; the rest counted as dropped.
func TestJobsCollectorBoundsTypes(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	base := time.Now()
	var jobs []mmtest.Job
	for i := 0; i < maxOtherJobTypes+5; i++ {
		jobs = append(jobs, mmtest.Job{Type: fmt.Sprintf("plugin_job_%02d", i), Status: "success", CreateAt: base.Add(-time.Duration(i) * time.Minute)})
	}
	long := strings.Repeat("x", 100)
	jobs = append(jobs, mmtest.Job{Type: "migrations", Status: "success", CreateAt: base.Add(-time.Hour)})
	s.SetJobs(jobs)
	c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, JobsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if n := testutil.CollectAndCount(a, "mattermost_jobs_pending"); n != maxOtherJobTypes+1 {
		t.Errorf("%d types exported, want %d", n, maxOtherJobTypes+1)
	}
	if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(`mattermost_exporter_jobs_dropped_types 5`)), "mattermost_exporter_jobs_dropped_types"); err != nil {
		t.Error(err)
	}
	// A new unknown type later is dropped too; a known one never is.
	s.SetJobs([]mmtest.Job{{Type: long, Status: "error", CreateAt: base}, {Type: "ldap_sync", Status: "error", CreateAt: base}})
	if n := testutil.CollectAndCount(a, "mattermost_job_last_status"); n != 7 {
		t.Errorf("%d last_status series, want 7 (ldap_sync only)", n)
	}
	if got := boundLabel(long, maxJobTypeLen); len(got) != 64 {
		t.Errorf("cut type %d bytes", len(got))
	}
}

// Scrapes within the interval reuse the jobs list and its timestamp (the
// age of a pending job still grows with the clock); the next scrape after
// it reads again.
func TestJobsCollectorInterval(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	clock := newFakeClock()
	s.SetJobs([]mmtest.Job{{Type: "ldap_sync", Status: "pending", CreateAt: clock.now().Add(-10 * time.Minute)}})
	c, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, JobsConfig{Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c.now, c.cache.now = clock.now, clock.now
	a := &updateAdapter{c: c}
	names := []string{"mattermost_jobs_timestamp_seconds", "mattermost_jobs_pending", "mattermost_job_oldest_pending_age_seconds", "mattermost_job_last_status"}
	want := func(ts, status, pending, age string) string {
		lines := []string{`mattermost_jobs_timestamp_seconds ` + ts}
		lines = append(lines, statusLines("ldap_sync", status)...)
		lines = append(lines, `mattermost_jobs_pending{type="ldap_sync"} `+pending, `mattermost_job_oldest_pending_age_seconds{type="ldap_sync"} `+age)
		return sigExpo(lines...)
	}
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("1.8e+09", "pending", "1", "600")), names...); err != nil {
		t.Error(err)
	}
	s.SetJobs([]mmtest.Job{{Type: "ldap_sync", Status: "success", CreateAt: clock.now().Add(-10 * time.Minute), LastActivityAt: clock.now()}})
	clock.add(59 * time.Second)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("1.8e+09", "pending", "1", "659")), names...); err != nil {
		t.Errorf("within the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointJobs); n != 1 {
		t.Errorf("requests within the interval = %d, want 1", n)
	}
	clock.add(time.Second)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want("1.80000006e+09", "success", "0", "0")), names...); err != nil {
		t.Errorf("after the interval: %v", err)
	}
	if n := s.Requests(mmclient.EndpointJobs); n != 2 {
		t.Errorf("requests after the interval = %d, want 2", n)
	}
	if _, err := NewJobsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, JobsConfig{Interval: -time.Second}); err == nil {
		t.Error("negative interval accepted")
	}
}
