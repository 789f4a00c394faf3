package chart

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// TestShardedScrapeConfigInPrometheus loads the sharded values' probe ScrapeConfig, as
// plain Prometheus configuration, into a real Prometheus and reads back where it sends each
// target: every target is one active target, on the StatefulSet pod hashmod(name, shards) names.
// (The pods do not exist here: the targets are down, but their addresses are what counts.)
func TestShardedScrapeConfigInPrometheus(t *testing.T) {
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus not found (make deps installs it; CI is set, so a missing tool is an error)")
		}
		t.Skip("prometheus not found: make deps installs it")
	}
	objs := render(t, filepath.Join(chartDir, "ci", "sharded-values.yaml"))
	var sts *appsv1.StatefulSet
	var probe *monitoringv1alpha1.ScrapeConfig
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *appsv1.StatefulSet:
			sts = v
		case *monitoringv1alpha1.ScrapeConfig:
			if strings.HasSuffix(v.Name, "-probe") {
				probe = v
			}
		}
	}
	if sts == nil || probe == nil {
		t.Fatal("the sharded values render no StatefulSet or no probe ScrapeConfig")
	}
	shards := int(*sts.Spec.Replicas)

	var targets []string
	for _, sc := range probe.Spec.StaticConfigs {
		for _, tg := range sc.Targets {
			targets = append(targets, string(tg))
		}
	}
	var relabel []map[string]any
	for _, r := range probe.Spec.RelabelConfigs {
		m := map[string]any{}
		if len(r.SourceLabels) > 0 {
			m["source_labels"] = r.SourceLabels
		}
		if r.TargetLabel != "" {
			m["target_label"] = r.TargetLabel
		}
		if r.Regex != "" {
			m["regex"] = r.Regex
		}
		if r.Modulus != 0 {
			m["modulus"] = r.Modulus
		}
		if r.Replacement != nil {
			m["replacement"] = *r.Replacement
		}
		if r.Action != "" {
			m["action"] = r.Action
		}
		if r.Separator != nil {
			m["separator"] = *r.Separator
		}
		relabel = append(relabel, m)
	}
	cfg := map[string]any{
		"global": map[string]any{"scrape_interval": "1m"},
		"scrape_configs": []any{map[string]any{
			"job_name":        *probe.Spec.JobName,
			"metrics_path":    *probe.Spec.MetricsPath,
			"static_configs":  []any{map[string]any{"targets": targets}},
			"relabel_configs": relabel,
		}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prometheus, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("prometheus.yml:\n%s\nprometheus log:\n%s", b, out)
		}
	}()

	// Where Prometheus sends each target.
	var got map[string][]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = activeTargets(addr)
		if len(got) == len(targets) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	headless := sts.Spec.ServiceName
	used := map[int]bool{}
	for _, name := range targets {
		shard := hashmod(name, shards)
		used[shard] = true
		want := fmt.Sprintf("http://%s-%d.%s.monitoring.svc:10065/probe?target=%s", sts.Name, shard, headless, name)
		if len(got[name]) != 1 || got[name][0] != want {
			t.Errorf("target %s: Prometheus scrapes %v, want exactly %s", name, got[name], want)
		}
	}
	t.Logf("%d targets over %d shards (%d used): %v", len(targets), shards, len(used), got)
}

// targetsClient bounds each poll so that a hung Prometheus cannot outlast the poll's deadline.
var targetsClient = &http.Client{Timeout: 2 * time.Second}

// activeTargets returns the scrape URLs of Prometheus' active targets by instance label.
func activeTargets(addr string) map[string][]string {
	out := map[string][]string{}
	resp, err := targetsClient.Get("http://" + addr + "/api/v1/targets?state=active")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return out
	}
	for _, at := range body.Data.ActiveTargets {
		u, err := url.QueryUnescape(at.ScrapeURL)
		if err != nil {
			u = at.ScrapeURL
		}
		out[at.Labels["instance"]] = append(out[at.Labels["instance"]], u)
	}
	return out
}

// hashmod is Prometheus' hashmod relabel action: the last 8 bytes of the MD5 of the value, big
// endian, modulo n.
func hashmod(value string, n int) int {
	sum := md5.Sum([]byte(value))
	return int(binary.BigEndian.Uint64(sum[8:]) % uint64(n))
}
