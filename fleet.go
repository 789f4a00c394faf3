package main

// Multi-target mode (--config.file): /probe?target=<name> scrapes one of
// the deployments named in the config file; /metrics holds the exporter's
// own metrics. The fleet itself lives in package probe, which runs the
// single-target mode too (a fleet of one).

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/mmexporter/mattermost_exporter/probe"
)

var (
	configFile = kingpin.Flag("config.file",
		"YAML file naming the Mattermost deployments served on /probe?target=<name> (multi-target mode; excludes --mattermost.url and --mattermost.token-file). Re-read on SIGHUP and POST /-/reload.").
		String()
	configCheck = kingpin.Flag("config.check",
		"Check --config.file and its token files, then exit (0 when valid).").
		Bool()
	enableLifecycle = kingpin.Flag("web.enable-lifecycle",
		"Enable POST /-/reload, which re-reads --config.file and its token files.").
		Bool()
	probeEagerStart = kingpin.Flag("probe.eager-start",
		"Start every target's collectors and background work when the config is loaded instead of at its first probe.").
		Bool()
	probeIdleTimeout = kingpin.Flag("probe.idle-timeout",
		"Stop the background work of a target (and free its caches) when it has not been probed for this long; its next probe starts it again.").
		Default(probe.DefaultIdleTimeout.String()).Duration()
	probeKeepConnections = kingpin.Flag("probe.keep-connections",
		"Keep a target's connections to Mattermost open between its probes (faster probes, no reconnect, about twice the memory per started target). By default they close 1 s after their last request.").
		Bool()
	probeMaxBackground = kingpin.Flag("probe.max-background-requests",
		"Most background requests (users id-cache walks and status sweeps) in flight at once across all targets.").
		Default("8").Int()
)

// singleTargetFlagsSet returns the single-target flags (or their
// environment variables) that are set.
func singleTargetFlagsSet() []string {
	var set []string
	names := []string{"--mattermost.url (or MATTERMOST_URL)", "--mattermost.token-file", "--mattermost.tls.ca-file", "--mattermost.tls.insecure-skip-verify"}
	for i, isSet := range []bool{*mattermostURL != "", *tokenFile != "", *caFile != "", *insecureSkipVerify} {
		if isSet {
			set = append(set, names[i])
		}
	}
	return set
}

// fleetOptions checks the multi-target flags; false after --config.check.
func fleetOptions() (probe.Options, bool) {
	if set := singleTargetFlagsSet(); len(set) > 0 {
		kingpin.Fatalf("--config.file and %s are both given: pick one. Use --mattermost.url and --mattermost.token-file for one deployment, or --config.file (each target with its url, token_file and tls) for one or more", strings.Join(set, ", "))
	}
	if *configCheck {
		if _, err := probe.LoadFile(*configFile); err != nil {
			kingpin.Fatalf("%s", err)
		}
		fmt.Println("config file " + *configFile + " is valid")
		return probe.Options{}, false
	}
	if *probeMaxBackground < 1 {
		kingpin.Fatalf("--probe.max-background-requests must be at least 1")
	}
	if *probeIdleTimeout <= 0 {
		kingpin.Fatalf("--probe.idle-timeout must be positive")
	}
	validateWebFlags()
	if *telemetryPath == "/probe" || *telemetryPath == "/-/reload" {
		kingpin.Fatalf("--web.telemetry-path %s is taken by the multi-target mode; use another path, e.g. /metrics", *telemetryPath)
	}
	return probe.Options{
		ConfigFile:            *configFile,
		EagerStart:            *probeEagerStart,
		IdleTimeout:           *probeIdleTimeout,
		MaxBackgroundRequests: *probeMaxBackground,
		KeepConnections:       *probeKeepConnections,
	}, true
}
