package collector

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// TargetOptions are the settings of one target: its collectors and their
// settings. The zero value keeps every flag's value.
type TargetOptions struct {
	// Collectors, when not nil, replaces the --collector.<name> flags: the
	// names of the collectors to run (the ping always runs).
	Collectors []string
	Settings
}

// Settings are the collector settings of one target as the config file
// spells them (users: {batch_size: 500}). Each one is a --collector.*
// flag (--collector.users.batch-size), whose value is kept while the
// field is nil.
type Settings struct {
	Analytics struct {
		Interval *model.Duration `yaml:"interval"`
	} `yaml:"analytics"`
	Cluster struct {
		ExpectedNodes *int `yaml:"expected_nodes"`
		MaxNodes      *int `yaml:"max_nodes"`
	} `yaml:"cluster"`
	Health struct {
		Interval *model.Duration `yaml:"interval"`
	} `yaml:"health"`
	Jobs struct {
		Interval *model.Duration `yaml:"interval"`
	} `yaml:"jobs"`
	SAML struct {
		IDPMetadataURL      *string         `yaml:"idp_metadata_url"`
		IDPMetadataInterval *model.Duration `yaml:"idp_metadata_interval"`
		IDPMetadataCAFile   *string         `yaml:"idp_metadata_ca_file"`
	} `yaml:"saml"`
	Users struct {
		IncludeBots     *bool           `yaml:"include_bots"`
		BatchSize       *int            `yaml:"batch_size"`
		Concurrency     *int            `yaml:"concurrency"`
		RefreshInterval *model.Duration `yaml:"refresh_interval"`
		WalkConcurrency *int            `yaml:"walk_concurrency"`
		CacheFile       *string         `yaml:"cache_file"`
		MaxAge          *model.Duration `yaml:"max_age"`
	} `yaml:"users"`
}

// SettingError is an invalid collector setting. Setting names it as its
// flag does without --collector. (users.batch-size); the config file key
// is the same with '_' for '-'. FromFlag says the value came from the flag.
type SettingError struct {
	Setting  string
	Problem  string
	FromFlag bool
}

func (e *SettingError) Error() string { return "--collector." + e.Setting + " " + e.Problem }

// or returns *v, or flag when v is nil.
func or[T any](v *T, flag T) T {
	if v != nil {
		return *v
	}
	return flag
}

// orDuration is or for a duration of the config file.
func orDuration(v *model.Duration, flag time.Duration) time.Duration {
	if v != nil {
		return time.Duration(*v)
	}
	return flag
}

// notNegative is the rule of the interval settings: 0 means every scrape,
// a negative value is a mistake.
func notNegative(setting string, d time.Duration) error {
	if d < 0 {
		return &SettingError{Setting: setting, Problem: fmt.Sprintf("must not be negative, got %s", d)}
	}
	return nil
}

// Validate is the one validator of collector settings, for the flags and
// the config file alike: it checks the value every enabled collector will
// use (the target's, or the flag's) with the rules of the collector's
// config (the ones its constructor applies), and its error names the
// collector and holds a *SettingError.
func (o TargetOptions) Validate() error {
	names := o.Collectors
	if names == nil {
		names = EnabledCollectors()
	}
	for _, name := range names {
		err := o.check(name)
		if err == nil {
			continue
		}
		var se *SettingError
		if errors.As(err, &se) {
			se.FromFlag = !o.given()[se.Setting]
		}
		return fmt.Errorf("collector %s: %w", name, err)
	}
	return nil
}

// check validates the settings of collector name.
func (o TargetOptions) check(name string) error {
	switch name {
	case "analytics":
		return o.analytics().Validate()
	case "health":
		return o.health().Validate()
	case "jobs":
		return o.jobs().Validate()
	case "saml":
		return o.saml().Validate()
	case "cluster":
		return o.cluster().Validate()
	case "users":
		return o.users().Validate()
	}
	return nil
}

// given reports, by setting, whether the target sets it.
func (s *Settings) given() map[string]bool {
	a, c, m, u := &s.Analytics, &s.Cluster, &s.SAML, &s.Users
	return map[string]bool{
		"analytics.interval": a.Interval != nil, "health.interval": s.Health.Interval != nil,
		"jobs.interval": s.Jobs.Interval != nil, "saml.idp-metadata-interval": m.IDPMetadataInterval != nil,
		"cluster.expected-nodes": c.ExpectedNodes != nil, "cluster.max-nodes": c.MaxNodes != nil,
		"users.batch-size": u.BatchSize != nil, "users.concurrency": u.Concurrency != nil,
		"users.refresh-interval": u.RefreshInterval != nil, "users.walk-concurrency": u.WalkConcurrency != nil,
		"users.max-age": u.MaxAge != nil,
	}
}

func (o TargetOptions) cluster() ClusterConfig {
	c := &o.Cluster
	return ClusterConfig{ExpectedNodes: or(c.ExpectedNodes, *clusterExpectedNodes), MaxNodes: or(c.MaxNodes, *clusterMaxNodes)}
}
func (o TargetOptions) analytics() AnalyticsConfig {
	return AnalyticsConfig{Interval: orDuration(o.Analytics.Interval, *analyticsInterval)}
}

func (o TargetOptions) health() HealthConfig {
	return HealthConfig{Interval: orDuration(o.Health.Interval, *healthInterval)}
}

func (o TargetOptions) jobs() JobsConfig {
	return JobsConfig{Interval: orDuration(o.Jobs.Interval, *jobsInterval)}
}

func (o TargetOptions) saml() SAMLConfig {
	s := &o.SAML
	return SAMLConfig{
		IDPMetadataURL:      or(s.IDPMetadataURL, *samlIDPMetadataURL),
		IDPMetadataInterval: orDuration(s.IDPMetadataInterval, *samlIDPMetadataInterval),
		IDPMetadataCAFile:   or(s.IDPMetadataCAFile, *samlIDPMetadataCAFile),
	}
}

func (o TargetOptions) users() UsersConfig {
	u := &o.Users
	cfg := DefaultUsersConfig()
	cfg.IncludeBots = or(u.IncludeBots, *usersIncludeBots)
	cfg.BatchSize = or(u.BatchSize, *usersBatchSize)
	cfg.Concurrency = or(u.Concurrency, *usersConcurrency)
	cfg.RefreshInterval = orDuration(u.RefreshInterval, *usersRefreshInterval)
	cfg.MaxAge = orDuration(u.MaxAge, *usersMaxAge)
	cfg.WalkConcurrency = or(u.WalkConcurrency, *usersWalkConcurrency)
	cfg.CacheFile = or(u.CacheFile, *usersCacheFile)
	return cfg
}
