package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// root is the repository's root (tests run in tools/kube/chart).
var (
	root     = filepath.Join("..", "..", "..")
	chartDir = filepath.Join(root, "deploy", "helm", "mattermost-exporter")
)

// The tokens of the ci values files: they must appear in no object but a Secret.
var ciTokens = []string{"not-a-real-token", "not-a-real-token-either"}

// helm returns the pinned helm binary (`make kube` builds it and sets HELM). Without it the
// test fails under CI and is skipped elsewhere.
func helm(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HELM"); p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("HELM is not set: run the chart tests with `make kube` (CI is set, so a missing tool is an error)")
	}
	t.Skip("HELM is not set: run the chart tests with `make kube`, which builds the pinned helm")
	return ""
}

func runHelm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, helm(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No user configuration or cache of the machine's helm.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	err := cmd.Run()
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("want at least 4 values files in %s/ci, got %v (%v)", chartDir, files, err)
	}
	return files
}

func render(t *testing.T, values string) []Object {
	t.Helper()
	out, err := runHelm(t, "template", "mm", chartDir, "--namespace", "monitoring", "-f", values)
	if err != nil {
		t.Fatalf("helm template -f %s: %v\n%s", values, err, out)
	}
	objs, err := DecodeStrict(out)
	if err != nil {
		t.Fatalf("helm template -f %s: %v", values, err)
	}
	return objs
}

// podSpec returns the pod template of a Deployment or StatefulSet, nil for any other object.
func podSpec(o Object) *corev1.PodSpec {
	switch v := o.Value.(type) {
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &v.Spec.Template.Spec
	}
	return nil
}

// TestChartLint runs helm lint --strict with every ci values file.
func TestChartLint(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if out, err := runHelm(t, "lint", "--strict", chartDir, "-f", f); err != nil {
				t.Fatalf("helm lint --strict -f %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestChartTemplate renders the chart with every ci values file, decodes every object strictly
// and checks what each mode must produce.
func TestChartTemplate(t *testing.T) {
	alerts := mixinAlerts(t)
	dashboard, err := os.ReadFile(filepath.Join(root, "dashboards", "mattermost.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			var values struct {
				Mode  string `json:"mode"`
				Fleet struct {
					Shards  int                     `json:"shards"`
					Targets []struct{ Name string } `json:"targets"`
				} `json:"fleet"`
				ScrapeConfig   struct{ Enabled bool } `json:"scrapeConfig"`
				ServiceMonitor struct{ Enabled bool } `json:"serviceMonitor"`
				PrometheusRule struct{ Enabled bool } `json:"prometheusRule"`
				Dashboard      struct{ Enabled bool } `json:"dashboard"`
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(b, &values); err != nil {
				t.Fatal(err)
			}
			objs := render(t, f)
			checkShardAddresses(t, objs)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.Kind]++
				checkNoTokenOutsideSecrets(t, o)
				if spec := podSpec(o); spec != nil {
					checkPod(t, o.Name, spec, values.Mode)
				}
				switch v := o.Value.(type) {
				case *appsv1.StatefulSet:
					if v.Spec.Replicas == nil || int(*v.Spec.Replicas) != values.Fleet.Shards {
						t.Errorf("StatefulSet %s: replicas %v, want fleet.shards %d", o.Name, v.Spec.Replicas, values.Fleet.Shards)
					}
				case *monitoringv1.PrometheusRule:
					got, _ := json.Marshal(v.Spec.Groups)
					if !bytes.Equal(normalizeJSON(t, got), normalizeJSON(t, alerts)) {
						t.Errorf("PrometheusRule %s: groups differ from the mixin's render (deploy/prometheus/alerts.yml)", o.Name)
					}
				case *corev1.ConfigMap:
					if d, ok := v.Data["mattermost.json"]; ok && d != string(dashboard) {
						t.Errorf("ConfigMap %s: dashboard differs from dashboards/mattermost.json", o.Name)
					}
					if _, ok := v.Data["mattermost.json"]; ok && v.Labels["grafana_dashboard"] != "1" {
						t.Errorf("ConfigMap %s: no grafana_dashboard label for the sidecar", o.Name)
					}
					if cfg, ok := v.Data["mattermost_exporter.yml"]; ok {
						checkFleetConfig(t, cfg, len(values.Fleet.Targets))
					}
				case *monitoringv1alpha1.ScrapeConfig:
					if strings.HasSuffix(o.Name, "-probe") {
						checkShardRelabel(t, v, values.Fleet.Shards, len(values.Fleet.Targets))
					}
				}
			}
			want := map[string]bool{
				"Deployment":     values.Mode != "fleet" || values.Fleet.Shards <= 1,
				"StatefulSet":    values.Mode == "fleet" && values.Fleet.Shards > 1,
				"Service":        true,
				"ConfigMap":      values.Mode == "fleet" || values.Dashboard.Enabled,
				"ServiceMonitor": values.ServiceMonitor.Enabled,
				"ScrapeConfig":   values.ScrapeConfig.Enabled,
				"PrometheusRule": values.PrometheusRule.Enabled,
			}
			for kind, w := range want {
				if (kinds[kind] > 0) != w {
					t.Errorf("%d %s objects rendered, want them: %v", kinds[kind], kind, w)
				}
			}
			t.Logf("%d objects: %v", len(objs), kinds)
		})
	}
}

// checkPod: hardened pod; the token only as a file from a Secret.
func checkPod(t *testing.T, name string, spec *corev1.PodSpec, mode string) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken not false", name)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod not runAsNonRoot", name)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container securityContext not hardened: %+v", name, sc)
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("%s: no memory request and limit", name)
	}
	if len(c.Env) > 0 || len(c.EnvFrom) > 0 {
		t.Errorf("%s: environment %v: the token and settings go in files and flags", name, c.Env)
	}
	args := strings.Join(c.Args, " ")
	want := "--mattermost.token-file="
	if mode == "fleet" {
		want = "--config.file="
	}
	if !strings.Contains(args, want) {
		t.Errorf("%s: args %q lack %s", name, args, want)
	}
	secretVolume := false
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secretVolume = true
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400 {
				t.Errorf("%s: secret volume %s mode %v, want 0400", name, v.Name, v.Secret.DefaultMode)
			}
		}
	}
	if !secretVolume {
		t.Errorf("%s: no Secret volume for the token", name)
	}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("%s: mount %s uses subPath (the kubelet would not update a rotated token)", name, m.Name)
		}
	}
}

// checkNoTokenOutsideSecrets: a token of the values files appears in no other object (not in a
// ConfigMap, not in the pod spec).
func checkNoTokenOutsideSecrets(t *testing.T, o Object) {
	t.Helper()
	if o.Kind == "Secret" {
		return
	}
	b, err := json.Marshal(o.Value)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range ciTokens {
		if bytes.Contains(b, []byte(tok)) {
			t.Errorf("%s %s holds a token", o.Kind, o.Name)
		}
	}
}

func checkFleetConfig(t *testing.T, cfg string, targets int) {
	t.Helper()
	var c struct {
		Targets []map[string]any `json:"targets"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatalf("fleet config: %v", err)
	}
	if len(c.Targets) != targets {
		t.Errorf("fleet config has %d targets, want %d", len(c.Targets), targets)
	}
	for _, tg := range c.Targets {
		if _, ok := tg["token"]; ok {
			t.Errorf("fleet config target %v has a token", tg["name"])
		}
		if want := "/etc/mattermost-exporter/tokens/" + tg["name"].(string) + ".token"; tg["token_file"] != want {
			t.Errorf("fleet config target %v: token_file %v, want %s", tg["name"], tg["token_file"], want)
		}
	}
}

// checkShardRelabel: every target is probed, through one hashmod over fleet.shards when
// sharded.
func checkShardRelabel(t *testing.T, sc *monitoringv1alpha1.ScrapeConfig, shards, targets int) {
	t.Helper()
	n := 0
	for _, s := range sc.Spec.StaticConfigs {
		n += len(s.Targets)
	}
	if n != targets {
		t.Errorf("ScrapeConfig %s: %d static targets, want %d", sc.Name, n, targets)
	}
	hashmod := 0
	for _, r := range sc.Spec.RelabelConfigs {
		if strings.EqualFold(r.Action, "hashmod") {
			hashmod++
			if int(r.Modulus) != shards {
				t.Errorf("ScrapeConfig %s: hashmod modulus %d, want %d", sc.Name, r.Modulus, shards)
			}
		}
	}
	if want := map[bool]int{true: 1, false: 0}[shards > 1]; hashmod != want {
		t.Errorf("ScrapeConfig %s: %d hashmod relabelings, want %d", sc.Name, hashmod, want)
	}
}

// checkShardAddresses: with a StatefulSet, the probe ScrapeConfig sends shard i to pod i of
// that StatefulSet through its headless Service, and the self ScrapeConfig scrapes every pod.
func checkShardAddresses(t *testing.T, objs []Object) {
	t.Helper()
	var sts *appsv1.StatefulSet
	services := map[string]*corev1.Service{}
	scrape := map[string]*monitoringv1alpha1.ScrapeConfig{}
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *appsv1.StatefulSet:
			sts = v
		case *corev1.Service:
			services[v.Name] = v
		case *monitoringv1alpha1.ScrapeConfig:
			scrape[v.Name] = v
		}
	}
	if sts == nil || len(scrape) == 0 {
		return
	}
	headless := services[sts.Spec.ServiceName]
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("StatefulSet %s: serviceName %s is not a headless Service of the chart", sts.Name, sts.Spec.ServiceName)
	}
	port := headless.Spec.Ports[0].Port
	probe := scrape[sts.Name+"-probe"]
	if probe == nil {
		t.Fatalf("no ScrapeConfig %s-probe", sts.Name)
	}
	last := probe.Spec.RelabelConfigs[len(probe.Spec.RelabelConfigs)-1]
	want := fmt.Sprintf("%s-${1}.%s.monitoring.svc:%d", sts.Name, headless.Name, port)
	if last.TargetLabel != "__address__" || last.Replacement == nil || *last.Replacement != want ||
		len(last.SourceLabels) != 1 || last.SourceLabels[0] != "__tmp_shard" {
		t.Errorf("ScrapeConfig %s: last relabeling %+v, want __tmp_shard to __address__ %s", probe.Name, last, want)
	}
	self := scrape[sts.Name+"-self"]
	if self == nil {
		t.Fatalf("no ScrapeConfig %s-self", sts.Name)
	}
	var got []string
	for _, sc := range self.Spec.StaticConfigs {
		for _, tg := range sc.Targets {
			got = append(got, string(tg))
		}
	}
	var pods []string
	for i := range int(*sts.Spec.Replicas) {
		pods = append(pods, fmt.Sprintf("%s-%d.%s.monitoring.svc:%d", sts.Name, i, headless.Name, port))
	}
	if !reflect.DeepEqual(got, pods) {
		t.Errorf("ScrapeConfig %s targets %v, want every pod %v", self.Name, got, pods)
	}
}

func mixinAlerts(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups json.RawMessage `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return rf.Groups
}

// normalizeJSON re-encodes JSON with sorted keys and without empty fields' differences.
func normalizeJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// TestChartRejectsBadValues: the schema and the templates' checks turn away what cannot work,
// with a message naming the value.
func TestChartRejectsBadValues(t *testing.T) {
	fleet := filepath.Join(chartDir, "ci", "fleet-values.yaml")
	single := filepath.Join(chartDir, "ci", "default-values.yaml")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"defaults alone: no URL", nil, "set mattermost.url"},
		{"misspelt key", []string{"-f", single, "--set", "serviceMonitr.enabled=true"}, "serviceMonitr"},
		{"unknown mode", []string{"-f", single, "--set", "mode=multi"}, "mode"},
		{"no token", []string{"--set", "mattermost.url=http://mm:8065"}, "mattermost.existingSecret"},
		{"fleet without targets", []string{"--set", "mode=fleet"}, "fleet.targets"},
		{"duplicate target", []string{"-f", fleet, "--set", "fleet.targets[1].name=prod"}, `name "prod" used twice`},
		{"ServiceMonitor in fleet mode", []string{"-f", fleet, "--set", "serviceMonitor.enabled=true"}, "use scrapeConfig"},
		{"ScrapeConfig in single mode", []string{"-f", single, "--set", "scrapeConfig.enabled=true"}, "use serviceMonitor"},
		{"bad target name", []string{"-f", fleet, "--set", "fleet.targets[0].name=a/b"}, "name"},
		{"zero shards", []string{"-f", fleet, "--set", "fleet.shards=0"}, "shards"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := runHelm(t, append([]string{"template", "mm", chartDir}, c.args...)...)
			if err == nil {
				t.Fatalf("helm template accepted it")
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("error does not mention %q:\n%s", c.want, out)
			}
		})
	}
}

// TestKustomizeManifestsStrict decodes every manifest of deploy/kubernetes strictly.
func TestKustomizeManifestsStrict(t *testing.T) {
	var files []string
	for _, dir := range []string{"deploy/kubernetes", "deploy/kubernetes/fleet"} {
		m, err := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("found only %d manifests: %v", len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := DecodeStrict(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(objs) == 0 {
			t.Errorf("%s: no object", f)
		}
	}
}

// TestDecodeStrictRejects proves the decoder is strict: a misspelt field, a duplicate field and
// an unknown kind fail.
func TestDecodeStrictRejects(t *testing.T) {
	good := "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  type: ClusterIP\n"
	if _, err := DecodeStrict([]byte(good)); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
	for name, doc := range map[string]string{
		"misspelt":      "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  tpye: ClusterIP\n",
		"nested":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          imagePullPolicy: Always\n          readOnlyRootFilesystem: true\n",
		"duplicate":     "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  type: ClusterIP\n  type: NodePort\n",
		"unknown kind":  "apiVersion: v1\nkind: Servce\nmetadata:\n  name: x\n",
		"operator type": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\nspec:\n  endpoints:\n    - port: m\n      scrape_timeout: 10s\n",
	} {
		if _, err := DecodeStrict([]byte(good + "---\n" + doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
