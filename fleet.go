package main

// Multi-target mode (--config.file): /probe?target=<name> scrapes one of
// the deployments named in the config file; /metrics holds the exporter's
// own metrics. The fleet itself lives in package probe.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

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

// mainFleet is main for --config.file.
func mainFleet(hup <-chan os.Signal) {
	if set := singleTargetFlagsSet(); len(set) > 0 {
		kingpin.Fatalf("--config.file and %s are both given: pick one. Use --mattermost.url and --mattermost.token-file for one deployment, or --config.file (each target with its url, token_file and tls) for one or more", strings.Join(set, ", "))
	}
	if *configCheck {
		if _, err := probe.LoadFile(*configFile, readTokenFileAs); err != nil {
			kingpin.Fatalf("%s", err)
		}
		fmt.Println("config file " + *configFile + " is valid")
		return
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
		ReadToken:             readTokenFileAs,
		Logger:                logger,
		EagerStart:            *probeEagerStart,
		IdleTimeout:           *probeIdleTimeout,
		MaxBackgroundRequests: *probeMaxBackground,
		PlainTextToken:        func(u string) bool { return !tokenSentSafely(u) },
	})
	if err != nil {
		kingpin.Fatalf("%s", err)
	}
	defer fleet.Close()
	level.Info(logger).Log("msg", "starting "+programName+" (multi-target)", "version", version.Info(), "targets", strings.Join(fleet.Names(), ","))
	level.Info(logger).Log("msg", "build context", "build_context", version.BuildContext())
	if err := runFleet(logger, slogger, fleet, hup); err != nil {
		level.Error(logger).Log("msg", "exporter stopped", "err", err)
		fleet.Close()
		os.Exit(1)
	}
}

// runFleet serves /probe, /metrics and (with --web.enable-lifecycle)
// /-/reload until SIGTERM/SIGINT. SIGHUP reloads the config.
func runFleet(logger log.Logger, slogger *slog.Logger, fleet *probe.Fleet, hup <-chan os.Signal) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		for {
			select {
			case <-hup:
				level.Info(logger).Log("msg", "SIGHUP received: reloading the config file")
				_ = fleet.Reload() // logged by Reload
			case <-ctx.Done():
				return
			}
		}
	}()
	persistent := prometheus.NewRegistry()
	persistent.MustRegister(fleet.Collector(), versioncollector.NewCollector(programName))
	mux := http.NewServeMux()
	mux.Handle(*telemetryPath, newMetricsHandler(metricsHandlerConfig{
		persistent:  persistent,
		self:        newSelfRegistry(),
		maxRequests: *maxRequests,
		logger:      logger,
	}))
	mux.Handle("/probe", fleet.Handler(probe.HandlerOpts{
		Timeout: func(r *http.Request) time.Duration {
			return scrapeTimeout(r.Header.Get(scrapeTimeoutHeader), *mattermostTimeout, *timeoutOffset)
		},
		MaxRequests: *maxRequests,
		Logger:      logger,
		Extra:       []prometheus.Collector{versioncollector.NewCollector(programName)},
	}))
	mux.Handle("/-/reload", reloadHandler(fleet, logger))
	links := []web.LandingLinks{}
	if names := fleet.Names(); len(names) > 0 {
		links = append(links, web.LandingLinks{Address: "/probe?target=" + names[0], Text: "Probe " + names[0]})
	}
	if err := addLandingPage(mux, "Prometheus exporter for Mattermost, multi-target: /probe?target=<name of a target of the config file>", links...); err != nil {
		return err
	}
	return serve(ctx, stop, logger, slogger, mux)
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
		if err := fleet.Reload(); err != nil {
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
