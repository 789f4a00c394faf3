package e2e

// End-to-end test of the multi-target mode: one exporter (--config.file) probes three fake
// deployments for a real Prometheus, which relabels ?target= into instance exactly as the
// README says. Each instance shows its own truth, the shipped alerts fire for the right
// instance only, and a reload removing a target makes its series go stale.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
	"github.com/mmexporter/mattermost_exporter/probe"
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
	healthy := mmtest.NewServer(mmtest.Config{
		Nodes: promE2EHealthyNodes(), Users: users,
		SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: true, SAMLEnabled: true,
		RateLimit: &mmtest.RateLimit{PerSec: 100000, Burst: 100000}, // X-Ratelimit-* headers
	})
	fleetHealthySignals(t, healthy)
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
	api := promStartPrometheusConfig(t, prometheusBin, dir, promCfg)

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

	// The probe of healthy holds exactly the families, with the same label names, as a
	// single-target scrape of the same deployment (minus the go_, process_ and promhttp_
	// metrics, which are on the exporter's /metrics, plus the two probe_ metrics).
	single := goldenStartExporter(t, healthy.URL, mmtest.AdminToken, "--collector.cluster.expected-nodes=3")
	single.waitUsersReady(t)
	singleFams := promFleetShape(t, single.scrape(t))
	probeFams := promFleetShape(t, mustScrape(t, "http://"+exporterAddr+"/probe?target=healthy"))
	if len(singleFams) < 15 || len(probeFams) < 15 {
		t.Fatalf("too few families to compare: %d single-target, %d probe", len(singleFams), len(probeFams))
	}
	for name, labels := range singleFams {
		switch {
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"), strings.HasPrefix(name, "promhttp_"):
			if _, ok := probeFams[name]; ok {
				t.Errorf("/probe holds the exporter's own %s", name)
			}
		case probeFams[name] != labels:
			t.Errorf("%s: /probe labels %q, single-target %q", name, probeFams[name], labels)
		}
	}
	for name := range probeFams {
		if _, ok := singleFams[name]; !ok && name != "mattermost_probe_success" && name != "mattermost_probe_duration_seconds" {
			t.Errorf("/probe holds %s, which a single-target scrape has not", name)
		}
	}

	// Every dashboard query, with instance set to one deployment, returns data.
	vars := map[string]string{
		"job": "mattermost", "instance": "healthy",
		"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
	}
	for _, q := range grafanaQueries(t, promLoadDashboard(t, promDashboardFile)) {
		if why := fleetNotExportedIn(q.Expr); why != "" {
			t.Logf("%s: not checked: %s", q.Where, why)
			continue
		}
		expr, err := promFillVariables(q.Expr, vars)
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		promWaitFor(t, 15*time.Second, q.Where+" returns data for instance healthy", func() (bool, string) {
			return len(api.query(expr)) > 0, expr + " returned nothing"
		})
	}

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

// TestDeployKubernetesFleet checks that the multi-target Kubernetes example fits together: the
// config parses, every token_file lives in the Secret's mount and has a key in the
// secretGenerator, --config.file is in the ConfigMap's mount, the scrape configs list exactly
// the config's target names, and (with kubectl) the kustomization renders.
func TestDeployKubernetesFleet(t *testing.T) {
	dir := promRepoPath("deploy", "kubernetes", "fleet")
	cfgBytes, err := os.ReadFile(filepath.Join(dir, "mattermost_exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(t.TempDir(), "t")
	promWriteFile(t, tok, "x")
	var tokenFiles []string
	targets, err := probe.Parse(cfgBytes, func(what, path string) (string, [32]byte, error) {
		tokenFiles = append(tokenFiles, path)
		return "x", [32]byte{}, nil
	})
	if err != nil {
		t.Fatalf("mattermost_exporter.yml: %v", err)
	}
	var names []string
	for _, tg := range targets {
		names = append(names, tg.Name)
	}

	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []k8sContainer `yaml:"containers"`
					Volumes    []struct {
						Name      string `yaml:"name"`
						ConfigMap struct {
							Name string `yaml:"name"`
						} `yaml:"configMap"`
						Secret struct {
							SecretName string `yaml:"secretName"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	promDecodeYAML(t, filepath.Join(dir, "deployment.yaml"), &dep)
	pod := dep.Spec.Template.Spec
	mounts := map[string]string{} // mount path -> volume
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	volumes := map[string]string{} // volume -> configmap:/secret: name
	for _, v := range pod.Volumes {
		if v.ConfigMap.Name != "" {
			volumes[v.Name] = "configmap:" + v.ConfigMap.Name
		}
		if v.Secret.SecretName != "" {
			volumes[v.Name] = "secret:" + v.Secret.SecretName
		}
	}
	var configArg string
	for _, a := range pod.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			configArg = v
		}
	}
	if got := volumes[mounts[filepath.Dir(configArg)]]; got != "configmap:mattermost-exporter-config" || filepath.Base(configArg) != "mattermost_exporter.yml" {
		t.Errorf("--config.file=%s is not the ConfigMap's file (volume %q)", configArg, got)
	}

	var kust struct {
		SecretGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"secretGenerator"`
	}
	promDecodeYAML(t, filepath.Join(dir, "kustomization.yaml"), &kust)
	keys := map[string]bool{}
	for _, g := range kust.SecretGenerator {
		if g.Name == "mattermost-exporter-tokens" {
			for _, f := range g.Files {
				keys[f] = true
			}
		}
	}
	for _, p := range tokenFiles {
		if got := volumes[mounts[filepath.Dir(p)]]; got != "secret:mattermost-exporter-tokens" {
			t.Errorf("token_file %s is not in the Secret's mount (volume %q)", p, got)
		}
		if !keys[filepath.Base(p)] {
			t.Errorf("token_file %s has no key in the secretGenerator", p)
		}
	}

	var scrape struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	promDecodeYAML(t, filepath.Join(dir, "prometheus-scrape.yml"), &scrape)
	if len(scrape.ScrapeConfigs) == 0 || scrape.ScrapeConfigs[0].MetricsPath != "/probe" ||
		fmt.Sprint(scrape.ScrapeConfigs[0].StaticConfigs[0].Targets) != fmt.Sprint(names) {
		t.Errorf("prometheus-scrape.yml does not probe exactly %v", names)
	}
	sc, err := os.ReadFile(filepath.Join(dir, "scrapeconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sc), "targets: ["+strings.Join(names, ", ")+"]") {
		t.Errorf("scrapeconfig.yaml does not list %v", names)
	}
	if promtool := promOptionalTool(t, "promtool", "the fleet scrape config is not checked with promtool"); promtool != "" {
		cfg := filepath.Join(t.TempDir(), "prometheus.yml")
		promWriteFile(t, cfg, string(mustRead(t, filepath.Join(dir, "prometheus-scrape.yml"))))
		if out, err := exec.Command(promtool, "check", "config", "--syntax-only", cfg).CombinedOutput(); err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	}

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: kustomization only parsed")
		return
	}
	tmp := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		promWriteFile(t, filepath.Join(tmp, e.Name()), string(mustRead(t, filepath.Join(dir, e.Name()))))
	}
	for k := range keys {
		promWriteFile(t, filepath.Join(tmp, k), "dummy-token")
	}
	out, err := exec.Command(kubectl, "kustomize", tmp).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "name: mattermost-exporter-config-") {
		t.Errorf("rendered Deployment does not mount the generated ConfigMap:\n%s", out)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promFleetShape parses an exposition into family name -> sorted label names of its series.
func promFleetShape(t *testing.T, text string) map[string]string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	out := map[string]string{}
	for name, mf := range fams {
		set := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				set[l.GetName()] = true
			}
		}
		var names []string
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names)
		out[name] = strings.Join(names, ",")
	}
	return out
}

// fleetNotExportedIn returns why a dashboard query cannot return data for
// this test's deployments ("" when it can): the fakes run Mattermost 5.37
// (no search backend) and the exporter runs the default collectors
// (analytics off).
func fleetNotExportedIn(expr string) string {
	if why := promE2ENotExportedIn(expr); why != "" {
		return why
	}
	names, err := promQLMetricNames(expr)
	if err != nil {
		return ""
	}
	for _, n := range names {
		if why := promConditionalMetrics[n]; strings.Contains(why, "--collector.analytics") {
			return n + ": " + why
		}
	}
	return ""
}

// fleetHealthySignals gives the healthy deployment the state behind the
// dashboard's health, license, jobs, plugins and SAML panels, with nothing
// that would raise an alert: a licence six months from expiry, a successful
// job, plugins running one version everywhere, certificates far from expiry.
func fleetHealthySignals(t *testing.T, fake *mmtest.Server) {
	t.Helper()
	now := time.Now()
	fake.SetLicense(&mmtest.License{SkuShortName: "enterprise", SkuName: "Enterprise", Users: 500,
		StartsAt: now.AddDate(-1, 0, 0), ExpiresAt: now.AddDate(0, 6, 0)})
	fake.SetJobs([]mmtest.Job{
		{Type: "ldap_sync", Status: "success", CreateAt: now.Add(-2 * time.Hour), StartAt: now.Add(-2 * time.Hour), LastActivityAt: now.Add(-time.Hour), Progress: 100},
	})
	fake.SetPlugins(true, []mmtest.PluginStatus{
		{PluginID: "playbooks", ClusterID: "n1", Name: "Playbooks", Version: "2.0.1", State: 2},
		{PluginID: "playbooks", ClusterID: "n2", Name: "Playbooks", Version: "2.0.1", State: 2},
	})
	if err := fake.SetSAMLCertificate(now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetSAMLIDPCertificate(now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	fake.SetSAMLIDPMetadataURL(fake.URL + mmtest.IDPMetadataPath)
}
