package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// podResources renders the chart with values and returns the exporter container's resources.
func podResources(t *testing.T, values string) corev1.ResourceRequirements {
	t.Helper()
	for _, o := range render(t, values) {
		if spec := podSpec(o); spec != nil {
			return spec.Containers[0].Resources
		}
	}
	t.Fatalf("%s: no Deployment or StatefulSet", values)
	return corev1.ResourceRequirements{}
}

// TestChartResourcesFollowTheMeasurement: left empty, resources come from docs/fleet-memory.md:
// 64Mi requested and 128Mi limit for one target; in fleet mode 154Ki and 205Ki more per target a
// replica serves (328Ki and 359Ki keeping connections), a quarter over its share with shards.
// Set, they are the user's.
func TestChartResourcesFollowTheMeasurement(t *testing.T) {
	dir := t.TempDir()
	fleet := func(name string, targets, shards int, keep bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, "mode: fleet\nfleet:\n  shards: %d\n  keepConnections: %v\n  existingSecret: tokens\n  targets:\n", shards, keep)
		for i := 0; i < targets; i++ {
			fmt.Fprintf(&b, "    - name: t%04d\n      url: https://chat%d.example.com\n", i, i)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	override := filepath.Join(dir, "override.yaml")
	if err := os.WriteFile(override, []byte("mattermost: {url: https://chat.example.com, existingSecret: token}\n"+
		"resources:\n  requests: {memory: 1Gi}\n  limits: {memory: 2Gi}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ki = 1024
	for _, c := range []struct {
		name     string
		values   string
		req, lim int64
	}{
		{"single target", filepath.Join(chartDir, "ci", "default-values.yaml"), 64 << 20, 128 << 20},
		{"1,000 targets", fleet("fleet1000.yaml", 1000, 1, false), (65536 + 1000*154) * ki, (131072 + 1000*205) * ki},
		{"1,000 targets keeping connections", fleet("keep1000.yaml", 1000, 1, true), (65536 + 1000*328) * ki, (131072 + 1000*359) * ki},
		{"1,000 targets over 4 shards", fleet("shards.yaml", 1000, 4, false), (65536 + 313*154) * ki, (131072 + 313*205) * ki},
		{"set by the user", override, 1 << 30, 2 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := podResources(t, c.values)
			if got := r.Requests.Memory().Value(); got != c.req {
				t.Errorf("memory request %d bytes (%s), want %d", got, r.Requests.Memory(), c.req)
			}
			if got := r.Limits.Memory().Value(); got != c.lim {
				t.Errorf("memory limit %d bytes (%s), want %d", got, r.Limits.Memory(), c.lim)
			}
		})
	}
}
