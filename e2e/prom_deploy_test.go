package e2e

// Static checks of the deployment files. No Docker engine or Kubernetes cluster is needed (nor
// available in CI): the files are parsed and checked for the properties the project promises,
// and validated by promtool, amtool and systemd-analyze where those are installed.

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDeployYAMLParses parses every YAML document under deploy/ and dashboards/.
func TestDeployYAMLParses(t *testing.T) {
	n := 0
	for _, root := range []string{promRepoPath("deploy"), promRepoPath("dashboards")} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// A Helm chart's templates are Go templates, not YAML: `make kube` checks them with
			// helm lint and helm template (tools/kube/chart).
			if d.IsDir() && d.Name() == "templates" {
				if _, err := os.Stat(filepath.Join(filepath.Dir(path), "Chart.yaml")); err == nil {
					return filepath.SkipDir
				}
			}
			if d.IsDir() || !strings.HasSuffix(path, ".yml") && !strings.HasSuffix(path, ".yaml") {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			dec := yaml.NewDecoder(f)
			docs := 0
			for {
				var v any
				err := dec.Decode(&v)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Errorf("%s: document %d: %v", path, docs+1, err)
					break
				}
				docs++
			}
			if docs == 0 {
				t.Errorf("%s: no YAML document", path)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 10 {
		t.Errorf("parsed only %d YAML files under deploy/ and dashboards/", n)
	}
}

// k8sContainer is the part of a container spec the tests check.
type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// TestDeployKubernetes checks the Deployment's hardening, probes, port and token mount, and
// that Service, ServiceMonitor and kustomization fit together.
func TestDeployKubernetes(t *testing.T) {
	dir := promRepoPath("deploy", "kubernetes")
	var dep struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Spec struct {
					AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
					SecurityContext              struct {
						RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
						RunAsUser      int   `yaml:"runAsUser"`
						SeccompProfile struct {
							Type string `yaml:"type"`
						} `yaml:"seccompProfile"`
					} `yaml:"securityContext"`
					Containers []k8sContainer `yaml:"containers"`
					Volumes    []struct {
						Name   string `yaml:"name"`
						Secret struct {
							SecretName  string `yaml:"secretName"`
							DefaultMode *int   `yaml:"defaultMode"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	promDecodeYAML(t, filepath.Join(dir, "deployment.yaml"), &dep)
	pod := dep.Spec.Template.Spec
	if dep.Kind != "Deployment" || len(pod.Containers) != 1 {
		t.Fatalf("deployment.yaml: kind %q with %d containers, want one Deployment container", dep.Kind, len(pod.Containers))
	}
	c := pod.Containers[0]
	isTrue := func(b *bool) bool { return b != nil && *b }
	isFalse := func(b *bool) bool { return b != nil && !*b }
	// 65534 (nobody) is the image's USER (Dockerfile, tools/release).
	if !isTrue(pod.SecurityContext.RunAsNonRoot) || pod.SecurityContext.RunAsUser != 65534 {
		t.Errorf("pod must run as non-root with runAsUser 65534: %+v", pod.SecurityContext)
	}
	if u := c.SecurityContext.RunAsUser; u != nil && *u != 65534 {
		t.Errorf("container runAsUser = %d, want 65534 (or unset, inheriting the pod's)", *u)
	}
	if pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" || c.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("seccompProfile must be RuntimeDefault (pod %q, container %q)", pod.SecurityContext.SeccompProfile.Type, c.SecurityContext.SeccompProfile.Type)
	}
	if !isFalse(pod.AutomountServiceAccountToken) {
		t.Errorf("automountServiceAccountToken must be false (the exporter never talks to the Kubernetes API)")
	}
	sc := c.SecurityContext
	if !isFalse(sc.AllowPrivilegeEscalation) || !isTrue(sc.ReadOnlyRootFilesystem) || !isTrue(sc.RunAsNonRoot) {
		t.Errorf("container securityContext must set allowPrivilegeEscalation false, readOnlyRootFilesystem true, runAsNonRoot true: %+v", sc)
	}
	if len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container must drop ALL capabilities, drops %v", sc.Capabilities.Drop)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http-metrics" || c.Ports[0].ContainerPort != 10065 {
		t.Errorf("container port must be 10065 named http-metrics: %+v", c.Ports)
	}
	for name, p := range map[string]*k8sProbe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet.Path != "/" || p.HTTPGet.Port != "http-metrics" {
			t.Errorf("%s probe must GET / on http-metrics (the landing page; /metrics would scrape Mattermost): %+v", name, p)
		}
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources must set cpu/memory requests and a memory limit: %+v", c.Resources)
	}
	const tokenPath = "/etc/mattermost-exporter/token"
	if !promContains(c.Args, "--mattermost.token-file="+tokenPath) {
		t.Errorf("args %v lack --mattermost.token-file=%s", c.Args, tokenPath)
	}
	for _, a := range c.Args {
		if strings.Contains(strings.ToLower(a), "token=") && !strings.HasPrefix(a, "--mattermost.token-file=") {
			t.Errorf("arg %q looks like a token on the command line", a)
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.MountPath == filepath.Dir(tokenPath) && m.ReadOnly {
			for _, v := range pod.Volumes {
				if v.Name == m.Name && v.Secret.SecretName == "mattermost-exporter-token" {
					mounted = true
					switch m := v.Secret.DefaultMode; {
					case m == nil:
						t.Errorf("token Secret volume sets no defaultMode (Kubernetes' default is 0644), want 0400")
					case *m != 0o400:
						t.Errorf("token Secret volume defaultMode = %#o, want 0400 (owner read only)", *m)
					}
				}
			}
		}
	}
	if !mounted {
		t.Errorf("the Secret mattermost-exporter-token is not mounted read-only at %s", filepath.Dir(tokenPath))
	}

	var svc struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort string `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	promDecodeYAML(t, filepath.Join(dir, "service.yaml"), &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http-metrics" || svc.Spec.Ports[0].TargetPort != "http-metrics" {
		t.Errorf("service must expose the http-metrics port: %+v", svc.Spec.Ports)
	}
	if svc.Spec.Selector["app.kubernetes.io/name"] != "mattermost-exporter" {
		t.Errorf("service selector %v does not select the Deployment's pods", svc.Spec.Selector)
	}

	var sm struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port        string `yaml:"port"`
				Relabelings []struct {
					Action string `yaml:"action"`
					Regex  string `yaml:"regex"`
				} `yaml:"relabelings"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	promDecodeYAML(t, filepath.Join(dir, "servicemonitor.yaml"), &sm)
	if sm.Kind != "ServiceMonitor" || len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http-metrics" {
		t.Fatalf("servicemonitor must scrape the http-metrics port: %+v", sm)
	}
	// The Operator's `endpoint` target label would push the exporter's own `endpoint` label
	// (mattermost_exporter_api_requests_total) aside to exported_endpoint.
	dropsEndpoint := false
	for _, r := range sm.Spec.Endpoints[0].Relabelings {
		if strings.EqualFold(r.Action, "labeldrop") && r.Regex == "endpoint" {
			dropsEndpoint = true
		}
	}
	if !dropsEndpoint {
		t.Errorf("servicemonitor must drop the Operator's `endpoint` target label (it collides with the exporter's endpoint label)")
	}
	if sm.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "mattermost-exporter" {
		t.Errorf("servicemonitor selector %v does not select the Service", sm.Spec.Selector.MatchLabels)
	}
	// The Operator names the job after the Service; MattermostExporterDown needs "mattermost" in it.
	if !strings.Contains(sm.Metadata.Name, "mattermost") {
		t.Errorf("service name %q lacks \"mattermost\": MattermostExporterDown would not see the job", sm.Metadata.Name)
	}

	var kust struct {
		Resources       []string `yaml:"resources"`
		SecretGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"secretGenerator"`
		Images []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	promDecodeYAML(t, filepath.Join(dir, "kustomization.yaml"), &kust)
	for _, want := range []string{"deployment.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml"} {
		if !promContains(kust.Resources, want) {
			t.Errorf("kustomization.yaml does not list %s", want)
		}
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("kustomization.yaml resource %s: %v", r, err)
		}
	}
	if len(kust.SecretGenerator) != 1 || kust.SecretGenerator[0].Name != "mattermost-exporter-token" {
		t.Errorf("kustomization.yaml must generate the Secret mattermost-exporter-token: %+v", kust.SecretGenerator)
	}
	// Pinned image tags: the release in VERSION, never a moving tag.
	vb, err := os.ReadFile(promRepoPath("VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(vb))
	if len(kust.Images) != 1 || kust.Images[0].NewTag != version {
		t.Errorf("kustomization.yaml images = %+v, want one image with newTag %q (VERSION)", kust.Images, version)
	} else if !strings.HasPrefix(c.Image, kust.Images[0].Name+":") {
		t.Errorf("kustomization.yaml image %q does not rewrite the Deployment's image %q", kust.Images[0].Name, c.Image)
	}
	if !strings.HasSuffix(c.Image, ":"+version) {
		t.Errorf("deployment image %q is not pinned to %q (VERSION)", c.Image, version)
	}

	promKustomizeBuild(t, dir)
}

// promKustomizeBuild renders the kustomization with kubectl, when installed, on a copy holding a
// dummy token file, and checks that the Deployment mounts the generated (hash-suffixed) Secret.
func promKustomizeBuild(t *testing.T, dir string) {
	t.Helper()
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
		if e.IsDir() || e.Name() == "token" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		promWriteFile(t, filepath.Join(tmp, e.Name()), string(b))
	}
	promWriteFile(t, filepath.Join(tmp, "token"), "dummy-token")
	out, err := exec.Command(kubectl, "kustomize", tmp).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	kinds := map[string]string{} // kind -> name
	var secretName, mountedSecret string
	dec := yaml.NewDecoder(strings.NewReader(string(out)))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
			Spec struct {
				Template struct {
					Spec struct {
						Volumes []struct {
							Secret struct {
								SecretName string `yaml:"secretName"`
							} `yaml:"secret"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("kubectl kustomize output: %v", err)
		}
		kinds[doc.Kind] = doc.Metadata.Name
		if doc.Metadata.Namespace != "monitoring" {
			t.Errorf("%s %s: namespace %q, want monitoring", doc.Kind, doc.Metadata.Name, doc.Metadata.Namespace)
		}
		switch doc.Kind {
		case "Secret":
			secretName = doc.Metadata.Name
		case "Deployment":
			for _, v := range doc.Spec.Template.Spec.Volumes {
				if v.Secret.SecretName != "" {
					mountedSecret = v.Secret.SecretName
				}
			}
		}
	}
	for _, k := range []string{"Deployment", "Service", "Secret", "ServiceMonitor", "PrometheusRule"} {
		if kinds[k] == "" {
			t.Errorf("kubectl kustomize rendered no %s", k)
		}
	}
	if !strings.HasPrefix(secretName, "mattermost-exporter-token-") || mountedSecret != secretName {
		t.Errorf("the Deployment mounts Secret %q, the kustomization generates %q", mountedSecret, secretName)
	}
}

// TestDeployDockerCompose checks the compose stack: services, pinned images, that every bind
// mount and the build context exist, and validates the Prometheus and Alertmanager configs.
func TestDeployDockerCompose(t *testing.T) {
	dir := promRepoPath("deploy", "docker-compose")
	var compose struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Command []string `yaml:"command"`
			Volumes []string `yaml:"volumes"`
			Secrets []string `yaml:"secrets"`
		} `yaml:"services"`
		Secrets map[string]struct {
			File string `yaml:"file"`
		} `yaml:"secrets"`
	}
	promDecodeYAML(t, filepath.Join(dir, "docker-compose.yml"), &compose)
	for _, s := range []string{"postgres", "mattermost", "mattermost-exporter", "prometheus", "alertmanager", "grafana"} {
		if _, ok := compose.Services[s]; !ok {
			t.Errorf("compose has no %s service", s)
		}
	}
	for name, s := range compose.Services {
		if s.Build != nil {
			continue
		}
		if !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") {
			t.Errorf("service %s: image %q is not pinned to a tag", name, s.Image)
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
				t.Errorf("service %s: bind mount source %s: %v", name, src, err)
			}
		}
	}
	if img := compose.Services["mattermost"].Image; !strings.HasPrefix(img, "mattermost/mattermost-team-edition:") {
		t.Errorf("mattermost image %q is not the official mattermost/mattermost-team-edition", img)
	}
	ex := compose.Services["mattermost-exporter"]
	if ex.Build == nil {
		t.Fatal("mattermost-exporter service is not built from the repository")
	}
	if _, err := os.Stat(filepath.Join(dir, ex.Build.Context, ex.Build.Dockerfile)); err != nil {
		t.Errorf("exporter build: %v", err)
	}
	if !promContains(ex.Command, "--mattermost.token-file=/run/secrets/mattermost_token") || !promContains(ex.Secrets, "mattermost_token") {
		t.Errorf("exporter must read the token from the mattermost_token secret file: command %v secrets %v", ex.Command, ex.Secrets)
	}
	if compose.Secrets["mattermost_token"].File == "" {
		t.Errorf("secret mattermost_token has no file")
	}
	alertsMounted := false
	for _, v := range compose.Services["prometheus"].Volumes {
		if strings.HasPrefix(v, "../prometheus/alerts.yml:") {
			alertsMounted = true
		}
	}
	if !alertsMounted {
		t.Errorf("prometheus does not mount ../prometheus/alerts.yml")
	}
	var grafanaDash bool
	for _, v := range compose.Services["grafana"].Volumes {
		if strings.HasPrefix(v, "../../dashboards/mattermost.json:/var/lib/grafana/dashboards/mattermost/") {
			grafanaDash = true
		}
	}
	if !grafanaDash {
		t.Errorf("grafana does not mount the dashboard where dashboards/provisioning/dashboards.yml looks")
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	promFile := filepath.Join(dir, "prometheus.yml")
	promDecodeYAML(t, promFile, &prom)
	found := false
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if promContains(st.Targets, "mattermost-exporter:10065") {
				found = true
				if !strings.Contains(sc.JobName, "mattermost") {
					t.Errorf("job %q scraping the exporter lacks \"mattermost\": MattermostExporterDown would not see it", sc.JobName)
				}
			}
		}
	}
	if !found {
		t.Errorf("prometheus.yml does not scrape mattermost-exporter:10065")
	}

	if promtool := promOptionalTool(t, "promtool", "compose prometheus.yml only parsed"); promtool != "" {
		// promtool resolves rule_files: point them at the shipped rules.
		b, err := os.ReadFile(promFile)
		if err != nil {
			t.Fatal(err)
		}
		abs, err := filepath.Abs(promAlertsFile)
		if err != nil {
			t.Fatal(err)
		}
		cp := filepath.Join(t.TempDir(), "prometheus.yml")
		promWriteFile(t, cp, strings.ReplaceAll(string(b), "/etc/prometheus/rules/*.yml", abs))
		if out, err := exec.Command(promtool, "check", "config", cp).CombinedOutput(); err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	}
	if amtool := promOptionalTool(t, "amtool", "compose alertmanager.yml only parsed"); amtool != "" {
		if out, err := exec.Command(amtool, "check-config", filepath.Join(dir, "alertmanager.yml")).CombinedOutput(); err != nil {
			t.Errorf("amtool check-config: %v\n%s", err, out)
		}
	}
}

// TestDeploySystemd checks the unit's hardening and token handling, and runs
// systemd-analyze verify on it when available.
func TestDeploySystemd(t *testing.T) {
	unitPath := promRepoPath("deploy", "systemd", "mattermost_exporter.service")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	directives := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(string(unit), "\\\n", " ")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("unit line without '=': %q", line)
			continue
		}
		directives[k] = append(directives[k], v)
	}
	want := map[string]string{
		"DynamicUser":             "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"NoNewPrivileges":         "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"LoadCredential":          "token:/etc/mattermost_exporter/token",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictNamespaces":      "yes",
		"SystemCallArchitectures": "native",
	}
	for k, v := range want {
		if got, ok := directives[k]; !ok || got[0] != v {
			t.Errorf("%s=%v, want %s=%s", k, got, k, v)
		}
	}
	if !promContains(directives["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%v lacks @system-service", directives["SystemCallFilter"])
	}
	exec0 := strings.Join(directives["ExecStart"], " ")
	if !strings.Contains(exec0, "--mattermost.token-file=${CREDENTIALS_DIRECTORY}/token") {
		t.Errorf("ExecStart does not read the token from the credential: %s", exec0)
	}
	for k, vs := range directives {
		for _, v := range vs {
			if strings.Contains(strings.ToUpper(k+v), "MATTERMOST_TOKEN") {
				t.Errorf("the unit passes a token through the environment (%s=%s); use LoadCredential", k, v)
			}
		}
	}

	sa := promOptionalTool(t, "systemd-analyze", "unit only parsed")
	if sa == "" {
		return
	}
	// verify insists that the binary exists: check a copy whose ExecStart names an existing one.
	fields := strings.Fields(exec0)
	cp := filepath.Join(t.TempDir(), "mattermost_exporter.service")
	promWriteFile(t, cp, strings.Replace(string(unit), fields[0], "/bin/true", 1))
	if out, err := exec.Command(sa, "verify", cp).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDockerfile checks the image recipe: multi-stage, static build with the version ldflags of
// scripts/buildinfo.sh, an empty base with CA certificates, non-root user 65534, port 10065.
// tools/release's TestDockerfileMatchesImage compares it with the image `make release` builds.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(promRepoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, re := range []string{
		`(?m)^FROM golang:1\.26\S* AS build$`,
		`(?m)^FROM scratch$`,
		`CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "\$\(sh scripts/buildinfo\.sh ldflags\)"`,
		`(?m)^ARG SOURCE_DATE_EPOCH$`,
		`(?m)^COPY --from=build /out/mattermost_exporter /bin/mattermost_exporter$`,
		`(?m)^COPY --from=build /out/ca-certificates\.crt /etc/ssl/certs/ca-certificates\.crt$`,
		`(?m)^USER 65534:65534$`,
		`(?m)^EXPOSE 10065$`,
		`(?m)^ENTRYPOINT \["/bin/mattermost_exporter"\]$`,
	} {
		if !regexp.MustCompile(re).MatchString(df) {
			t.Errorf("Dockerfile does not match %s", re)
		}
	}
	di, err := os.ReadFile(promRepoPath(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".build", "**/token", "**/*.test"} {
		if !promContains(strings.Split(string(di), "\n"), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

func promContains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
