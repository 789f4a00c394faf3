package e2e

// End-to-end test with a real Prometheus: the fake Mattermost (in process), the exporter binary
// and Debian's prometheus (and, when installed, prometheus-alertmanager), all on 127.0.0.1 free
// ports. Prometheus scrapes every second and evaluates a copy of the shipped alerts.yml whose
// `for` durations are shortened; the test drives the fake into each failure and watches the
// matching alert go pending/firing and clear.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	// promE2EFor replaces every `for` of the shipped rules in the test's copy.
	promE2EFor = "2s"
	// promE2EJob is the scrape job name; MattermostExporterDown relies on it containing
	// "mattermost", as documented.
	promE2EJob = "mattermost"
	// promE2EExpectedNodes is passed as --collector.cluster.expected-nodes.
	promE2EExpectedNodes = 3
)

// promE2ENotExported are contract metrics the fake of this test cannot produce, with why; the
// contract check and the dashboard queries skip them (the golden tests cover them).
var promE2ENotExported = map[string]string{
	"mattermost_search_backend_info":                      "the fake runs Mattermost 5.37, which reports no ActiveSearchBackend (covered by the era-11 golden exposition)",
	"mattermost_tls_certificate_expiry_timestamp_seconds": promE2EPlainHTTP,
	"mattermost_tls_certificate_info":                     promE2EPlainHTTP,
	"mattermost_tls_version_info":                         promE2EPlainHTTP,
	"mattermost_tls_certificate_verified":                 promE2EPlainHTTP,
}

// promE2EPlainHTTP is why this test sees no TLS metric.
const promE2EPlainHTTP = "the fake of this test serves plain http (TestPrometheusTLSCertificateAlert covers the TLS metrics, alert and panels)"

// promE2ENotExportedIn returns why a query cannot return data here ("" when it can).
func promE2ENotExportedIn(expr string) string {
	names, err := promQLMetricNames(expr)
	if err != nil {
		return ""
	}
	for _, n := range names {
		if why, ok := promE2ENotExported[n]; ok {
			return n + ": " + why
		}
	}
	return ""
}

// promE2EHealthyNodes is a healthy three-node cluster.
func promE2EHealthyNodes() []mmtest.Node {
	return []mmtest.Node{
		{ID: "k3j4h5g6f7d8s9a0q1w2e3r4t1", Hostname: "mm-app-1", IPAddress: "10.0.0.11", Version: "10.5.2", SchemaVersion: "130", ConfigHash: "0123456789abcdef0123456789abcdef"},
		{ID: "k3j4h5g6f7d8s9a0q1w2e3r4t2", Hostname: "mm-app-2", IPAddress: "10.0.0.12", Version: "10.5.2", SchemaVersion: "130", ConfigHash: "0123456789abcdef0123456789abcdef"},
		{ID: "k3j4h5g6f7d8s9a0q1w2e3r4t3", Hostname: "mm-app-3", IPAddress: "10.0.0.13", Version: "10.5.2", SchemaVersion: "130", ConfigHash: "0123456789abcdef0123456789abcdef"},
	}
}

// promE2ENodes returns the healthy cluster with the third node changed by f.
func promE2ENodes(f func(n *mmtest.Node)) []mmtest.Node {
	nodes := promE2EHealthyNodes()
	f(&nodes[2])
	return nodes
}

// promE2EFault is one failure the test drives the fake into.
type promE2EFault struct {
	name   string
	apply  func()
	clear  func()
	alert  string            // the alert that must go pending/firing
	labels map[string]string // labels the alert must carry
	// quiet alerts must not be active while the fault is on (suppressions, neighbours).
	quiet []string
	// skipClear, when set, says why the alert is not expected to clear within the test.
	skipClear string
	// description, when set, must be part of the firing alert's rendered description.
	description string
	// batch, when not 0, drives the fault together with the adjacent faults of the same batch
	// (independent faults whose quiet lists do not collide), to keep the test short.
	batch int
}

// promE2EBatches groups adjacent faults of the same non-zero batch; every other fault is a
// group of its own.
func promE2EBatches(faults []promE2EFault) [][]promE2EFault {
	var out [][]promE2EFault
	for i, f := range faults {
		if f.batch != 0 && i > 0 && faults[i-1].batch == f.batch {
			out[len(out)-1] = append(out[len(out)-1], f)
			continue
		}
		out = append(out, []promE2EFault{f})
	}
	return out
}

func promE2EGroupName(group []promE2EFault, what string) string {
	var parts []string
	for _, f := range group {
		parts = append(parts, f.alert+" for fault: "+f.name)
	}
	return strings.Join(parts, "; ") + " " + what
}

// promE2EObservation records what the test saw, for the log (and the closing report).
type promE2EObservation struct {
	fault, alert, states string
	fired, cleared       time.Duration
	clearNote            string
}

func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	dir := t.TempDir()
	exporterBin := exporterBinary(t)

	users := mmtest.GenerateUsers(300, 42)
	fake := mmtest.NewServer(mmtest.Config{
		Nodes:   promE2EHealthyNodes(),
		SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: true,
		SAMLEnabled: true,
		Users:       users,
		// Generous limits: no 429 unless injected, but X-Ratelimit-* headers on every answer
		// so mattermost_exporter_ratelimit_remaining is exported.
		RateLimit: &mmtest.RateLimit{PerSec: 100000, Burst: 100000},
	})
	t.Cleanup(fake.Close)
	promE2EHealthySignals(t, fake)

	// The exporter.
	exporterAddr := freeAddr(t)
	exporter := promStartExporter(t, exporterBin, fake.URL, exporterAddr, filepath.Join(dir, "exporter.log"))
	promWaitHTTP(t, "http://"+exporterAddr+"/", 20*time.Second)

	// Alertmanager, when installed, with a webhook receiver in this process.
	hook := &promWebhook{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	amAddr := ""
	amName := "prometheus-alertmanager" // Debian's name for it
	if _, err := exec.LookPath("alertmanager"); err == nil {
		amName = "alertmanager" // the upstream release's
	}
	if amBin := promOptionalTool(t, amName, "Alertmanager delivery not checked"); amBin != "" {
		amAddr = promStartAlertmanager(t, amBin, dir, hookSrv.URL+"/hook")
	}

	// Prometheus with the shortened copy of the shipped rules.
	rulesCopy := promShortenedRules(t, dir)
	api := promStartPrometheus(t, prometheusBin, dir, exporterAddr, rulesCopy, amAddr)

	// 1. The exporter target is up.
	promWaitFor(t, 30*time.Second, "exporter target up in Prometheus", func() (bool, string) {
		r := api.query(fmt.Sprintf(`up{job=%q}`, promE2EJob))
		return len(r) == 1 && r[0].Value == "1", fmt.Sprintf("up = %v", r)
	})

	// 2. Every contract metric is in Prometheus.
	var missing []string
	promWaitFor(t, 40*time.Second, "every contract metric in Prometheus", func() (bool, string) {
		have := map[string]bool{}
		for _, s := range api.query(fmt.Sprintf(`group by (__name__) ({__name__=~"mattermost_.+",job=%q})`, promE2EJob)) {
			have[s.Metric["__name__"]] = true
		}
		missing = missing[:0]
		for _, n := range promContractMetrics {
			if _, absent := promE2ENotExported[n]; absent {
				continue
			}
			if !have[n] {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v", missing)
	})
	if r := api.query(`mattermost_up`); len(r) != 1 || r[0].Value != "1" {
		t.Fatalf("mattermost_up = %v, want 1", r)
	}

	// 3. A healthy fake raises no alert at all.
	api.waitQuiet(30 * time.Second)

	// 4. Every dashboard query, with its variables filled in, returns data.
	exporterInstanceRe := regexp.QuoteMeta(exporterAddr)
	exporterInstanceRe = strings.ReplaceAll(exporterInstanceRe, `\`, `\\`) // inside a PromQL string
	vars := map[string]string{
		"job": promE2EJob, "instance": exporterInstanceRe,
		"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
	}
	for _, q := range grafanaQueries(t, promLoadDashboard(t, promDashboardFile)) {
		if why := promE2ENotExportedIn(q.Expr); why != "" {
			t.Logf("%s: not checked: %s", q.Where, why)
			continue
		}
		expr, err := promFillVariables(q.Expr, vars)
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		var res []promSample
		promWaitFor(t, 15*time.Second, q.Where+" returns data", func() (bool, string) {
			res = api.query(expr)
			return len(res) > 0, expr + " returned nothing"
		})
		t.Logf("%s: %d series", q.Where, len(res))
	}

	// 4b. Every example PromQL of README.md and docs/ is valid and every metric it names has
	// series here (the examples are checked against what Prometheus really holds).
	for _, q := range docsPromQLExamples(t) {
		api.query(q.Expr) // fails the test on a PromQL error
		names, _ := promQLMetricNames(q.Expr)
		for _, n := range names {
			promWaitFor(t, 15*time.Second, q.Where+": "+n+" has series", func() (bool, string) {
				return len(api.query(n)) > 0, q.Expr
			})
		}
	}

	// 5. Faults.
	faults := []promE2EFault{
		{
			name:   "a listed node the cluster cannot reach",
			apply:  func() { fake.SetNodes(promE2ENodes(func(n *mmtest.Node) { *n = mmtest.Node{ID: n.ID} })) },
			clear:  func() { fake.SetNodes(promE2EHealthyNodes()) },
			alert:  "MattermostClusterNodeDown",
			labels: map[string]string{"id": "k3j4h5g6f7d8s9a0q1w2e3r4t3"},
			// Still listed (3 of 3), and unreachable nodes do not count in the comparisons.
			quiet: []string{"MattermostClusterNodesMissing", "MattermostClusterVersionSkew", "MattermostClusterConfigMismatch"},
		},
		{
			name: "version skew (third node on another version and, with it, another config hash)",
			apply: func() {
				fake.SetNodes(promE2ENodes(func(n *mmtest.Node) {
					n.Version, n.ConfigHash = "10.6.0", "fedcba9876543210fedcba9876543210"
				}))
			},
			clear: func() { fake.SetNodes(promE2EHealthyNodes()) },
			alert: "MattermostClusterVersionSkew",
			// A config hash differing during an upgrade is the skew's, not a mismatch.
			quiet: []string{"MattermostClusterConfigMismatch"},
		},
		{
			name: "config mismatch on equal versions",
			apply: func() {
				fake.SetNodes(promE2ENodes(func(n *mmtest.Node) { n.ConfigHash = "fedcba9876543210fedcba9876543210" }))
			},
			clear: func() { fake.SetNodes(promE2EHealthyNodes()) },
			alert: "MattermostClusterConfigMismatch",
			quiet: []string{"MattermostClusterVersionSkew"},
		},
		{
			name:  "fewer nodes listed than --collector.cluster.expected-nodes",
			apply: func() { fake.SetNodes(promE2EHealthyNodes()[:2]) },
			clear: func() { fake.SetNodes(promE2EHealthyNodes()) },
			alert: "MattermostClusterNodesMissing",
			quiet: []string{"MattermostClusterNodeDown"},
			// The expected count comes from a query in the annotation template.
			description: "lists 2 nodes of the 3 expected",
		},
		{
			name:   "SAML enabled, IdP certificate missing",
			apply:  func() { fake.SetSAML(false, true, true) },
			clear:  func() { fake.SetSAML(true, true, true) },
			alert:  "MattermostSAMLCertificateMissing",
			labels: map[string]string{"certificate": "idp"},
			quiet:  []string{"MattermostSAMLServiceProviderCertificateMissing"},
		},
		{
			name:   "SAML enabled, service provider private key missing",
			apply:  func() { fake.SetSAML(true, true, false) },
			clear:  func() { fake.SetSAML(true, true, true) },
			alert:  "MattermostSAMLServiceProviderCertificateMissing",
			labels: map[string]string{"certificate": "private_key"},
			quiet:  []string{"MattermostSAMLCertificateMissing"},
		},
		{
			name:  "Mattermost down (proxy answers 502)",
			apply: func() { fake.SetDown(true) },
			clear: func() { fake.SetDown(false) },
			alert: "MattermostDown",
			// Every collector fails too, for the same reason: suppressed.
			quiet: []string{"MattermostCollectorFailing"},
		},
		{
			name:   "cluster collector refused (HTTP 403: token without the role)",
			apply:  func() { fake.SetFault(mmtest.EndpointClusterStatus, mmtest.Fault{Code: http.StatusForbidden}) },
			clear:  func() { fake.ClearFaults() },
			alert:  "MattermostCollectorFailing",
			labels: map[string]string{"collector": "cluster"},
			quiet:  []string{"MattermostDown"},
		},
		{
			name:  "exporter process killed",
			apply: func() { exporter.stop() },
			clear: func() {
				exporter = promStartExporter(t, exporterBin, fake.URL, exporterAddr, filepath.Join(dir, "exporter2.log"))
			},
			alert:  "MattermostExporterDown",
			labels: map[string]string{"job": promE2EJob, "instance": exporterAddr},
			// Without a scrape there is no mattermost_up sample: no MattermostDown.
			quiet: []string{"MattermostDown"},
		},
		{
			name:   "database unhealthy (deep health check: write and delete fail)",
			apply:  func() { fake.SetHealth(false, true) },
			clear:  func() { fake.SetHealth(true, true) },
			alert:  "MattermostDatabaseUnhealthy",
			labels: map[string]string{"component": "database"},
			// The plain ping still answers OK: Mattermost is up, its database is not.
			quiet: []string{"MattermostDown", "MattermostFileStoreUnhealthy", "MattermostCollectorFailing"},
			batch: 1,
		},
		{
			name:   "license expires in 20 days",
			apply:  func() { fake.SetLicense(promE2ELicense(20 * 24 * time.Hour)) },
			clear:  func() { fake.SetLicense(promE2ELicense(365 * 24 * time.Hour)) },
			alert:  "MattermostLicenseExpiringSoon",
			labels: map[string]string{"severity": "warning"},
			batch:  1,
		},
		{
			name:   "SAML service provider certificate expires in 3 days",
			apply:  func() { promE2ESAMLCertificate(t, fake, 3*24*time.Hour) },
			clear:  func() { promE2ESAMLCertificate(t, fake, 365*24*time.Hour) },
			alert:  "MattermostSAMLCertificateExpiringSoon",
			labels: map[string]string{"certificate": "public", "severity": "critical"},
			quiet:  []string{"MattermostSAMLCertificateMissing", "MattermostSAMLServiceProviderCertificateMissing"},
			batch:  1,
		},
		{
			name:   "newest data_retention job failed",
			apply:  func() { fake.SetJobs(promE2EJobs(mmtest.Job{Type: "data_retention", Status: "error"}, 0)) },
			clear:  func() { fake.SetJobs(promE2EJobs(mmtest.Job{}, 0)) },
			alert:  "MattermostJobFailed",
			labels: map[string]string{"type": "data_retention"},
			quiet:  []string{"MattermostJobStuck"},
			batch:  1,
		},
		{
			name: "plugin failed to stay running on one node",
			apply: func() {
				fake.SetPlugins(true, promE2EPlugins(func(p *mmtest.PluginStatus) { p.State = 4; p.Error = "plugin crashed" }))
			},
			clear:  func() { fake.SetPlugins(true, promE2EPlugins(nil)) },
			alert:  "MattermostPluginFailed",
			labels: map[string]string{"plugin_id": "com.mattermost.calls", "state": "failed_to_stay_running"},
			quiet:  []string{"MattermostPluginVersionSkew"},
			batch:  1,
		},
		{
			name:   "file store unhealthy (deep health check: connection test fails)",
			apply:  func() { fake.SetHealth(true, false) },
			clear:  func() { fake.SetHealth(true, true) },
			alert:  "MattermostFileStoreUnhealthy",
			labels: map[string]string{"component": "filestore"},
			quiet:  []string{"MattermostDown", "MattermostDatabaseUnhealthy", "MattermostCollectorFailing"},
			batch:  2,
		},
		{
			name:        "license expired an hour ago",
			apply:       func() { fake.SetLicense(promE2ELicense(-time.Hour)) },
			clear:       func() { fake.SetLicense(promE2ELicense(365 * 24 * time.Hour)) },
			alert:       "MattermostLicenseExpiringSoon",
			labels:      map[string]string{"severity": "critical"},
			description: "has expired",
			batch:       2,
		},
		{
			name:   "SAML IdP signing certificate (IdP metadata) expires in 20 days",
			apply:  func() { promE2EIDPCertificate(t, fake, 20*24*time.Hour) },
			clear:  func() { promE2EIDPCertificate(t, fake, 365*24*time.Hour) },
			alert:  "MattermostSAMLCertificateExpiringSoon",
			labels: map[string]string{"certificate": "idp", "severity": "warning"},
			quiet:  []string{"MattermostSAMLCertificateMissing"},
			batch:  2,
		},
		{
			name:   "ldap_sync job pending for 2 hours",
			apply:  func() { fake.SetJobs(promE2EJobs(mmtest.Job{Type: "ldap_sync", Status: "pending"}, 2*time.Hour)) },
			clear:  func() { fake.SetJobs(promE2EJobs(mmtest.Job{}, 0)) },
			alert:  "MattermostJobStuck",
			labels: map[string]string{"type": "ldap_sync"},
			quiet:  []string{"MattermostJobFailed"},
			batch:  2,
		},
		{
			name:   "plugin version skew (one node on another version)",
			apply:  func() { fake.SetPlugins(true, promE2EPlugins(func(p *mmtest.PluginStatus) { p.Version = "1.3.0" })) },
			clear:  func() { fake.SetPlugins(true, promE2EPlugins(nil)) },
			alert:  "MattermostPluginVersionSkew",
			labels: map[string]string{"plugin_id": "com.mattermost.calls"},
			quiet:  []string{"MattermostPluginFailed"},
			batch:  2,
		},
		{
			name: "Mattermost rate limiting the exporter (429 on the SAML endpoint)",
			apply: func() {
				fake.SetFault(mmtest.EndpointSAMLCertificate, mmtest.Fault{Code: http.StatusTooManyRequests, RetryAfter: 1})
			},
			clear:     func() { fake.ClearFaults() },
			alert:     "MattermostAPIRateLimited",
			skipClear: "the rule looks at increase(...[5m]): it clears 5 minutes after the last 429, longer than this test runs (the promtool unit test covers clearing)",
		},
	}

	var obs []promE2EObservation
	testStart := time.Now()
	for _, group := range promE2EBatches(faults) {
		start := time.Now()
		for _, f := range group {
			t.Logf("fault: %s -> expect %s", f.name, f.alert)
			f.apply()
		}
		fired := make([]time.Duration, len(group))
		seen := make([]map[string]bool, len(group))
		for i := range seen {
			seen[i] = map[string]bool{}
		}
		loud := map[string]bool{}
		promWaitFor(t, 30*time.Second, promE2EGroupName(group, "firing"), func() (bool, string) {
			active := api.alerts()
			done := true
			for i, f := range group {
				for _, q := range f.quiet {
					for _, a := range active {
						if a.Labels["alertname"] == q && !loud[f.name+q] {
							loud[f.name+q] = true
							t.Errorf("fault %q: %s is active (%s) but must stay quiet", f.name, q, a.State)
						}
					}
				}
				if fired[i] > 0 {
					continue
				}
				for _, a := range promMatchAlerts(active, f.alert, f.labels) {
					seen[i][a.State] = true
					if a.State == "firing" {
						fired[i] = time.Since(start)
						promCheckAnnotations(t, a)
						if f.description != "" && !strings.Contains(a.Annotations["description"], f.description) {
							t.Errorf("fault %q: %s description %q lacks %q", f.name, f.alert, a.Annotations["description"], f.description)
						}
					}
				}
				if fired[i] == 0 {
					done = false
				}
			}
			return done, fmt.Sprintf("active alerts: %s", promAlertList(active))
		})
		groupObs := make([]promE2EObservation, len(group))
		for i, f := range group {
			groupObs[i] = promE2EObservation{fault: f.name, alert: f.alert, fired: fired[i], states: promStates(seen[i])}
			if len(group) > 1 {
				groupObs[i].fault += " [together with the rest of its batch]"
			}
		}
		if len(group) == 1 && group[0].skipClear != "" {
			group[0].clear()
			groupObs[0].clearNote = "not waited for: " + group[0].skipClear
			obs = append(obs, groupObs...)
			continue
		}
		start = time.Now()
		for _, f := range group {
			f.clear()
		}
		cleared := make([]time.Duration, len(group))
		promWaitFor(t, 30*time.Second, promE2EGroupName(group, "cleared after the fault was removed"), func() (bool, string) {
			active := api.alerts()
			done := true
			for i, f := range group {
				if cleared[i] > 0 {
					continue
				}
				if len(promMatchAlerts(active, f.alert, f.labels)) == 0 {
					cleared[i] = time.Since(start)
				} else {
					done = false
				}
			}
			return done, fmt.Sprintf("active alerts: %s", promAlertList(active))
		})
		for i := range group {
			groupObs[i].cleared = cleared[i]
		}
		obs = append(obs, groupObs...)
		// Back to a clean state before the next fault.
		api.waitQuiet(30 * time.Second)
	}

	// SAML turned off: missing certificates must not raise anything.
	fake.SetSAMLEnabled(false)
	fake.SetSAML(false, false, false)
	promWaitFor(t, 15*time.Second, "mattermost_saml_enabled 0 in Prometheus", func() (bool, string) {
		r := api.query(`mattermost_saml_enabled == 0 and on(job, instance) mattermost_saml_certificate_present{certificate="idp"} == 0`)
		return len(r) == 1, fmt.Sprintf("%v", r)
	})
	time.Sleep(5 * time.Second) // > promE2EFor plus two evaluation intervals
	for _, a := range api.alerts() {
		if strings.HasPrefix(a.Labels["alertname"], "MattermostSAML") {
			t.Errorf("SAML disabled with no certificates: %s is %s; certificate alerts must be gated on mattermost_saml_enabled", a.Labels["alertname"], a.State)
		}
	}
	obs = append(obs, promE2EObservation{fault: "SAML disabled, all certificates missing", alert: "(none: MattermostSAML* stayed quiet for 5s)"})

	// The IdP metadata (on the fake's host) was fetched, never with the token.
	if n := fake.Requests(mmtest.EndpointIDPMetadata); n == 0 {
		t.Error("the exporter never fetched the IdP metadata")
	}
	if n := fake.IDPMetadataAuthorizationSeen(); n != 0 {
		t.Errorf("%d IdP metadata requests carried an Authorization header", n)
	}

	// Alertmanager received the firing alerts.
	if amAddr != "" {
		promWaitFor(t, 20*time.Second, "Alertmanager delivered MattermostDown to the webhook", func() (bool, string) {
			return hook.has("MattermostDown", "firing"), fmt.Sprintf("webhook received: %v", hook.summary())
		})
		t.Logf("Alertmanager webhook received: %v", hook.summary())
	}

	t.Logf("faults driven in %s:", time.Since(testStart).Round(time.Second))
	for _, o := range obs {
		switch {
		case o.clearNote != "":
			t.Logf("  %-70s %-50s states seen %-16s firing after %5.1fs; clear %s", o.fault, o.alert, o.states, o.fired.Seconds(), o.clearNote)
		case o.states == "":
			t.Logf("  %-70s %s", o.fault, o.alert)
		default:
			t.Logf("  %-70s %-50s states seen %-16s firing after %5.1fs, cleared %5.1fs after the fault was removed", o.fault, o.alert, o.states, o.fired.Seconds(), o.cleared.Seconds())
		}
	}
}

// promE2EHealthySignals gives the fake a healthy state for the health, license, jobs, plugins
// and SAML expiry signals: nothing to alert on, but every series present (the dashboard test
// needs data for every panel).
func promE2EHealthySignals(t *testing.T, fake *mmtest.Server) {
	t.Helper()
	fake.SetHealth(true, true)
	fake.SetLicense(promE2ELicense(365 * 24 * time.Hour))
	fake.SetJobs(promE2EJobs(mmtest.Job{}, 0))
	fake.SetPlugins(true, promE2EPlugins(nil))
	promE2ESAMLCertificate(t, fake, 365*24*time.Hour)
	promE2EIDPCertificate(t, fake, 365*24*time.Hour)
	// The exporter reads the URL from GET /config, and fetches it without the token.
	fake.SetSAMLIDPMetadataURL(fake.URL + mmtest.IDPMetadataPath)
}

// promE2ELicense is an enterprise license expiring in left (negative: expired).
func promE2ELicense(left time.Duration) *mmtest.License {
	now := time.Now()
	return &mmtest.License{SkuShortName: "enterprise", SkuName: "Enterprise", Users: 1000,
		IssuedAt: now.AddDate(-1, 0, 0), StartsAt: now.AddDate(-1, 0, 0), ExpiresAt: now.Add(left)}
}

// promE2EJobs is a successful job of each of two types, plus extra (when it has a type) as the
// newest job of its type, created age ago.
func promE2EJobs(extra mmtest.Job, age time.Duration) []mmtest.Job {
	now := time.Now()
	jobs := []mmtest.Job{
		{Type: "data_retention", Status: "success", CreateAt: now.Add(-3 * time.Hour), StartAt: now.Add(-3 * time.Hour), LastActivityAt: now.Add(-170 * time.Minute), Progress: 100},
		{Type: "ldap_sync", Status: "success", CreateAt: now.Add(-4 * time.Hour), StartAt: now.Add(-4 * time.Hour), LastActivityAt: now.Add(-230 * time.Minute), Progress: 100},
	}
	if extra.Type != "" {
		if age == 0 {
			age = time.Minute
		}
		extra.CreateAt = now.Add(-age)
		if extra.Status != "pending" {
			extra.StartAt, extra.LastActivityAt = extra.CreateAt, now
		}
		jobs = append(jobs, extra)
	}
	return jobs
}

// promE2EPlugins is two plugins on the three nodes, all running the same version, with f (when
// set) applied to calls on the third node.
func promE2EPlugins(f func(p *mmtest.PluginStatus)) []mmtest.PluginStatus {
	var out []mmtest.PluginStatus
	for _, n := range promE2EHealthyNodes() {
		out = append(out,
			mmtest.PluginStatus{PluginID: "playbooks", ClusterID: n.ID, Name: "Playbooks", Version: "2.0.1", State: 2},
			mmtest.PluginStatus{PluginID: "com.mattermost.calls", ClusterID: n.ID, Name: "Calls", Version: "1.2.0", State: 2})
	}
	if f != nil {
		f(&out[len(out)-1])
	}
	return out
}

func promE2ESAMLCertificate(t *testing.T, fake *mmtest.Server, left time.Duration) {
	t.Helper()
	if err := fake.SetSAMLCertificate(time.Now().Add(left)); err != nil {
		t.Fatal(err)
	}
}

func promE2EIDPCertificate(t *testing.T, fake *mmtest.Server, left time.Duration) {
	t.Helper()
	// A second signing certificate that expires later: the earliest counts.
	if err := fake.SetSAMLIDPCertificate(time.Now().Add(left), time.Now().Add(left+90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// promCheckAnnotations checks that Prometheus rendered the alert's annotation templates.
func promCheckAnnotations(t *testing.T, a promAlert) {
	t.Helper()
	for _, k := range []string{"summary", "description", "runbook_url"} {
		v := a.Annotations[k]
		if v == "" || strings.Contains(v, "<no value>") || strings.Contains(v, "error expanding") || strings.Contains(v, "{{") {
			t.Errorf("alert %s: annotation %s not rendered cleanly: %q", a.Labels["alertname"], k, v)
		}
	}
	if want := promRunbookBase + strings.ToLower(a.Labels["alertname"]); a.Annotations["runbook_url"] != want {
		t.Errorf("alert %s: runbook_url %q, want %q", a.Labels["alertname"], a.Annotations["runbook_url"], want)
	}
}

// promProcess is a child process killed at the end of the test.
type promProcess struct {
	cmd     *exec.Cmd
	logPath string
	once    sync.Once
}

func (p *promProcess) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
}

// promStart starts a process with exporterEnv(env...) and its output in logPath; the log tail
// is printed if the test fails, and the process is killed when the test ends.
func promStart(t *testing.T, logPath string, env []string, name string, args ...string) *promProcess {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = exporterEnv(env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &promProcess{cmd: cmd, logPath: logPath}
	t.Cleanup(func() {
		p.stop()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- tail of %s ---\n%s", filepath.Base(logPath), b)
		}
	})
	return p
}

func promStartExporter(t *testing.T, bin, mmURL, addr, logPath string) *promProcess {
	t.Helper()
	return promStart(t, logPath, []string{"MATTERMOST_TOKEN=" + mmtest.AdminToken}, bin,
		"--mattermost.url="+mmURL,
		"--web.listen-address="+addr,
		"--collector.cluster.expected-nodes="+strconv.Itoa(promE2EExpectedNodes),
		"--collector.users.refresh-interval=5s",
		// Faults must show within seconds: the cached signals are read every second.
		"--collector.health.interval=1s",
		"--collector.jobs.interval=1s",
		"--collector.analytics",
		"--collector.analytics.interval=1s",
		"--collector.saml.idp-metadata-interval=1s",
		"--log.level=debug",
	)
}

func promStartAlertmanager(t *testing.T, bin, dir, hookURL string) string {
	t.Helper()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`route:
  receiver: test
  group_by: [alertname, job, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %q
        send_resolved: true
`, hookURL)
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	promWriteFile(t, cfgPath, cfg)
	promStart(t, filepath.Join(dir, "alertmanager.log"), nil, bin,
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	promWaitHTTP(t, "http://"+addr+"/-/ready", 20*time.Second)
	return addr
}

// promStartPrometheus starts Prometheus scraping exporterAddr every second with the rules file
// rules (and alerting to amAddr unless "") like promStartPrometheusConfig.
func promStartPrometheus(t *testing.T, bin, dir, exporterAddr, rules, amAddr string) *promAPI {
	t.Helper()
	alerting := ""
	if amAddr != "" {
		alerting = fmt.Sprintf("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", amAddr)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
%sscrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, rules, alerting, promE2EJob, exporterAddr)
	return promStartPrometheusConfig(t, bin, dir, cfg)
}

// promStartPrometheusConfig starts Prometheus on a free port with the configuration cfg
// (written to dir, which also holds its data and log), waits until it is ready and returns its
// API.
func promStartPrometheusConfig(t *testing.T, bin, dir, cfg string) *promAPI {
	t.Helper()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	promWriteFile(t, cfgPath, cfg)
	promStart(t, filepath.Join(dir, "prometheus.log"), nil, bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+addr,
	)
	promWaitHTTP(t, "http://"+addr+"/-/ready", 30*time.Second)
	return &promAPI{t: t, base: "http://" + addr}
}

// promShortenedRules writes the shipped alerts.yml with every `for` set to promE2EFor and
// checks that nothing else changed.
func promShortenedRules(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile(promAlertsFile)
	if err != nil {
		t.Fatal(err)
	}
	forLine := regexp.MustCompile(`(?m)^(\s+for:\s*)\S+[ \t]*$`)
	short := forLine.ReplaceAll(src, []byte("${1}"+promE2EFor))
	path := filepath.Join(dir, "alerts.yml")
	promWriteFile(t, path, string(short))

	orig := promAlerts(promLoadRules(t, promAlertsFile))
	got := promAlerts(promLoadRules(t, path))
	if len(orig) != len(got) || len(got) == 0 {
		t.Fatalf("shortened rules have %d alerts, shipped %d", len(got), len(orig))
	}
	for i := range got {
		if got[i].For != promE2EFor {
			t.Fatalf("alert %s: for = %q after shortening", got[i].Alert, got[i].For)
		}
		o, g := orig[i], got[i]
		o.For, g.For = "", ""
		if !reflect.DeepEqual(o, g) {
			t.Fatalf("shortening changed more than `for` in %s", o.Alert)
		}
	}
	return path
}

func promWaitHTTP(t *testing.T, u string, timeout time.Duration) {
	t.Helper()
	promWaitFor(t, timeout, "GET "+u, func() (bool, string) {
		resp, err := testHTTP.Get(u)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// promWaitFor polls cond until it holds, failing the test after timeout with cond's last
// explanation.
func promWaitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promFillVariables substitutes Grafana variables ($x and ${x}) and fails on any left over.
func promFillVariables(expr string, vars map[string]string) (string, error) {
	re := regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?`)
	var missing []string
	out := re.ReplaceAllStringFunc(expr, func(m string) string {
		name := re.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for Grafana variable(s) %v in %q", missing, expr)
	}
	return out, nil
}

// promAPI queries Prometheus' HTTP API.
type promAPI struct {
	t    *testing.T
	base string
}

type promSample struct {
	Metric map[string]string
	Value  string
}

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    string            `json:"activeAt"`
	Value       string            `json:"value"`
}

func (a *promAPI) get(path string, params url.Values, v any) {
	a.t.Helper()
	u := a.base + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := testHTTP.Get(u)
	if err != nil {
		a.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("GET %s: %v", u, err)
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		a.t.Fatalf("GET %s: %v: %s", u, err, body)
	}
	if env.Status != "success" {
		a.t.Fatalf("GET %s: %s %s", u, env.Status, env.Error)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		a.t.Fatalf("GET %s: decode data: %v: %s", u, err, env.Data)
	}
}

// query runs an instant query and returns its vector (or scalar) result.
func (a *promAPI) query(q string) []promSample {
	a.t.Helper()
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	a.get("/api/v1/query", url.Values{"query": {q}}, &data)
	switch data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			a.t.Fatalf("query %q: %v", q, err)
		}
		out := make([]promSample, len(vec))
		for i, s := range vec {
			out[i] = promSample{Metric: s.Metric, Value: fmt.Sprint(s.Value[1])}
		}
		return out
	case "scalar":
		var sc [2]any
		if err := json.Unmarshal(data.Result, &sc); err != nil {
			a.t.Fatalf("query %q: %v", q, err)
		}
		return []promSample{{Value: fmt.Sprint(sc[1])}}
	default:
		a.t.Fatalf("query %q: unexpected result type %q", q, data.ResultType)
		return nil
	}
}

// alerts returns the active (pending or firing) alerts.
func (a *promAPI) alerts() []promAlert {
	a.t.Helper()
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	a.get("/api/v1/alerts", nil, &data)
	return data.Alerts
}

// waitQuiet waits until no alert is active for three evaluation intervals in a row.
func (a *promAPI) waitQuiet(timeout time.Duration) {
	a.t.Helper()
	quietSince := time.Time{}
	promWaitFor(a.t, timeout, "no active alert", func() (bool, string) {
		active := a.alerts()
		if len(active) > 0 {
			quietSince = time.Time{}
			return false, "active: " + promAlertList(active)
		}
		if quietSince.IsZero() {
			quietSince = time.Now()
		}
		return time.Since(quietSince) >= 3*time.Second, "quiet for less than 3s"
	})
}

func promMatchAlerts(active []promAlert, name string, labels map[string]string) []promAlert {
	var out []promAlert
	for _, a := range active {
		if a.Labels["alertname"] != name {
			continue
		}
		ok := true
		for k, v := range labels {
			if a.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

func promAlertList(active []promAlert) string {
	if len(active) == 0 {
		return "none"
	}
	var parts []string
	for _, a := range active {
		var ls []string
		for k, v := range a.Labels {
			if k != "alertname" && k != "severity" && k != "job" {
				ls = append(ls, k+"="+v)
			}
		}
		sort.Strings(ls)
		parts = append(parts, fmt.Sprintf("%s{%s}=%s", a.Labels["alertname"], strings.Join(ls, ","), a.State))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func promStates(seen map[string]bool) string {
	var s []string
	for _, st := range []string{"pending", "firing"} {
		if seen[st] {
			s = append(s, st)
		}
	}
	return strings.Join(s, "->")
}

// promWebhook is an Alertmanager webhook receiver.
type promWebhook struct {
	mu       sync.Mutex
	received []string // "alertname status"
}

func (h *promWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	for _, a := range msg.Alerts {
		h.received = append(h.received, a.Labels["alertname"]+" "+a.Status)
	}
	h.mu.Unlock()
}

func (h *promWebhook) has(alert, status string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.received {
		if r == alert+" "+status {
			return true
		}
	}
	return false
}

func (h *promWebhook) summary() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, r := range h.received {
		out[r]++
	}
	return out
}
