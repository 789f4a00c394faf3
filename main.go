// Command mattermost_exporter exposes Mattermost metrics to Prometheus: API
// health, cluster nodes, SAML certificates, the deep health check, license,
// jobs, plugins, system console analytics and user statuses, one collector
// each (package collector). One code path serves both modes (package
// probe): the --mattermost.* flags make a fleet of one target served on
// /metrics, --config.file names many served on /probe (fleet.go).
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/mmexporter/mattermost_exporter/collector"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/probe"
)

const (
	programName = "mattermost_exporter"
	// tokenFileFlag names the token file flag in errors.
	tokenFileFlag = "--mattermost.token-file"
	// tokenEnv names the environment variable holding the API token when
	// --mattermost.token-file is not given.
	tokenEnv = "MATTERMOST_TOKEN"
	// scrapeTimeoutHeader is sent by Prometheus with every scrape.
	scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"
	// minShutdownGrace is the least time given to scrapes in flight at
	// SIGTERM to finish.
	minShutdownGrace = 5 * time.Second
	// maxScrapeTimeout caps the deadline taken from the scrape-timeout
	// header, so that the web server's WriteTimeout can outlast every
	// scrape. Prometheus scrape timeouts are seconds to a minute or two.
	maxScrapeTimeout = 2 * time.Minute
)

var (
	mattermostURL = kingpin.Flag("mattermost.url",
		"Mattermost server root URL, e.g. https://chat.example.com (the exporter appends /api/v4).").
		Envar("MATTERMOST_URL").String()
	tokenFile = kingpin.Flag("mattermost.token-file",
		"File holding the Mattermost API token (bot or personal access token). Without it, the token is read from the MATTERMOST_TOKEN environment variable.").
		String()
	mattermostTimeout = kingpin.Flag("mattermost.timeout",
		"Deadline of a scrape's Mattermost API calls when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").
		Default("10s").Duration()
	caFile = kingpin.Flag("mattermost.tls.ca-file",
		"PEM file of CA certificates used to verify the Mattermost server, in addition to the system pool.").
		String()
	insecureSkipVerify = kingpin.Flag("mattermost.tls.insecure-skip-verify",
		"Do not verify the Mattermost server's TLS certificate (unsafe; logs a warning).").
		Bool()
	telemetryPath = kingpin.Flag("web.telemetry-path",
		"Path under which to expose metrics.").
		Default("/metrics").String()
	maxRequests = kingpin.Flag("web.max-requests",
		"Maximum number of parallel scrape requests. Use 0 to disable.").
		Default("40").Int()
	webIdleTimeout = kingpin.Flag("web.idle-timeout",
		"Close keep-alive connections to the exporter idle this long (keep it above the scrape interval, or Prometheus reconnects every scrape).").
		Default("2m").Duration()
	disableExporterMetrics = kingpin.Flag("web.disable-exporter-metrics",
		"Exclude metrics about the exporter itself (promhttp_*, process_*, go_*).").
		Bool()
	timeoutOffset = kingpin.Flag("scrape.timeout-offset",
		"Offset to subtract from Prometheus' scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to get the deadline of the Mattermost API calls.").
		Default("0.5s").Duration()
	logLevel = kingpin.Flag("log.level",
		"Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").Enum("debug", "info", "warn", "error")
	logFormat = kingpin.Flag("log.format",
		"Output format of log messages. One of: [logfmt, json]").
		Default("logfmt").Enum("logfmt", "json")
	webFlags = kingpinflag.AddFlags(kingpin.CommandLine, ":10065")
)

func main() {
	kingpin.CommandLine.Name = programName
	kingpin.Version(version.Print(programName))
	kingpin.CommandLine.UsageWriter(os.Stdout)
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	if *webIdleTimeout <= 0 {
		kingpin.Fatalf("--web.idle-timeout must be positive, got %s", *webIdleTimeout)
	}
	idleTimeout = *webIdleTimeout
	// SIGHUP reloads the token file or the config file; caught before
	// anything else so that it never kills the exporter (its default
	// action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	opts := singleTargetOptions
	if *configFile != "" {
		opts = fleetOptions
	}
	fleetOpts, ok := opts()
	if !ok {
		return // --config.check
	}
	logger, slogger := newLoggers(os.Stderr, *logLevel, *logFormat)
	fleetOpts.Logger = logger
	fleetOpts.Extra = []prometheus.Collector{versioncollector.NewCollector(programName)}
	fleet, err := probe.New(fleetOpts)
	if err != nil {
		kingpin.Fatalf("%s", err)
	}
	defer fleet.Close()
	if *configFile != "" {
		level.Info(logger).Log("msg", "starting "+programName+" (multi-target)", "version", version.Info(), "targets", strings.Join(fleet.Names(), ","))
	} else {
		level.Info(logger).Log("msg", "starting "+programName, "version", version.Info())
	}
	level.Info(logger).Log("msg", "build context", "build_context", version.BuildContext())
	if *configFile == "" {
		level.Info(logger).Log("msg", "Mattermost target", "url", *mattermostURL, "token_source", tokenSource(*tokenFile),
			"collectors", strings.Join(collector.EnabledCollectors(), ","))
	}
	if err := run(logger, slogger, fleet, hup); err != nil {
		level.Error(logger).Log("msg", "exporter stopped", "err", err)
		fleet.Close()
		os.Exit(1)
	}
}

// singleTargetOptions checks the single-target flags: they make a fleet of
// one target, started at once and never stopped for idleness. The URL and
// the token are checked, and the token read, by probe.New (flagsTarget).
func singleTargetOptions() (probe.Options, bool) {
	validateWebFlags()
	if *caFile != "" {
		if _, err := mmclient.LoadCAPool(*caFile); err != nil {
			kingpin.Fatalf("Mattermost client: %v", err)
		}
	}
	load := func() ([]*probe.Target, error) { return flagsTarget(os.Getenv) }
	return probe.Options{Load: load, OneTarget: true}, true
}

// flagsTarget is the one target of the single-target flags, with its
// token read anew.
func flagsTarget(getenv func(string) string) ([]*probe.Target, error) {
	token, _, sum, err := validateConfig(*mattermostURL, *tokenFile, getenv)
	if err != nil {
		return nil, err
	}
	tc := probe.TargetConfig{Name: "mattermost", URL: *mattermostURL, TokenFile: *tokenFile}
	tc.TLS.CAFile, tc.TLS.InsecureSkipVerify = *caFile, *insecureSkipVerify
	return []*probe.Target{probe.NewTarget(tc, token, sum, tokenFileFlag)}, nil
}

// validateWebFlags exits on an invalid flag shared by both modes.
func validateWebFlags() {
	if *timeoutOffset < 0 {
		kingpin.Fatalf("--scrape.timeout-offset must not be negative")
	}
	if *mattermostTimeout <= 0 {
		kingpin.Fatalf("--mattermost.timeout must be positive")
	}
	// A path that http.ServeMux takes as a plain pattern (anything else
	// would make it panic at start).
	if p := *telemetryPath; !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\r\n{}") {
		kingpin.Fatalf("--web.telemetry-path %q must be a URL path starting with / (no spaces or braces), e.g. /metrics", p)
	}
}

// validateConfig checks the connection settings and returns the token, a
// description of where it came from (never the token itself) and, for a
// token file, the SHA-256 of its content. Its errors are one line saying
// what to fix.
func validateConfig(rawURL, tokenPath string, getenv func(string) string) (token, source string, sum [sha256.Size]byte, err error) {
	if strings.TrimSpace(rawURL) == "" {
		return "", "", sum, errors.New("--mattermost.url is required (or set MATTERMOST_URL)")
	}
	if _, err := mmclient.ParseBaseURL(rawURL); err != nil {
		return "", "", sum, fmt.Errorf("--mattermost.url: %w", err)
	}
	if tokenPath != "" {
		token, sum, err = probe.ReadTokenFile(tokenFileFlag, tokenPath)
		if err != nil {
			return "", "", sum, err
		}
		return token, tokenSource(tokenPath), sum, nil
	}
	token = strings.TrimSpace(getenv(tokenEnv))
	if token == "" {
		return "", "", sum, errors.New("a Mattermost API token is required: set --mattermost.token-file or the MATTERMOST_TOKEN environment variable")
	}
	source = tokenSource("")
	if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return "", "", sum, fmt.Errorf("the Mattermost API token from %s contains whitespace; it must be a single token", source)
	}
	return token, source, sum, nil
}

// tokenSource says where the token comes from: the token file at path, or
// without one the environment.
func tokenSource(path string) string {
	if path != "" {
		return "file " + path
	}
	return "environment variable " + tokenEnv
}

// newLoggers returns the go-kit logger used everywhere and a *slog.Logger
// for exporter-toolkit, bridged onto the same writer and level filter. The
// bridge names slog's time key "time" and adds its own caller.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	w = log.NewSyncWriter(w)
	var base log.Logger
	if format == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	filtered := level.NewFilter(base, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
	var slogLevel slog.Level
	if err := slogLevel.UnmarshalText([]byte(lvl)); err != nil {
		slogLevel = slog.LevelInfo
	}
	logger := log.With(filtered, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	return logger, slog.New(slgk.NewGoKitHandler(filtered, slogLevel))
}

// run serves the exporter until SIGTERM/SIGINT (nil) or a web server
// error: /metrics, /-/reload and, in multi-target mode, /probe. SIGHUP and
// /-/reload reload the targets (the token file of the single-target mode).
func run(logger log.Logger, slogger *slog.Logger, fleet *probe.Fleet, hup <-chan os.Signal) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		for {
			select {
			case <-hup:
				reloadOnSIGHUP(fleet, logger)
			case <-ctx.Done():
				// Later SIGHUPs are still caught (and ignored).
				return
			}
		}
	}()
	opts := probe.HandlerOpts{
		Timeout:     scrapeDeadline(*mattermostTimeout, *timeoutOffset),
		MaxRequests: *maxRequests,
		Logger:      logger,
	}
	metricsOpts := opts
	metricsOpts.Self = newSelfRegistry()
	mux := http.NewServeMux()
	mux.Handle(*telemetryPath, fleet.MetricsHandler(metricsOpts))
	if *telemetryPath != "/-/reload" {
		mux.Handle("/-/reload", reloadHandler(fleet, logger))
	}
	description := "Prometheus exporter for Mattermost; collectors: " + strings.Join(collector.EnabledCollectors(), ", ")
	var links []web.LandingLinks
	if *configFile != "" {
		mux.Handle("/probe", fleet.Handler(opts))
		description = "Prometheus exporter for Mattermost, multi-target: /probe?target=<name of a target of the config file>"
		if names := fleet.Names(); len(names) > 0 {
			links = append(links, web.LandingLinks{Address: "/probe?target=" + names[0], Text: "Probe " + names[0]})
		}
	}
	if err := addLandingPage(mux, description, links...); err != nil {
		return err
	}
	return serve(ctx, stop, logger, slogger, mux)
}

// reloadOnSIGHUP is what SIGHUP does.
func reloadOnSIGHUP(fleet *probe.Fleet, logger log.Logger) {
	switch {
	case *configFile != "":
		level.Info(logger).Log("msg", "SIGHUP received: reloading the config file")
	case *tokenFile == "":
		level.Info(logger).Log("msg", "SIGHUP received: nothing to reload (the token comes from "+tokenEnv+"; restart the exporter to change it)")
		return
	}
	_ = fleet.Reload("SIGHUP") // logged by Reload
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
			first, _, _ := strings.Cut(err.Error(), "\n")
			http.Error(w, "config not reloaded; the previous one stays in use: "+first, http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "config reloaded\n")
	})
}

// newSelfRegistry returns the registry of go_ and process_ metrics, nil
// with --web.disable-exporter-metrics.
func newSelfRegistry() *prometheus.Registry {
	if *disableExporterMetrics {
		return nil
	}
	self := prometheus.NewRegistry()
	self.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return self
}

// addLandingPage serves exporter-toolkit's landing page at / (unless the
// telemetry path is /), linking to the telemetry path and extra links.
func addLandingPage(mux *http.ServeMux, description string, extra ...web.LandingLinks) error {
	if *telemetryPath == "/" {
		return nil
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "Mattermost Exporter",
		Description: description,
		Version:     version.Info(),
		Profiling:   "false", // no /debug/pprof handlers here
		Links:       append([]web.LandingLinks{{Address: *telemetryPath, Text: "Metrics"}}, extra...),
	})
	if err != nil {
		return fmt.Errorf("landing page: %w", err)
	}
	mux.Handle("/", landing)
	return nil
}

// serve runs the web server until ctx is done (SIGTERM/SIGINT; nil after a
// graceful shutdown) or the server fails.
func serve(ctx context.Context, stop context.CancelFunc, logger log.Logger, slogger *slog.Logger, mux http.Handler) error {
	server := newHTTPServer(mux, slog.NewLogLogger(slogger.Handler(), slog.LevelError), max(maxScrapeTimeout, *mattermostTimeout))
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, webFlags, slogger) }()

	select {
	case err := <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("web server: %w", err)
	case <-ctx.Done():
		// A second signal kills at once.
		stop()
		// Scrapes in flight end within their deadline, at most
		// --mattermost.timeout without a scrape-timeout header.
		grace := max(minShutdownGrace, *mattermostTimeout)
		level.Info(logger).Log("msg", "shutting down, waiting for scrapes in flight", "grace", grace)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := server.Shutdown(shutdownCtx); err != nil {
			// Not a failure of the exporter: it stops as asked.
			level.Warn(logger).Log("msg", "scrapes still in flight after the grace period; closing their connections", "grace", grace, "err", err)
			_ = server.Close()
		}
		return nil
	}
}

// Web server timeouts. Scrapes are small GET requests; the answer is
// written only once every collector is done, at most the scrape's deadline
// after the request arrived.
const (
	// readHeaderTimeout and readTimeout bound a client that sends its
	// request slowly (the request has no body).
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	// writeMargin is added to the longest scrape for gathering and writing
	// the answer.
	writeMargin = 30 * time.Second
)

// idleTimeout closes keep-alive connections idle this long. Prometheus
// reuses one connection per target between scrapes, so it outlasts the
// common scrape intervals (15 s to 1 min, and 2 min with some margin
// lost); idle connections left by anything else go after 2 min. Set from
// --web.idle-timeout.
var idleTimeout = 120 * time.Second

// newHTTPServer returns the exporter's web server for handler. Its
// WriteTimeout is longestScrape (the longest deadline a scrape can get)
// plus writeMargin, so that no scrape is cut by it.
func newHTTPServer(handler http.Handler, errorLog *stdlog.Logger, longestScrape time.Duration) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      longestScrape + writeMargin,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog,
	}
}

// scrapeDeadline returns the deadline of a request's scrape (scrapeTimeout
// of its header).
func scrapeDeadline(fallback, offset time.Duration) func(*http.Request) time.Duration {
	return func(r *http.Request) time.Duration {
		return scrapeTimeout(r.Header.Get(scrapeTimeoutHeader), fallback, offset)
	}
}

// scrapeTimeout returns the deadline for one scrape's API calls: Prometheus'
// scrape timeout minus offset when the header is present and valid, else
// fallback. A header that is not a finite positive number (NaN, Inf, 0,
// negative, garbage) counts as absent; one above maxScrapeTimeout is
// clamped to it (the web server's WriteTimeout is sized from it). An offset
// larger than the timeout is ignored.
func scrapeTimeout(header string, fallback, offset time.Duration) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(header), 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return fallback
	}
	t := maxScrapeTimeout
	if secs < maxScrapeTimeout.Seconds() {
		t = time.Duration(secs * float64(time.Second))
	}
	if t <= 0 { // below a nanosecond
		return fallback
	}
	if t-offset > 0 {
		return t - offset
	}
	return t
}
