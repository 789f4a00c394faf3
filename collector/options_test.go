package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// Deps.Options overrides the flags for one target: its collectors and the
// options it sets; the options it leaves nil keep the flags' values.
func TestNewTargetOptionsOverrideFlags(t *testing.T) {
	if _, err := kingpin.CommandLine.Parse([]string{"--no-collector.cluster", "--collector.cluster.expected-nodes=4"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := kingpin.CommandLine.Parse(nil); err != nil {
			t.Error(err)
		}
	})
	s := mmtest.Start(t, mmtest.Config{})
	client := fakeClient(t, s.URL, mmtest.AdminToken, nil)
	seven, bots, refresh := 7, true, model.Duration(time.Minute)
	opts := TargetOptions{Collectors: []string{"cluster", "users"}}
	opts.Cluster.ExpectedNodes = &seven
	opts.Users.IncludeBots = &bots
	opts.Users.RefreshInterval = &refresh
	e, err := New(Deps{Client: client, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Collectors(), ","); got != "cluster,users" {
		t.Errorf("collectors = %s, want cluster,users (the flags disable cluster)", got)
	}
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(expo(`mattermost_cluster_expected_nodes 7`)),
		"mattermost_cluster_expected_nodes"); err != nil {
		t.Error(err)
	}
	u := e.collectors["users"].(*UsersCollector)
	if !u.cfg.IncludeBots || u.cfg.RefreshInterval != time.Minute {
		t.Errorf("users config %+v ignores the target's options", u.cfg)
	}
	// Without overrides the flags rule.
	e, err = New(Deps{Client: client, Options: TargetOptions{Collectors: []string{"cluster"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(scrapeAdapter{e: e}, strings.NewReader(expo(`mattermost_cluster_expected_nodes 4`)),
		"mattermost_cluster_expected_nodes"); err != nil {
		t.Error(err)
	}
	if _, err := New(Deps{Client: client, Options: TargetOptions{Collectors: []string{"nope"}}}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown collector: %v", err)
	}
}
