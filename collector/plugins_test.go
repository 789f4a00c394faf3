package collector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var pluginsMetricNames = []string{
	"mattermost_plugins_enabled", "mattermost_plugin_nodes", "mattermost_plugin_info",
	"mattermost_plugin_versions", "mattermost_exporter_plugins_dropped",
}

// pluginNodeLines returns the 6 state samples of id with the given counts
// (by state number).
func pluginNodeLines(id string, counts map[int]int) []string {
	var out []string
	for state, name := range mmclient.PluginStateNames {
		out = append(out, fmt.Sprintf(`mattermost_plugin_nodes{plugin_id=%q,state=%q} %d`, id, name, counts[state]))
	}
	return out
}

// Plugins disabled (both captured eras): 501 is not a failure.
func TestPluginsCollectorDisabledFixtures(t *testing.T) {
	for _, era := range []string{"real-mattermost", "current-mattermost"} {
		t.Run(era, func(t *testing.T) {
			s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/plugins/statuses": {era, "plugins_statuses_plugins_disabled"}})
			c, err := NewPluginsCollector(Deps{Client: fakeClient(t, s.URL, "fixturetoken0000000000000a", nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(`mattermost_plugins_enabled 0`)), pluginsMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

func TestPluginsCollector(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetPlugins(true, []mmtest.PluginStatus{
		{PluginID: "com.mattermost.calls", ClusterID: "n1", Name: "Calls", Version: "1.2.0", State: mmclient.PluginStateRunning},
		{PluginID: "com.mattermost.calls", ClusterID: "n2", Name: "Calls", Version: "1.2.0", State: mmclient.PluginStateRunning},
		{PluginID: "com.mattermost.calls", ClusterID: "n3", Name: "Calls", Version: "1.1.0", State: mmclient.PluginStateFailedToStayRunning, Error: "crashed"},
		{PluginID: "playbooks", ClusterID: "n1", Name: "Playbooks", Version: "2.0.0", State: mmclient.PluginStateFailedToStart},
		{PluginID: "playbooks", ClusterID: "n2", Name: "Playbooks", Version: "2.0.0", State: mmclient.PluginStateNotRunning},
		{PluginID: "playbooks", ClusterID: "n3", Name: "Playbooks", Version: "2.0.0", State: 9}, // unknown state: not counted
	})
	c, err := NewPluginsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	lines := []string{`mattermost_plugins_enabled 1`}
	lines = append(lines, pluginNodeLines("com.mattermost.calls", map[int]int{mmclient.PluginStateRunning: 2, mmclient.PluginStateFailedToStayRunning: 1})...)
	lines = append(lines, pluginNodeLines("playbooks", map[int]int{mmclient.PluginStateFailedToStart: 1, mmclient.PluginStateNotRunning: 1})...)
	lines = append(lines,
		`mattermost_plugin_info{name="Calls",plugin_id="com.mattermost.calls",version="1.1.0"} 1`,
		`mattermost_plugin_info{name="Calls",plugin_id="com.mattermost.calls",version="1.2.0"} 1`,
		`mattermost_plugin_info{name="Playbooks",plugin_id="playbooks",version="2.0.0"} 1`,
		`mattermost_plugin_versions{plugin_id="com.mattermost.calls"} 2`,
		`mattermost_plugin_versions{plugin_id="playbooks"} 1`,
		`mattermost_exporter_plugins_dropped 0`,
	)
	if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(lines...)), pluginsMetricNames...); err != nil {
		t.Error(err)
	}
	if err := a.lastErr(); err != nil {
		t.Errorf("Update: %v", err)
	}
}

// With plugins enabled a plain user gets 403: the collector fails.
func TestPluginsCollectorNonAdmin(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetPlugins(true, nil)
	c, err := NewPluginsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.UserToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if n := testutil.CollectAndCount(a, pluginsMetricNames...); n != 0 {
		t.Errorf("%d series after 403", n)
	}
	if err := a.lastErr(); !mmclient.IsForbidden(err) {
		t.Errorf("Update error = %v", err)
	}
	if !strings.Contains(c.PermissionHint(), "system_admin") {
		t.Error("hint does not name the role")
	}
	// Enabled with no plugin installed: success, nothing but the flag.
	ca, _ := NewPluginsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	want := sigExpo(`mattermost_plugins_enabled 1`, `mattermost_exporter_plugins_dropped 0`)
	if err := testutil.CollectAndCompare(&updateAdapter{c: ca}, strings.NewReader(want), pluginsMetricNames...); err != nil {
		t.Error(err)
	}
}

// More plugins than maxPlugins: the rest are counted, not exported; long
// ids are cut to 128 bytes.
func TestPluginsCollectorBounds(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	var ps []mmtest.PluginStatus
	for i := 0; i < maxPlugins+7; i++ {
		ps = append(ps, mmtest.PluginStatus{PluginID: fmt.Sprintf("p%03d", i), Name: "P", Version: "1", State: mmclient.PluginStateRunning})
	}
	ps[0].PluginID = strings.Repeat("z", 300)
	s.SetPlugins(true, ps)
	c, err := NewPluginsCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if n := testutil.CollectAndCount(a, "mattermost_plugin_versions"); n != maxPlugins {
		t.Errorf("%d plugins exported, want %d", n, maxPlugins)
	}
	if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(`mattermost_exporter_plugins_dropped 7`)), "mattermost_exporter_plugins_dropped"); err != nil {
		t.Error(err)
	}
	out, err := testutil.CollectAndFormat(a, expfmt.TypeTextPlain, "mattermost_plugin_versions")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `mattermost_plugin_versions{plugin_id="`+strings.Repeat("z", 128)+`"} 1`) {
		t.Errorf("id not cut to 128 bytes:\n%.300s", out)
	}
}
