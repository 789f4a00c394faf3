package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestChartFleetConfigLoads: the fleet config the chart renders is one the exporter accepts
// (mattermost_exporter --config.check, with the container's flags: a flag the binary does not
// know fails), with the token files of the chart's Secret (or, for an existing Secret, one per
// target) at the paths the config names.
func TestChartFleetConfigLoads(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mattermost_exporter")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the exporter: %v\n%s", err, out)
	}
	for _, name := range []string{"fleet-values.yaml", "sharded-values.yaml"} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, filepath.Join(chartDir, "ci", name))
			dir := t.TempDir()
			var cfg string
			var args []string
			tokens := map[string][]byte{}
			for _, o := range objs {
				if spec := podSpec(o); spec != nil {
					args = spec.Containers[0].Args
				}
				switch v := o.Value.(type) {
				case *corev1.ConfigMap:
					if c, ok := v.Data["mattermost_exporter.yml"]; ok {
						cfg = c
					}
				case *corev1.Secret:
					for k, tok := range v.Data {
						tokens[k] = tok
					}
				}
			}
			if cfg == "" {
				t.Fatal("no fleet config rendered")
			}
			// The mount points of the pod, moved into the temporary directory.
			cfg = strings.ReplaceAll(cfg, "/etc/mattermost-exporter/tokens/", dir+"/tokens/")
			cfg = strings.ReplaceAll(cfg, "/var/lib/mattermost-exporter/", dir+"/cache/")
			for _, sub := range []string{"tokens", "cache"} {
				if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			n := strings.Count(cfg, dir+"/tokens/")
			if len(tokens) == 0 { // an existing Secret: one token file per target
				for _, line := range strings.Split(cfg, "\n") {
					if _, f, ok := strings.Cut(line, "token_file: "+dir+"/tokens/"); ok {
						tokens[f] = []byte("a-token")
					}
				}
			}
			for k, tok := range tokens {
				if err := os.WriteFile(filepath.Join(dir, "tokens", k), tok, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := filepath.Join(dir, "mattermost_exporter.yml")
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			flags := []string{"--config.check"}
			for _, a := range args {
				if !strings.HasPrefix(a, "--config.file=") {
					flags = append(flags, a)
				}
			}
			if len(flags) != len(args) {
				t.Fatalf("container args %q: want one --config.file", args)
			}
			flags = append(flags, "--config.file="+cfgPath)
			out, err := exec.Command(bin, flags...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "is valid") {
				t.Fatalf("mattermost_exporter %s: %v\n%s\nconfig:\n%s", strings.Join(flags, " "), err, out, cfg)
			}
			if n < 2 {
				t.Fatalf("config names %d token files, want one per target", n)
			}
		})
	}
}
