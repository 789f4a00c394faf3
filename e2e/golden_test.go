package e2e

// End-to-end tests of the exporter binary against the in-process fake
// Mattermost (package mmtest): the /metrics exposition is compared with
// testdata/metrics.golden against a fake 5.37 and with
// testdata/metrics-era11.golden against a fake 11.2 (go test ./e2e -run
// TestGolden -update rewrites them), linted with promlint and, when installed, `promtool check metrics`;
// a second test runs with a non-admin token and checks the log lines.
// Helpers here start with "golden" so they cannot collide with the other
// tests of this package.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"golang.org/x/crypto/bcrypt"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var goldenUpdate = flag.Bool("update", false, "rewrite testdata/metrics*.golden from the exporter's output")

// Golden files: one per era of the fake (the outputs differ in
// mattermost_server_info).
const (
	goldenPath      = "testdata/metrics.golden"
	goldenPathEra11 = "testdata/metrics-era11.golden"
)

// goldenConfig is the fixed, deterministic state of the fake behind the
// golden file: three nodes (one the cluster cannot reach), the IdP and
// public SAML certificates but no private key, SAML enabled, 500 generated
// users, and rate-limit headers on every answer; a 5.37 server.
func goldenConfig() mmtest.Config { return goldenConfigEra(mmtest.Era537) }

// goldenConfigEra is goldenConfig for a server of era e.
func goldenConfigEra(e mmtest.Era) mmtest.Config {
	return mmtest.Config{
		Era: e,
		Nodes: []mmtest.Node{
			{ID: "n1aaaaaaaaaaaaaaaaaaaaaaaa", Hostname: "mm-app-1", IPAddress: "10.0.0.11", Version: "10.5.2", SchemaVersion: "130", ConfigHash: "0123456789abcdef0123456789abcdef"},
			{ID: "n2bbbbbbbbbbbbbbbbbbbbbbbb", Hostname: "mm-app-2", IPAddress: "10.0.0.12", Version: "10.5.2", SchemaVersion: "130", ConfigHash: "0123456789abcdef0123456789abcdef"},
			{ID: "n3cccccccccccccccccccccccc"},
		},
		SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: false,
		SAMLEnabled: true,
		Users:       mmtest.GenerateUsers(500, 1),
		RateLimit:   &mmtest.RateLimit{PerSec: 100000, Burst: 100000},
	}
}

// goldenExporter is a running exporter process.
type goldenExporter struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed
	stopped bool          // stop or kill was called (test goroutine only)
}

// goldenStartExporter builds the exporter and runs it against mmURL with
// token (through MATTERMOST_TOKEN) on a free 127.0.0.1 port. It is stopped
// (SIGTERM, then kill) when the test ends.
func goldenStartExporter(t *testing.T, mmURL, token string, args ...string) *goldenExporter {
	t.Helper()
	return goldenRun(t, exporterBinary(t), mmURL, token, args...)
}

// goldenRun runs the exporter binary bin like goldenStartExporter.
// An empty token leaves MATTERMOST_TOKEN unset (for --mattermost.token-file).
func goldenRun(t *testing.T, bin, mmURL, token string, args ...string) *goldenExporter {
	t.Helper()
	var env []string
	if token != "" {
		env = append(env, "MATTERMOST_TOKEN="+token)
	}
	return goldenExec(t, bin, exporterEnv(env...), append([]string{"--mattermost.url=" + mmURL}, args...))
}

// goldenExec runs bin with args and env on a free 127.0.0.1 port
// (--web.listen-address), its output in a log file; it is stopped (SIGTERM,
// then kill) when the test ends unless killed before, and the tail of its
// log shown if the test failed.
func goldenExec(t *testing.T, bin string, env, args []string) *goldenExporter {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "exporter.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, append([]string{"--web.listen-address=" + addr}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &goldenExporter{cmd: cmd, addr: addr, logPath: logPath, done: make(chan struct{})}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.done)
	}()
	t.Cleanup(func() {
		if err := e.stop(10 * time.Second); err != nil {
			t.Errorf("stopping the exporter: %v", err)
		}
		if t.Failed() {
			t.Logf("exporter log tail:\n%s", logTail(logPath, 8000))
		}
	})
	return e
}

// stop sends SIGTERM and waits for a clean exit; it kills the process if it
// does not exit in time.
func (e *goldenExporter) stop(wait time.Duration) error {
	if e.stopped {
		return nil
	}
	e.stopped = true
	select {
	case <-e.done:
		return fmt.Errorf("exited before the end of the test: %v", e.waitErr)
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
		return e.waitErr
	case <-time.After(wait):
		_ = e.cmd.Process.Kill()
		<-e.done
		return fmt.Errorf("no exit %v after SIGTERM: killed", wait)
	}
}

// kill sends SIGKILL and waits for the process to be gone: a crash at any
// instant, where stop lets the exporter finish cleanly. The end of the test
// then leaves it be.
func (e *goldenExporter) kill() {
	e.stopped = true
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	<-e.done
}

// exited reports whether the process has exited.
func (e *goldenExporter) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func (e *goldenExporter) log(t *testing.T) string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scrape GETs /metrics like Prometheus does.
func (e *goldenExporter) scrape(t *testing.T) string {
	t.Helper()
	return mustScrape(t, "http://"+e.addr+"/metrics")
}

// waitUsersReady polls /metrics until the users collector has its first
// id-cache refresh (success 1).
func (e *goldenExporter) waitUsersReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			t.Fatalf("exporter exited: %v\n%s", e.waitErr, e.log(t))
		default:
		}
		body, err := scrapeText("http://" + e.addr + "/metrics")
		if err != nil {
			last = err.Error()
		} else if last = body; strings.Contains(body, `mattermost_exporter_collector_success{collector="users"} 1`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("users collector not ready after 60s; last scrape:\n%s\nlog:\n%s", last, e.log(t))
}

func TestGoldenExposition(t *testing.T) {
	for _, tc := range []struct {
		era  mmtest.Era
		path string
	}{
		{mmtest.Era537, goldenPath},
		{mmtest.Era11, goldenPathEra11},
	} {
		t.Run("era="+tc.era.String(), func(t *testing.T) { goldenExposition(t, tc.era, tc.path) })
	}
}

// goldenWithoutFamily returns an exposition without the lines of family.
func goldenWithoutFamily(exposition, family string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(exposition, "\n") {
		if strings.HasPrefix(line, "# HELP "+family+" ") || strings.HasPrefix(line, "# TYPE "+family+" ") ||
			strings.HasPrefix(line, family+"{") || strings.HasPrefix(line, family+" ") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func goldenExposition(t *testing.T, era mmtest.Era, path string) {
	fake := mmtest.NewServer(goldenConfigEra(era))
	t.Cleanup(fake.Close)
	goldenSignals(t, fake)
	// One page in flight: with several, whether a page past the end was
	// already asked for when the short page came back is a matter of
	// timing, and mattermost_exporter_users_refresh_requests with it.
	exp := goldenStartExporter(t, fake.URL, mmtest.AdminToken, "--collector.cluster.expected-nodes=3", "--collector.users.walk-concurrency=1")
	exp.waitUsersReady(t)

	raw := exp.scrape(t)
	got := goldenNormalize(raw)
	// Both eras' X-Version-Id parse: a missing mattermost_server_info is
	// a regression (11.x sends a 64-hex config hash where 5.37 sent 32),
	// never a known difference, and -update does not record it.
	if !strings.Contains(got, "\nmattermost_server_info{") {
		t.Errorf("era %s: no mattermost_server_info: the exporter did not parse the fake's X-Version-Id", era)
	}
	if *goldenUpdate && !t.Failed() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -run TestGoldenExposition -update)", err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (-want +got):\n%s", path, goldenDiff(string(want), got))
	}

	// The whole raw exposition, go_ and process_ included, is lint-clean.
	problems, err := promlint.New(strings.NewReader(raw)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	goldenPromtool(t, raw)

	// The token never shows, neither on /metrics nor on the landing page
	// nor in the log.
	landing := mustScrape(t, "http://"+exp.addr+"/")
	if !strings.Contains(landing, `href="/metrics"`) {
		t.Errorf("landing page does not link to metrics:\n%s", landing)
	}
	for where, text := range map[string]string{"/metrics": raw, "/": landing, "log": exp.log(t)} {
		if strings.Contains(text, mmtest.AdminToken) {
			t.Errorf("the token appears in %s", where)
		}
	}
	if log := exp.log(t); !strings.Contains(log, "token_source=\"environment variable MATTERMOST_TOKEN\"") {
		t.Errorf("the log does not say where the token came from:\n%s", log)
	}

	// The IdP metadata, on the fake's host, never got the token.
	if n := fake.IDPMetadataAuthorizationSeen(); n != 0 {
		t.Errorf("%d IdP metadata requests carried an Authorization header", n)
	}
	if n := fake.Requests(mmtest.EndpointIDPMetadata); n != 1 {
		t.Errorf("IdP metadata requests = %d, want 1", n)
	}

	// SIGTERM stops it cleanly.
	if err := exp.stop(10 * time.Second); err != nil {
		t.Errorf("shutdown on SIGTERM: %v", err)
	}
}

// goldenSignals gives the fake of the golden exposition a license, jobs,
// plugins (one with version skew) and SAML certificates, so that the
// golden file holds the series of every default collector. Nothing is
// pending (a pending job's age would change between runs).
func goldenSignals(t *testing.T, fake *mmtest.Server) {
	t.Helper()
	now := time.Now()
	fake.SetLicense(&mmtest.License{SkuShortName: "enterprise", SkuName: "Enterprise", Users: 500,
		StartsAt: now.AddDate(-1, 0, 0), ExpiresAt: now.AddDate(0, 6, 0)})
	fake.SetJobs([]mmtest.Job{
		{Type: "ldap_sync", Status: "success", CreateAt: now.Add(-2 * time.Hour), StartAt: now.Add(-2 * time.Hour), LastActivityAt: now.Add(-time.Hour), Progress: 100},
		{Type: "ldap_sync", Status: "error", CreateAt: now.Add(-time.Hour), StartAt: now.Add(-time.Hour), LastActivityAt: now.Add(-time.Hour)},
		{Type: "data_retention", Status: "success", CreateAt: now.Add(-3 * time.Hour), StartAt: now.Add(-3 * time.Hour), LastActivityAt: now.Add(-3 * time.Hour), Progress: 100},
	})
	fake.SetPlugins(true, []mmtest.PluginStatus{
		{PluginID: "playbooks", ClusterID: "n1", Name: "Playbooks", Version: "2.0.1", State: 2},
		{PluginID: "playbooks", ClusterID: "n2", Name: "Playbooks", Version: "2.0.1", State: 2},
		{PluginID: "com.mattermost.calls", ClusterID: "n1", Name: "Calls", Version: "1.2.0", State: 2},
		{PluginID: "com.mattermost.calls", ClusterID: "n2", Name: "Calls", Version: "1.1.0", State: 4, Error: "plugin crashed"},
	})
	if err := fake.SetSAMLCertificate(now.AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetSAMLIDPCertificate(now.AddDate(1, 0, 0), now.AddDate(0, 2, 0)); err != nil {
		t.Fatal(err)
	}
	fake.SetSAMLIDPMetadataURL(fake.URL + mmtest.IDPMetadataPath)
}

// With a non-admin token, cluster and SAML report success 0 with exactly
// one log line each per scrape; user counts still appear.
func TestGoldenNonAdminToken(t *testing.T) {
	fake := mmtest.NewServer(goldenConfig())
	t.Cleanup(fake.Close)
	exp := goldenStartExporter(t, fake.URL, mmtest.UserToken)
	exp.waitUsersReady(t)

	before := len(exp.log(t))
	body := exp.scrape(t)
	logs := exp.log(t)[before:]

	for _, want := range []string{
		"mattermost_up 1",
		`mattermost_exporter_collector_success{collector="cluster"} 0`,
		`mattermost_exporter_collector_success{collector="saml"} 0`,
		`mattermost_exporter_collector_success{collector="users"} 1`,
		"mattermost_saml_enabled 1",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, absent := range []string{"mattermost_cluster_nodes ", "mattermost_saml_certificate_present{"} {
		if strings.Contains(body, absent) {
			t.Errorf("scrape has %q although the token may not read it", absent)
		}
	}
	users := regexp.MustCompile(`(?m)^mattermost_users\{status="(online|away|dnd|offline|ooo)"\} \d+$`).FindAllString(body, -1)
	if len(users) != 5 {
		t.Errorf("mattermost_users series = %d, want 5:\n%s", len(users), body)
	}
	for _, c := range []struct{ collector, role string }{
		{"cluster", "system_admin role (or system_read_only_admin/system_manager) for /cluster/status"},
		{"saml", "system_admin role for /saml/certificate/status"},
	} {
		var lines []string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "collector="+c.collector) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			t.Errorf("%s: %d log lines for one scrape, want 1:\n%s", c.collector, len(lines), strings.Join(lines, "\n"))
			continue
		}
		for _, want := range []string{"level=error", "permission denied", c.role, "HTTP 403"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("%s log line lacks %q: %s", c.collector, want, lines[0])
			}
		}
	}
	if strings.Contains(exp.log(t), mmtest.UserToken) {
		t.Error("the token appears in the log")
	}
}

// goldenVolatileValue names the families whose values change from run to
// run (or with the number of scrapes the test made while waiting); their
// series are kept, with the value replaced by NaN.
func goldenVolatileValue(name string) bool {
	switch name {
	case "mattermost_exporter_api_requests_total",
		"mattermost_exporter_ratelimit_remaining",
		"mattermost_exporter_users_sweeps_total":
		return true
	}
	return strings.HasSuffix(name, "_timestamp_seconds") || strings.HasSuffix(name, "_duration_seconds")
}

// goldenDropped names the families left out entirely: Go runtime, process
// and promhttp metrics vary with the machine.
func goldenDropped(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_")
}

var goldenSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$`)

// goldenNormalize drops machine-dependent families, masks volatile values
// and build labels, and prefixes a comment saying so.
func goldenNormalize(raw string) string {
	var b strings.Builder
	b.WriteString("# Normalized /metrics of the exporter against the fake Mattermost of e2e/golden_test.go.\n")
	b.WriteString("# go_, process_ and promhttp_ families are left out; values of durations, timestamps,\n")
	b.WriteString("# API request counters, the rate-limit budget and the sweep counter are replaced by NaN,\n")
	b.WriteString("# and build_info label values by \"masked\". Regenerate: go test ./e2e -run TestGoldenExposition -update\n")
	for _, line := range strings.Split(strings.TrimRight(raw, "\n"), "\n") {
		var name string
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			name = strings.Fields(line)[2]
			if goldenDropped(name) {
				continue
			}
			b.WriteString(line + "\n")
			continue
		}
		m := goldenSample.FindStringSubmatch(line)
		if m == nil {
			b.WriteString(line + "\n")
			continue
		}
		name = m[1]
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		switch {
		case goldenDropped(family) || goldenDropped(name):
			continue
		case name == "mattermost_exporter_build_info":
			line = name + regexp.MustCompile(`="[^"]*"`).ReplaceAllString(m[2], `="masked"`) + " " + m[3]
		case goldenVolatileValue(name) || goldenVolatileValue(family):
			line = name + m[2] + " NaN"
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// goldenPromtool runs `promtool check metrics` on the exposition when
// promtool is installed (required when CI is set to any non-empty value).
func goldenPromtool(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if promCI() {
			t.Fatal("promtool not found in PATH (CI is set): install it with scripts/install-prometheus.sh")
		}
		t.Log("promtool not found in PATH: `promtool check metrics` skipped (scripts/install-prometheus.sh installs it)")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// goldenDiff lists the lines only in want (-) or only in got (+).
func goldenDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var out []string
	for l, n := range w {
		if g[l] < n {
			out = append(out, "- "+l)
		}
	}
	for l, n := range g {
		if w[l] < n {
			out = append(out, "+ "+l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][2:] < out[j][2:] || (out[i][2:] == out[j][2:] && out[i] < out[j]) })
	if len(out) == 0 {
		return "(same lines, different order)"
	}
	return strings.Join(out, "\n")
}

// The TLS options reach the client: the fake's self-signed certificate is
// refused by default, accepted with --mattermost.tls.ca-file, and accepted
// with a warning with --mattermost.tls.insecure-skip-verify.
func TestGoldenTLSOptions(t *testing.T) {
	fake := mmtest.NewTLSServer(mmtest.Config{})
	t.Cleanup(fake.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, fake.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := exporterBinary(t)
	tests := []struct {
		name    string
		args    []string
		up      string
		wantLog string
	}{
		{"system roots only", nil, "0", "certificate"},
		{"CA file", []string{"--mattermost.tls.ca-file=" + caFile}, "1", ""},
		{"insecure skip verify", []string{"--mattermost.tls.insecure-skip-verify"}, "1", "level=warn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := goldenRun(t, bin, fake.URL, mmtest.AdminToken, append([]string{"--no-collector.users"}, tc.args...)...)
			goldenWaitListening(t, exp)
			body := exp.scrape(t)
			if !strings.Contains(body, "\nmattermost_up "+tc.up+"\n") {
				t.Errorf("want mattermost_up %s:\n%s", tc.up, body)
			}
			if tc.wantLog != "" && !strings.Contains(exp.log(t), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, exp.log(t))
			}
		})
	}
}

// goldenWaitListening waits until the exporter answers on its address.
func goldenWaitListening(t *testing.T, e *goldenExporter) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			t.Fatalf("exporter exited: %v\n%s", e.waitErr, e.log(t))
		default:
		}
		if resp, err := testHTTP.Get("http://" + e.addr + "/"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("exporter not listening after 30s:\n%s", e.log(t))
}

// --web.disable-exporter-metrics drops go_, process_ and promhttp_ but not
// the exporter's own mattermost_exporter_ metrics; --web.telemetry-path
// moves /metrics and the landing page follows.
func TestGoldenWebFlags(t *testing.T) {
	fake := mmtest.NewServer(mmtest.Config{})
	t.Cleanup(fake.Close)
	exp := goldenStartExporter(t, fake.URL, mmtest.AdminToken,
		"--no-collector.users", "--web.disable-exporter-metrics", "--web.telemetry-path=/custom-metrics")
	goldenWaitListening(t, exp)
	body := mustScrape(t, "http://"+exp.addr+"/custom-metrics")
	for _, want := range []string{"\nmattermost_up 1\n", "\nmattermost_exporter_build_info{", "\nmattermost_exporter_api_requests_total{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/custom-metrics lacks %q", strings.TrimSpace(want))
		}
	}
	for _, prefix := range []string{"go_", "process_", "promhttp_"} {
		if regexp.MustCompile(`(?m)^` + prefix).MatchString(body) {
			t.Errorf("%s metrics exposed despite --web.disable-exporter-metrics", prefix)
		}
	}
	if landing := mustScrape(t, "http://"+exp.addr+"/"); !strings.Contains(landing, `href="/custom-metrics"`) {
		t.Errorf("landing page does not link to /custom-metrics:\n%s", landing)
	}
	resp, err := testHTTP.Get("http://" + exp.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics: HTTP %d, want 404 with another telemetry path", resp.StatusCode)
	}
}

// A listen address in use stops the exporter with exit code 1.
func TestGoldenListenAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bin := exporterBinary(t)
	cmd := exec.Command(bin, "--mattermost.url=http://127.0.0.1:1", "--no-collector.users", "--web.listen-address="+l.Addr().String())
	cmd.Env = exporterEnv("MATTERMOST_TOKEN=x")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "address already in use") {
		t.Errorf("output does not say the address is in use:\n%s", out)
	}
}

// --web.config.file (exporter-toolkit) protects /metrics with basic auth.
func TestGoldenWebConfigBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(cfg, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := mmtest.NewServer(mmtest.Config{})
	t.Cleanup(fake.Close)
	exp := goldenStartExporter(t, fake.URL, mmtest.AdminToken, "--no-collector.users", "--web.config.file="+cfg)
	goldenWaitListening(t, exp)
	for _, tc := range []struct {
		user, pass string
		code       int
	}{
		{"", "", http.StatusUnauthorized},
		{"prometheus", "wrong", http.StatusUnauthorized},
		{"prometheus", "s3cret-pass", http.StatusOK},
	} {
		req, err := http.NewRequest("GET", "http://"+exp.addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("user %q: HTTP %d, want %d", tc.user, resp.StatusCode, tc.code)
		}
		if tc.code == http.StatusOK && !strings.Contains(string(body), "\nmattermost_up 1\n") {
			t.Errorf("authorized scrape lacks mattermost_up 1:\n%s", body)
		}
	}
}

// SIGTERM while a scrape is waiting for a slow Mattermost: the scrape still
// gets its full answer (the users sweep it may wait on is not cancelled
// under it), and the exporter exits 0 once it is served.
func TestGoldenSIGTERMDuringSlowScrape(t *testing.T) {
	fake := mmtest.NewServer(goldenConfig())
	t.Cleanup(fake.Close)
	exp := goldenStartExporter(t, fake.URL, mmtest.AdminToken, "--mattermost.timeout=30s")
	exp.waitUsersReady(t)
	// Longer than the old fixed 5 s shutdown grace; well inside this
	// scrape's deadline and the grace (--mattermost.timeout).
	fake.SetFault(mmtest.EndpointClusterStatus, mmtest.Fault{Delay: 7 * time.Second, Times: 1})
	before := fake.Requests(mmtest.EndpointClusterStatus)

	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, err := http.NewRequest("GET", "http://"+exp.addr+"/metrics", nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "25")
		resp, err := testHTTP.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{body: string(b), err: err}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for fake.Requests(mmtest.EndpointClusterStatus) == before {
		if time.Now().After(deadline) {
			t.Fatal("the scrape never reached /cluster/status")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := exp.stop(40 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM during a scrape: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("the scrape in flight at SIGTERM failed: %v", r.err)
	}
	for _, want := range []string{
		`mattermost_exporter_collector_success{collector="cluster"} 1`,
		`mattermost_exporter_collector_success{collector="users"} 1`,
		`mattermost_up 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the scrape in flight at SIGTERM lacks %s:\n%s", want, r.body)
		}
	}
}
