package e2e

import (
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPrometheusRuleMatchesAlerts fails when the Kubernetes PrometheusRule carries other rule
// groups than deploy/prometheus/alerts.yml (both are rendered from mixin/ by `make mixin`; that
// each is byte for byte the render is checked in tools/kube/mixin). Both are compared as decoded YAML trees, so every
// field of every rule (expr, for, labels, annotations) must be equal.
func TestPrometheusRuleMatchesAlerts(t *testing.T) {
	var alerts map[string]any
	promDecodeYAML(t, promAlertsFile, &alerts)
	var cr map[string]any
	promDecodeYAML(t, promRuleCRFile, &cr)

	if cr["apiVersion"] != "monitoring.coreos.com/v1" || cr["kind"] != "PrometheusRule" {
		t.Fatalf("%s: apiVersion/kind = %v/%v, want monitoring.coreos.com/v1/PrometheusRule", promRuleCRFile, cr["apiVersion"], cr["kind"])
	}
	spec, ok := cr["spec"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no spec", promRuleCRFile)
	}
	if len(spec) != 1 {
		t.Errorf("%s: spec has keys %v, want only groups", promRuleCRFile, reflect.ValueOf(spec).MapKeys())
	}
	if alerts["groups"] == nil {
		t.Fatalf("%s: no groups", promAlertsFile)
	}
	if !reflect.DeepEqual(spec["groups"], alerts["groups"]) {
		a := promTypedGroups(t, alerts["groups"])
		c := promTypedGroups(t, spec["groups"])
		for i := range max(len(a), len(c)) {
			switch {
			case i >= len(a):
				t.Errorf("PrometheusRule has extra rule %s", c[i].Alert)
			case i >= len(c):
				t.Errorf("PrometheusRule lacks rule %s", a[i].Alert)
			case !reflect.DeepEqual(a[i], c[i]):
				t.Errorf("rule %d differs:\nalerts.yml:         %+v\nprometheusrule.yaml: %+v", i, a[i], c[i])
			}
		}
		t.Fatalf("%s drifted from %s: run make mixin", promRuleCRFile, promAlertsFile)
	}
}

func promDecodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

// promTypedGroups re-decodes a generic groups tree into rules, for a readable diff.
func promTypedGroups(t *testing.T, groups any) []promRule {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	var rf promRuleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	var out []promRule
	for _, g := range rf.Groups {
		out = append(out, g.Rules...)
	}
	return out
}
