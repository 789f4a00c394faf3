package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func defaults() options {
	return options{listen: "127.0.0.1:0", users: 200, seed: 1, nodes: 3, saml: "idp,public,private",
		samlEnabled: true, latency: "none", era: "5.37"}
}

func TestBuildConfig(t *testing.T) {
	cfg, err := buildConfig(defaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 200 || len(cfg.Nodes) != 3 || !cfg.SAMLIDP || !cfg.SAMLPublic || !cfg.SAMLPrivateKey ||
		!cfg.SAMLEnabled || cfg.Latency != nil || cfg.RateLimit != nil {
		t.Errorf("default config: %+v", cfg)
	}
	for _, n := range cfg.Nodes {
		if n.Version != "5.37.0" || n.ConfigHash != cfg.Nodes[0].ConfigHash {
			t.Errorf("demo cluster is not uniform: %+v", cfg.Nodes)
		}
	}

	o := defaults()
	o.saml, o.latency, o.rateLimit, o.nodes, o.skewed, o.unreachable = "idp", "realistic", "10:100", 4, 1, 1
	cfg, err = buildConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.SAMLIDP || cfg.SAMLPublic || cfg.SAMLPrivateKey || cfg.Latency == nil ||
		cfg.RateLimit == nil || cfg.RateLimit.PerSec != 10 || cfg.RateLimit.Burst != 100 {
		t.Errorf("custom config: %+v", cfg)
	}
	if cfg.Nodes[3].Version != "" || cfg.Nodes[2].Version == cfg.Nodes[0].Version {
		t.Errorf("skewed/unreachable nodes: %+v", cfg.Nodes)
	}
	o = defaults()
	o.saml = "none"
	if cfg, err := buildConfig(o); err != nil || cfg.SAMLIDP || cfg.SAMLPublic || cfg.SAMLPrivateKey {
		t.Errorf("--saml none: %+v %v", cfg, err)
	}

	for name, mod := range map[string]func(*options){
		"bad saml":        func(o *options) { o.saml = "idp,bogus" },
		"bad rate limit":  func(o *options) { o.rateLimit = "fast" },
		"zero rate":       func(o *options) { o.rateLimit = "0:10" },
		"too many skewed": func(o *options) { o.skewed, o.unreachable = 2, 2 },
		"negative users":  func(o *options) { o.users = -1 },
	} {
		o := defaults()
		mod(&o)
		if _, err := buildConfig(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, defaults(), log.NewNopLogger(), pw) }()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read startup line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`^fake-mattermost listening url=(http://127\.0\.0\.1:\d+) admin_token=fake-admin-token user_token=fake-user-token users=200 nodes=3 era=5\.37\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q", line)
	}
	req, _ := http.NewRequest("GET", m[1]+"/api/v4/cluster/status", nil)
	req.Header.Set("Authorization", "Bearer "+mmtest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []map[string]string
	err = json.NewDecoder(resp.Body).Decode(&nodes)
	resp.Body.Close()
	if err != nil || len(nodes) != 3 || !strings.HasPrefix(nodes[0]["hostname"], "mm-app-") {
		t.Errorf("cluster status: %v %v", nodes, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

func TestRunFailsOnBadConfig(t *testing.T) {
	o := defaults()
	o.rateLimit = "x"
	if err := run(context.Background(), o, log.NewNopLogger(), io.Discard); err == nil || !strings.Contains(err.Error(), "rate-limit") {
		t.Errorf("run with bad config: %v", err)
	}
}

func TestEraFlag(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		era         mmtest.Era
		maxPayload  int64
		nodeVersion string
	}{
		{nil, mmtest.Era537, 0, "5.37.0"},
		{[]string{"--era=5.37"}, mmtest.Era537, 0, "5.37.0"},
		{[]string{"--era", "11"}, mmtest.Era11, 0, "11.2.0"},
		{[]string{"--era=11", "--max-payload-bytes=1000"}, mmtest.Era11, 1000, "11.2.0"},
	} {
		var o options
		if _, err := newApp(&o).Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		o.users = 10
		cfg, err := buildConfig(o)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if cfg.Era != tc.era || cfg.MaximumPayloadSizeBytes != tc.maxPayload || cfg.Version != "" || cfg.Nodes[0].Version != tc.nodeVersion {
			t.Errorf("%v: era %v, max payload %d, version %q, node version %q", tc.args, cfg.Era, cfg.MaximumPayloadSizeBytes, cfg.Version, cfg.Nodes[0].Version)
		}
	}
	var o options
	if _, err := newApp(&o).Parse([]string{"--era=10"}); err == nil {
		t.Error("--era=10 accepted")
	}
	o = defaults()
	o.era = "9.11"
	if _, err := buildConfig(o); err == nil || !strings.Contains(err.Error(), "--era") {
		t.Errorf("buildConfig with era 9.11: %v", err)
	}
}

func TestRunEra11(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	o := defaults()
	o.era = "11"
	go func() { done <- run(ctx, o, log.NewNopLogger(), pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read startup line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`^fake-mattermost listening url=(http://127\.0\.0\.1:\d+) .* era=11\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("startup line %q", line)
	}
	resp, err := http.Get(m[1] + "/api/v4/system/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Version-Id"); got != mmtest.DefaultVersion11 {
		t.Errorf("X-Version-Id %q, want %q", got, mmtest.DefaultVersion11)
	}
	// 11.x refuses a status list over 300,000 + 512 bytes with 413.
	var ids bytes.Buffer
	ids.WriteByte('[')
	for i := 0; i < 10363; i++ {
		if i > 0 {
			ids.WriteByte(',')
		}
		fmt.Fprintf(&ids, "%q", fmt.Sprintf("%026d", i))
	}
	ids.WriteByte(']')
	req, _ := http.NewRequest("POST", m[1]+"/api/v4/users/status/ids", &ids)
	req.Header.Set("Authorization", "Bearer "+mmtest.AdminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var appErr struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&appErr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || appErr.ID != "api.context.request_body_too_large.app_error" {
		t.Errorf("10363 ids: HTTP %d %q", resp.StatusCode, appErr.ID)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

// The signal flags drive the fake's health, license, jobs, plugins and SAML
// certificates, as the exporter's client sees them.
func TestSignalFlags(t *testing.T) {
	var o options
	app := newApp(&o)
	if _, err := app.Parse([]string{"--unhealthy=database", "--license-expires-in=-1h", "--jobs=stuck", "--plugins=skew",
		"--saml-certificate-expires-in=72h", "--saml-idp-certificate-expires-in=480h", "--nodes=2"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := buildConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	fake := mmtest.Start(t, cfg)
	now := time.Now().Truncate(time.Second)
	if err := applySignals(fake, o, fake.URL, now); err != nil {
		t.Fatal(err)
	}
	c, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	h, err := c.GetServerHealth(ctx)
	if err != nil || h.DatabaseStatus != mmclient.HealthUnhealthy || h.FilestoreStatus != mmclient.HealthOK {
		t.Errorf("health %+v, %v", h, err)
	}
	l, err := c.GetClientLicense(ctx)
	if err != nil || !l.IsLicensed || !l.ExpiresAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("license %+v, %v", l, err)
	}
	jobs, err := c.GetJobs(ctx, 200)
	if err != nil || len(jobs) != 3 || jobs[0].Type != "ldap_sync" || jobs[0].Status != mmclient.JobStatusPending {
		t.Errorf("jobs %+v, %v", jobs, err)
	}
	ps, err := c.GetPluginStatuses(ctx)
	versions := map[string]bool{}
	for _, p := range ps {
		if p.PluginID == "com.mattermost.calls" {
			versions[p.Version] = true
		}
	}
	if err != nil || len(ps) != 4 || len(versions) != 2 {
		t.Errorf("plugins %+v, %v", ps, err)
	}
	if md, err := c.GetSAMLMetadata(ctx); err != nil || !bytes.Contains(md, []byte("X509Certificate")) {
		t.Errorf("SAML metadata %q, %v", md, err)
	}
	u, err := c.GetSAMLIDPMetadataURL(ctx)
	if err != nil || u != fake.URL+mmtest.IDPMetadataPath {
		t.Fatalf("IdP metadata URL %q, %v", u, err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("IdP metadata: HTTP %d", resp.StatusCode)
	}

	// The defaults change nothing: no license, no jobs, plugins disabled, SAML not configured.
	fake2 := mmtest.Start(t, cfg)
	if err := applySignals(fake2, defaults(), fake2.URL, now); err != nil {
		t.Fatal(err)
	}
	c2, err := mmclient.New(mmclient.Options{BaseURL: fake2.URL, Token: mmtest.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.GetPluginStatuses(ctx); !mmclient.IsPluginsDisabled(err) {
		t.Errorf("default plugins: %v", err)
	}
	if _, err := c2.GetSAMLMetadata(ctx); !mmclient.IsSAMLNotConfigured(err) {
		t.Errorf("default SAML metadata: %v", err)
	}
	if jobs, err := c2.GetJobs(ctx, 10); err != nil || len(jobs) != 0 {
		t.Errorf("default jobs %v, %v", jobs, err)
	}

	bad := defaults()
	bad.unhealthy = "disk"
	if err := applySignals(fake2, bad, fake2.URL, now); err == nil {
		t.Error("--unhealthy=disk accepted")
	}
}
