// Command fake-mattermost serves the mmtest fake Mattermost API on a TCP
// address, for demos and manual testing of the exporter.
//
// On start it prints one line to stdout:
//
//	fake-mattermost listening url=http://127.0.0.1:8065 admin_token=fake-admin-token user_token=fake-user-token users=2000 nodes=3 era=5.37
//
// The tokens are the fixed fake tokens of package mmtest (no secret).
// --era picks the Mattermost version the fake reproduces: 5.37 (default)
// or 11 (11.2: its X-Version-Id, deduplicated status lists, 413 for bodies
// over --max-payload-bytes, the 11.x ping and license answers).
//
// --unhealthy, --license-expires-in, --jobs, --plugins,
// --saml-certificate-expires-in and --saml-idp-certificate-expires-in put
// the fake into the faults the exporter's health, license, jobs, plugins and
// saml collectors report (for demos of the alerts), e.g.
//
//	fake-mattermost --unhealthy=filestore --license-expires-in=480h --jobs=failed --plugins=skew
//
// --tls-certificate-expires-in serves https (and the IdP metadata over
// https) with a generated chain of chosen expiry, whose root CA
// --tls-ca-out writes for the exporter's --mattermost.tls.ca-file, e.g.
//
//	fake-mattermost --tls-certificate-expires-in=120h --tls-ca-out=/tmp/fake-ca.pem
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

type options struct {
	listen         string
	users          int
	seed           int64
	nodes          int
	skewed         int
	unreachable    int
	saml           string
	samlEnabled    bool
	latency        string
	rateLimit      string
	versionID      string
	era            string
	maxPayload     int64
	logLevel       string
	summaryEvery   time.Duration
	enterpriseFlag bool

	// Signals of the health, license, jobs, plugins and saml collectors (see applySignals).
	unhealthy      string
	licenseLeft    time.Duration
	jobs           string
	plugins        string
	samlCertLeft   time.Duration
	samlIDPCertLft time.Duration

	// TLS (see tlsChain).
	tlsLeafLeft  time.Duration
	tlsInterLeft time.Duration
	tlsCAOut     string
}

// newApp defines the command line; parsing fills o.
func newApp(o *options) *kingpin.Application {
	app := kingpin.New("fake-mattermost", "A fake Mattermost API server (package mmtest) for demos and tests.")
	app.HelpFlag.Short('h')
	app.Flag("listen", "Address to listen on.").Default("127.0.0.1:8065").StringVar(&o.listen)
	app.Flag("users", "Number of generated accounts (mmtest.GenerateUsers).").Default("2000").IntVar(&o.users)
	app.Flag("seed", "Seed of the generated accounts.").Default("1").Int64Var(&o.seed)
	app.Flag("nodes", "Cluster nodes listed by /cluster/status (0 = not clustered).").Default("3").IntVar(&o.nodes)
	app.Flag("skewed-nodes", "How many reachable nodes run another version with another config hash.").Default("0").IntVar(&o.skewed)
	app.Flag("unreachable-nodes", "How many nodes the cluster cannot reach (listed with empty fields).").Default("0").IntVar(&o.unreachable)
	app.Flag("saml", "SAML certificate files present: comma-separated idp,public,private, or none.").Default("idp,public,private").StringVar(&o.saml)
	app.Flag("saml-enabled", "EnableSaml in the client config.").Default("true").BoolVar(&o.samlEnabled)
	app.Flag("enterprise-ready", "BuildEnterpriseReady in the client config.").Default("false").BoolVar(&o.enterpriseFlag)
	app.Flag("latency", "Latency model: realistic or none.").Default("realistic").EnumVar(&o.latency, "realistic", "none")
	app.Flag("rate-limit", "Rate limit emulation as PERSEC:BURST (e.g. 10:100); empty = off.").Default("").StringVar(&o.rateLimit)
	app.Flag("era", "Mattermost version whose answers the fake reproduces: 5.37 or 11 (11.2).").Default("5.37").EnumVar(&o.era, "5.37", "11")
	app.Flag("version-id", "X-Version-Id header value; empty = the era's recorded value ("+mmtest.DefaultVersion+" or "+mmtest.DefaultVersion11+").").Default("").StringVar(&o.versionID)
	app.Flag("max-payload-bytes", "Request body limit, like Mattermost's MaximumPayloadSizeBytes (the server allows 512 bytes more); 0 = the era's default (5.37: 100 MiB, 11: 300000); negative = none.").Default("0").Int64Var(&o.maxPayload)
	app.Flag("unhealthy", "Components the deep health check reports UNHEALTHY: comma-separated database,filestore, or none.").Default("none").StringVar(&o.unhealthy)
	app.Flag("license-expires-in", "Install an enterprise license expiring this far from now (negative: expired); 0 = no license (the X-Version-Id flag decides).").Default("0s").DurationVar(&o.licenseLeft)
	app.Flag("jobs", "Background jobs: none, ok (a successful data_retention and ldap_sync job), failed (the newest data_retention job in error), stuck (an ldap_sync job pending for 2h).").Default("none").EnumVar(&o.jobs, "none", "ok", "failed", "stuck")
	app.Flag("plugins", "Plugins on every node: disabled (501, like the recorded servers), ok, failed (calls failed to stay running on the last node), skew (calls on another version on the last node).").Default("disabled").EnumVar(&o.plugins, "disabled", "ok", "failed", "skew")
	app.Flag("saml-certificate-expires-in", "Configure SAML with a generated service provider certificate expiring this far from now (GET /saml/metadata); 0 = not configured (501).").Default("0s").DurationVar(&o.samlCertLeft)
	app.Flag("saml-idp-certificate-expires-in", "Serve IdP metadata at "+mmtest.IDPMetadataPath+" with a signing certificate expiring this far from now, and point SamlSettings.IdpMetadataURL of GET /config at it; 0 = none.").Default("0s").DurationVar(&o.samlIDPCertLft)
	app.Flag("tls-certificate-expires-in", "Serve https with a generated certificate chain whose server certificate expires this far from now (negative: expired); 0 = plain http.").Default("0s").DurationVar(&o.tlsLeafLeft)
	app.Flag("tls-intermediate-expires-in", "With --tls-certificate-expires-in: when the chain's intermediate CA certificate expires, from now; 0 = 5 years.").Default("0s").DurationVar(&o.tlsInterLeft)
	app.Flag("tls-ca-out", "With --tls-certificate-expires-in: write the chain's root CA certificate (PEM) to this file, for the exporter's --mattermost.tls.ca-file.").Default("").StringVar(&o.tlsCAOut)
	app.Flag("log.level", "Log level: debug (every request) or info (a summary every --log.summary-interval).").Default("info").EnumVar(&o.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.summary-interval", "How often to log request counts at info level.").Default("30s").DurationVar(&o.summaryEvery)
	return app
}

func main() {
	var o options
	kingpin.MustParse(newApp(&o).Parse(os.Args[1:]))

	logger := log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))
	logger = level.NewFilter(logger, level.Allow(level.ParseDefault(o.logLevel, level.InfoValue())))
	logger = log.With(logger, "ts", log.DefaultTimestampUTC)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, logger, os.Stdout); err != nil {
		_ = level.Error(logger).Log("msg", "fake-mattermost failed", "err", err)
		os.Exit(1)
	}
}

// buildConfig turns the options into an mmtest configuration.
func buildConfig(o options) (mmtest.Config, error) {
	era, err := mmtest.ParseEra(o.era)
	if err != nil {
		return mmtest.Config{}, fmt.Errorf("--era: %w", err)
	}
	cfg := mmtest.Config{
		Era:                     era,
		Version:                 o.versionID,
		MaximumPayloadSizeBytes: o.maxPayload,
		SAMLEnabled:             o.samlEnabled,
		EnterpriseReady:         o.enterpriseFlag,
	}
	if o.users < 0 || o.nodes < 0 || o.skewed < 0 || o.unreachable < 0 {
		return cfg, errors.New("--users, --nodes, --skewed-nodes and --unreachable-nodes must not be negative")
	}
	if o.skewed+o.unreachable > o.nodes {
		return cfg, fmt.Errorf("--skewed-nodes (%d) + --unreachable-nodes (%d) exceed --nodes (%d)", o.skewed, o.unreachable, o.nodes)
	}
	cfg.Users = mmtest.GenerateUsers(o.users, o.seed)
	if o.nodes > 0 {
		cfg.Nodes = mmtest.DemoNodesEra(era, o.nodes, o.skewed, o.unreachable)
	}
	for _, c := range strings.Split(o.saml, ",") {
		switch strings.TrimSpace(c) {
		case "idp":
			cfg.SAMLIDP = true
		case "public":
			cfg.SAMLPublic = true
		case "private":
			cfg.SAMLPrivateKey = true
		case "none", "":
		default:
			return cfg, fmt.Errorf("--saml: unknown certificate %q (want idp, public, private or none)", c)
		}
	}
	if o.latency == "realistic" {
		cfg.Latency = mmtest.RealisticLatency()
	}
	if o.rateLimit != "" {
		ps, burst, ok := strings.Cut(o.rateLimit, ":")
		perSec, err1 := strconv.ParseFloat(ps, 64)
		b, err2 := strconv.Atoi(burst)
		if !ok || err1 != nil || err2 != nil || perSec <= 0 || b < 0 {
			return cfg, fmt.Errorf("--rate-limit: want PERSEC:BURST such as 10:100, got %q", o.rateLimit)
		}
		cfg.RateLimit = &mmtest.RateLimit{PerSec: perSec, Burst: b}
	}
	return cfg, nil
}

func run(ctx context.Context, o options, logger log.Logger, out io.Writer) error {
	cfg, err := buildConfig(o)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	chain, err := tlsChain(o, time.Now())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	fake := mmtest.New(cfg)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	scheme := "http"
	if chain != nil {
		scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{chain.TLSCertificate()}, MinVersion: tls.VersionTLS12})
	}
	if err := applySignals(fake, o, scheme+"://"+ln.Addr().String(), time.Now()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("configuration: %w", err)
	}
	srv := &http.Server{
		Handler:           logRequests(fake.Handler(), logger),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// The line is how scripts learn the address: a fake nobody can find is of no use. The
	// listener already queues connections, so announcing before serving loses none.
	if _, err := fmt.Fprintf(out, "fake-mattermost listening url="+scheme+"://%s admin_token=%s user_token=%s users=%d nodes=%d era=%s\n",
		ln.Addr().String(), mmtest.AdminToken, mmtest.UserToken, len(cfg.Users), len(cfg.Nodes), cfg.Era); err != nil {
		_ = ln.Close()
		return fmt.Errorf("announce the address: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	counts := mmtest.CountStatuses(cfg.Users)
	_ = level.Info(logger).Log("msg", "fake Mattermost started", "addr", ln.Addr().String(),
		"users", counts.Total, "active", counts.Active, "bots", counts.Bots, "deactivated", counts.Deactivated,
		"era", cfg.Era, "version_id", fake.Version(), "nodes", len(cfg.Nodes), "skewed_nodes", o.skewed, "unreachable_nodes", o.unreachable,
		"saml", o.saml, "saml_enabled", o.samlEnabled, "latency", o.latency, "rate_limit", o.rateLimit,
		"unhealthy", o.unhealthy, "license_expires_in", o.licenseLeft, "jobs", o.jobs, "plugins", o.plugins,
		"saml_certificate_expires_in", o.samlCertLeft, "saml_idp_certificate_expires_in", o.samlIDPCertLft,
		"tls_certificate_expires_in", o.tlsLeafLeft, "tls_intermediate_expires_in", o.tlsInterLeft)

	var tick <-chan time.Time
	if o.summaryEvery > 0 {
		t := time.NewTicker(o.summaryEvery)
		defer t.Stop()
		tick = t.C
	}
	var last int64
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-tick:
			if total := fake.TotalRequests(); total != last {
				last = total
				logSummary(logger, fake.RequestCounts(), total)
			}
		case <-ctx.Done():
			_ = level.Info(logger).Log("msg", "shutting down", "requests", fake.TotalRequests())
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				// A client still being answered after the grace period
				// (say, a slow reader): drop it rather than leave it open.
				_ = srv.Close()
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		}
	}
}

// tlsChain returns the certificate chain to serve (nil: plain http) and
// writes its root CA to --tls-ca-out.
func tlsChain(o options, now time.Time) (*mmtest.CertChain, error) {
	if o.tlsLeafLeft == 0 {
		if o.tlsInterLeft != 0 || o.tlsCAOut != "" {
			return nil, errors.New("--tls-intermediate-expires-in and --tls-ca-out need --tls-certificate-expires-in")
		}
		return nil, nil
	}
	inter := o.tlsInterLeft
	if inter == 0 {
		inter = 5 * 365 * 24 * time.Hour
	}
	chain, err := mmtest.NewCertChain(now.Add(o.tlsLeafLeft), now.Add(inter))
	if err != nil {
		return nil, fmt.Errorf("TLS certificate chain: %w", err)
	}
	if o.tlsCAOut != "" {
		if err := os.WriteFile(o.tlsCAOut, chain.RootPEM(), 0o644); err != nil {
			return nil, fmt.Errorf("--tls-ca-out: %w", err)
		}
	}
	return chain, nil
}

// applySignals sets the fake's health, license, jobs, plugins and SAML
// certificates from the options; baseURL is where the fake is reachable (for
// the IdP metadata URL).
func applySignals(fake *mmtest.Server, o options, baseURL string, now time.Time) error {
	dbOK, fsOK := true, true
	for _, c := range strings.Split(o.unhealthy, ",") {
		switch strings.TrimSpace(c) {
		case "database":
			dbOK = false
		case "filestore":
			fsOK = false
		case "none", "":
		default:
			return fmt.Errorf("--unhealthy: unknown component %q (want database, filestore or none)", c)
		}
	}
	fake.SetHealth(dbOK, fsOK)
	if o.licenseLeft != 0 {
		fake.SetLicense(&mmtest.License{SkuShortName: "enterprise", SkuName: "Enterprise", Users: 1000,
			IssuedAt: now.AddDate(-1, 0, 0), StartsAt: now.AddDate(-1, 0, 0), ExpiresAt: now.Add(o.licenseLeft)})
	}
	if o.jobs != "none" && o.jobs != "" {
		jobs := []mmtest.Job{
			{Type: "data_retention", Status: "success", CreateAt: now.Add(-3 * time.Hour), StartAt: now.Add(-3 * time.Hour), LastActivityAt: now.Add(-170 * time.Minute), Progress: 100},
			{Type: "ldap_sync", Status: "success", CreateAt: now.Add(-4 * time.Hour), StartAt: now.Add(-4 * time.Hour), LastActivityAt: now.Add(-230 * time.Minute), Progress: 100},
		}
		switch o.jobs {
		case "failed":
			jobs = append(jobs, mmtest.Job{Type: "data_retention", Status: "error", CreateAt: now.Add(-time.Hour), StartAt: now.Add(-time.Hour), LastActivityAt: now.Add(-50 * time.Minute)})
		case "stuck":
			jobs = append(jobs, mmtest.Job{Type: "ldap_sync", Status: "pending", CreateAt: now.Add(-2 * time.Hour)})
		}
		fake.SetJobs(jobs)
	}
	if o.plugins != "disabled" && o.plugins != "" {
		nodes := max(o.nodes, 1)
		var ps []mmtest.PluginStatus
		for i := 0; i < nodes; i++ {
			id := ""
			if o.nodes > 0 {
				id = fmt.Sprintf("node%d", i+1)
			}
			ps = append(ps,
				mmtest.PluginStatus{PluginID: "playbooks", ClusterID: id, Name: "Playbooks", Version: "2.0.1", State: 2},
				mmtest.PluginStatus{PluginID: "com.mattermost.calls", ClusterID: id, Name: "Calls", Version: "1.2.0", State: 2})
		}
		last := &ps[len(ps)-1]
		switch o.plugins {
		case "failed":
			last.State, last.Error = 4, "plugin crashed"
		case "skew":
			last.Version = "1.3.0"
		}
		fake.SetPlugins(true, ps)
	}
	if o.samlCertLeft != 0 {
		if err := fake.SetSAMLCertificate(now.Add(o.samlCertLeft)); err != nil {
			return fmt.Errorf("--saml-certificate-expires-in: %w", err)
		}
	}
	if o.samlIDPCertLft != 0 {
		if err := fake.SetSAMLIDPCertificate(now.Add(o.samlIDPCertLft)); err != nil {
			return fmt.Errorf("--saml-idp-certificate-expires-in: %w", err)
		}
		fake.SetSAMLIDPMetadataURL(strings.TrimSuffix(baseURL, "/") + mmtest.IDPMetadataPath)
	}
	return nil
}

func logSummary(logger log.Logger, counts map[string]int64, total int64) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	kv := []any{"msg", "requests so far", "total", total}
	for _, n := range names {
		if counts[n] > 0 {
			kv = append(kv, n, counts[n])
		}
	}
	_ = level.Info(logger).Log(kv...)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (hangup faults).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs every request at debug level (method, path, status,
// duration; never headers, so no token).
func logRequests(next http.Handler, logger log.Logger) http.Handler {
	debug := level.Debug(logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		_ = debug.Log("msg", "request", "method", r.Method, "path", r.URL.Path,
			"code", rec.code, "duration", time.Since(start))
	})
}
