package e2e

// End-to-end test of the multi-target mode: one exporter (--config.file) probes three fake
// deployments for a real Prometheus, which relabels ?target= into instance exactly as the
// README says. Each instance shows its own truth, the shipped alerts fire for the right
// instance only, and a reload removing a target makes its series go stale.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// promFleetConfig writes the exporter's config file for the named fake URLs.
func promFleetConfig(t *testing.T, path, tokenFile string, targets map[string]string) {
	t.Helper()
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("targets:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n    token_file: %s\n    cluster: {expected_nodes: 3}\n    users: {refresh_interval: 5s}\n", n, targets[n], tokenFile)
	}
	promWriteFile(t, path, b.String())
}

func TestPrometheusFleetEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	dir := t.TempDir()
	exporterBin := exporterBinary(t)

	users := mmtest.GenerateUsers(100, 7)
	healthy := mmtest.NewServer(mmtest.Config{Nodes: promE2EHealthyNodes(), Users: users})
	nodeDown := mmtest.NewServer(mmtest.Config{Nodes: promE2ENodes(func(n *mmtest.Node) { *n = mmtest.Node{ID: n.ID} }), Users: users})
	forbidden := mmtest.NewServer(mmtest.Config{Nodes: promE2EHealthyNodes(), Users: users})
	forbidden.SetFault(mmtest.EndpointClusterStatus, mmtest.Fault{Code: http.StatusForbidden})
	for _, s := range []*mmtest.Server{healthy, nodeDown, forbidden} {
		t.Cleanup(s.Close)
	}
	fakes := map[string]string{"healthy": healthy.URL, "nodedown": nodeDown.URL, "forbidden": forbidden.URL}

	tokenFile := filepath.Join(dir, "admin.token")
	promWriteFile(t, tokenFile, mmtest.AdminToken+"\n")
	cfgPath := filepath.Join(dir, "mattermost_exporter.yml")
	promFleetConfig(t, cfgPath, tokenFile, fakes)

	exporterAddr := freeAddr(t)
	exporterLog := filepath.Join(dir, "exporter.log")
	exporter := promStart(t, exporterLog, nil, exporterBin,
		"--config.file="+cfgPath,
		"--web.enable-lifecycle",
		"--web.listen-address="+exporterAddr,
		"--log.level=debug",
	)
	promWaitHTTP(t, "http://"+exporterAddr+"/", 20*time.Second)

	rules := promShortenedRules(t, dir)
	promAddr := freeAddr(t)
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: mattermost
    metrics_path: /probe
    static_configs:
      - targets: [healthy, nodedown, forbidden]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: %q
  - job_name: mattermost_exporter
    static_configs:
      - targets: [%q]
`, rules, exporterAddr, exporterAddr)
	promCfgPath := filepath.Join(dir, "prometheus.yml")
	promWriteFile(t, promCfgPath, promCfg)
	promStart(t, filepath.Join(dir, "prometheus.log"), nil, prometheusBin,
		"--config.file="+promCfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+promAddr,
	)
	promWaitHTTP(t, "http://"+promAddr+"/-/ready", 30*time.Second)
	api := &promAPI{t: t, base: "http://" + promAddr}

	byInstance := func(q string) map[string]string {
		out := map[string]string{}
		for _, s := range api.query(q) {
			out[s.Metric["instance"]] = s.Value
		}
		return out
	}
	want := func(what, q string, exp map[string]string) {
		t.Helper()
		promWaitFor(t, 30*time.Second, what, func() (bool, string) {
			got := byInstance(q)
			return fmt.Sprint(got) == fmt.Sprint(exp), fmt.Sprintf("%s = %v, want %v", q, got, exp)
		})
	}

	// 1. Three probes up, each instance its own truth.
	want("three probes up", `up{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "1"})
	want("users ready on every instance", `mattermost_exporter_collector_success{job="mattermost",collector="users"}`,
		map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "1"})
	want("mattermost_up per instance", `mattermost_up{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "1"})
	want("unreachable node only on nodedown", `mattermost_cluster_node_up{job="mattermost"} == 0`, map[string]string{"nodedown": "0"})
	want("cluster collector failing only on forbidden", `mattermost_exporter_collector_success{job="mattermost",collector="cluster"}`,
		map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "0"})
	want("cluster nodes where readable", `mattermost_cluster_nodes{job="mattermost"}`, map[string]string{"healthy": "3", "nodedown": "3"})
	want("probe success", `mattermost_probe_success{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "0"})
	promWaitFor(t, 30*time.Second, "users counted on every instance", func() (bool, string) {
		got := byInstance(`sum by (instance) (mattermost_users{job="mattermost"}) > 0`)
		return len(got) == 3, fmt.Sprintf("instances with users: %v", got)
	})

	// 2. The matching alerts fire for the right instance only, and nothing else is active.
	type key struct{ alert, instance string }
	expected := map[key]bool{
		{"MattermostClusterNodeDown", "nodedown"}:   true,
		{"MattermostCollectorFailing", "forbidden"}: true,
	}
	promWaitFor(t, 40*time.Second, "exactly the expected alerts firing", func() (bool, string) {
		active := api.alerts()
		firing := map[key]bool{}
		for _, a := range active {
			k := key{a.Labels["alertname"], a.Labels["instance"]}
			if !expected[k] {
				return false, "unexpected active alert: " + promAlertList(active)
			}
			if a.State == "firing" {
				firing[k] = true
			}
			if k.alert == "MattermostCollectorFailing" && a.Labels["collector"] != "cluster" {
				return false, "collector failing is not the cluster one: " + promAlertList(active)
			}
		}
		return len(firing) == len(expected), "active: " + promAlertList(active)
	})

	// 3. A bad config is rejected over /-/reload: the old targets keep serving.
	promWriteFile(t, cfgPath, "targets:\n  - name: healthy\n    url: "+healthy.URL+"\n    token: inline\n")
	resp, err := http.Post("http://"+exporterAddr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("bad reload answered %s, want 500", resp.Status)
	}
	want("reload failure visible", `mattermost_exporter_config_last_reload_successful{job="mattermost_exporter"}`,
		map[string]string{exporterAddr: "0"})
	want("old targets still probed", `mattermost_up{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "1"})

	// 4. SIGHUP with forbidden removed: its probes get 400 and its series go stale.
	delete(fakes, "forbidden")
	promFleetConfig(t, cfgPath, tokenFile, fakes)
	if err := exporter.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want("reload success visible", `mattermost_exporter_config_last_reload_successful{job="mattermost_exporter"}`,
		map[string]string{exporterAddr: "1"})
	want("removed target's series stale", `mattermost_up{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1"})
	want("removed target's probes refused", `up{job="mattermost"}`, map[string]string{"healthy": "1", "nodedown": "1", "forbidden": "0"})
	want("targets gauge", `mattermost_exporter_probe_targets`, map[string]string{exporterAddr: "2"})
	if got := byInstance(`mattermost_exporter_collector_success{instance="forbidden"}`); len(got) != 0 {
		t.Errorf("forbidden series not stale: %v", got)
	}

	// 5. The token never reaches the log.
	logText, err := os.ReadFile(exporterLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logText), mmtest.AdminToken) {
		t.Error("the exporter log holds the token")
	}
	if !strings.Contains(string(logText), "target=forbidden") {
		t.Error("the exporter log names no target")
	}
}
