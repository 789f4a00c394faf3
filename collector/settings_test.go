package collector

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The collectors' configs hold the rules of their settings: the
// constructors and TargetOptions.Validate report the same *SettingError.
func TestConfigValidateNamesSetting(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"analytics", AnalyticsConfig{Interval: -time.Second}.Validate(), "--collector.analytics.interval must not be negative, got -1s"},
		{"health", HealthConfig{Interval: -time.Second}.Validate(), "--collector.health.interval must not be negative, got -1s"},
		{"jobs", JobsConfig{Interval: -time.Second}.Validate(), "--collector.jobs.interval must not be negative, got -1s"},
		{"saml", SAMLConfig{IDPMetadataInterval: -time.Second}.Validate(), "--collector.saml.idp-metadata-interval must not be negative, got -1s"},
		{"expected nodes", ClusterConfig{ExpectedNodes: -1, MaxNodes: 1}.Validate(), "--collector.cluster.expected-nodes must be >= 0, got -1"},
		{"max nodes", ClusterConfig{}.Validate(), "--collector.cluster.max-nodes must be >= 1, got 0"},
	}
	for _, tc := range cases {
		var se *SettingError
		if !errors.As(tc.err, &se) || tc.err.Error() != tc.want {
			t.Errorf("%s: err = %v, want *SettingError %q", tc.name, tc.err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"analytics", func() error {
			_, err := NewAnalyticsCollector(Deps{Client: fakeClient(t, "http://127.0.0.1:1", "", nil)}, AnalyticsConfig{Interval: -1})
			return err
		}(), "analytics collector: --collector.analytics.interval must not be negative"},
		{"cluster", func() error {
			_, err := NewClusterCollector(Deps{Client: fakeClient(t, "http://127.0.0.1:1", "", nil)}, ClusterConfig{MaxNodes: -1})
			return err
		}(), "cluster collector: --collector.cluster.max-nodes must be >= 1, got -1"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("New %s: err = %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	o := TargetOptions{Collectors: []string{"cluster"}}
	zero := 0
	o.Cluster.MaxNodes = &zero
	err := o.Validate()
	var se *SettingError
	if !errors.As(err, &se) || se.FromFlag || err.Error() != "collector cluster: --collector.cluster.max-nodes must be >= 1, got 0" {
		t.Errorf("TargetOptions.Validate = %v (%+v), want the config file's max-nodes", err, se)
	}
}
