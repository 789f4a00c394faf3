package main

// Multi-target mode (--config.file): /probe?target=<name> scrapes one of
// the deployments named in the config file; /metrics holds the exporter's
// own metrics. The fleet itself lives in package probe, which runs the
// single-target mode too (a fleet of one).

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

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
	probeMaxBackground = kingpin.Flag("probe.max-background-requests",
		"Most background requests (users id-cache walks and status sweeps) in flight at once across all targets.").
		Default("8").Int()
)

// singleTargetFlagsSet returns the single-target flags (or their
// environment variables) that are set.
func singleTargetFlagsSet() []string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"--mattermost.url (or MATTERMOST_URL)", *mattermostURL != ""},
		{"--mattermost.token-file", *tokenFile != ""},
		{"--mattermost.tls.ca-file", *caFile != ""},
		{"--mattermost.tls.insecure-skip-verify", *insecureSkipVerify},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return set
}

// newFleet is the start of the multi-target mode; nil after
// --config.check.
func newFleet() (log.Logger, *slog.Logger, *probe.Fleet) {
	if set := singleTargetFlagsSet(); len(set) > 0 {
		kingpin.Fatalf("--config.file and %s are both given: pick one. Use --mattermost.url and --mattermost.token-file for one deployment, or --config.file (each target with its url, token_file and tls) for one or more", strings.Join(set, ", "))
	}
	if *configCheck {
		if _, err := probe.LoadFile(*configFile, nil); err != nil {
			kingpin.Fatalf("%s", err)
		}
		fmt.Println("config file " + *configFile + " is valid")
		return nil, nil, nil
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
	logger, slogger := newLoggers(os.Stderr, *logLevel, *logFormat)
	fleet, err := probe.New(probe.Options{
		ConfigFile:            *configFile,
		Logger:                logger,
		EagerStart:            *probeEagerStart,
		IdleTimeout:           *probeIdleTimeout,
		MaxBackgroundRequests: *probeMaxBackground,
	})
	if err != nil {
		kingpin.Fatalf("%s", err)
	}
	level.Info(logger).Log("msg", "starting "+programName+" (multi-target)", "version", version.Info(), "targets", strings.Join(fleet.Names(), ","))
	level.Info(logger).Log("msg", "build context", "build_context", version.BuildContext())
	return logger, slogger, fleet
}

// reloadHandler serves POST /-/reload when --web.enable-lifecycle is set.
func reloadHandler(fleet *probe.Fleet, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !*enableLifecycle {
			http.Error(w, "Lifecycle API is not enabled (start with --web.enable-lifecycle).", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "Use POST to reload the config.", http.StatusMethodNotAllowed)
			return
		}
		level.Info(logger).Log("msg", "reload requested over HTTP")
		if err := fleet.Reload("/-/reload"); err != nil {
			http.Error(w, "config not reloaded; the previous one stays in use: "+oneLine(err.Error()), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "config reloaded\n")
	})
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
