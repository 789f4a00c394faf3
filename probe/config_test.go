package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"

	"github.com/mmexporter/mattermost_exporter/collector"
)

func TestParseErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token("a", "secret-token-value")
	missing := filepath.Join(e.dir, "missing.token")
	target := func(name string, extra ...string) string {
		s := "  - name: " + name + "\n    url: https://chat.example.com\n    token_file: " + tok + "\n"
		for _, x := range extra {
			s += "    " + x + "\n"
		}
		return s
	}
	cases := []struct {
		name, body string
		want       []string // substrings of the one error line
	}{
		{"empty file", "", []string{"empty", "targets"}},
		{"two documents", "targets: []\n---\ntargets: []\n", []string{"more than one YAML document"}},
		{"no targets", "targets: []\n", []string{"no target"}},
		{"unknown top-level key", "target:\n" + target("prod"), []string{"field target not found"}},
		{"unknown key in a target", "targets:\n" + target("prod", "tokn_file: /x"), []string{`target "prod"`, "tokn_file"}},
		{"unknown nested key", "targets:\n" + target("prod", "tls: {ca: /x}"), []string{`target "prod"`, "field ca not found"}},
		{"inline token", "targets:\n" + target("prod", "token: abc"), []string{`target "prod"`, "field token not found", "token_file"}},
		{"duplicate name", "targets:\n" + target("prod") + target("prod"), []string{`target "prod"`, "name", "duplicate", "targets[0]"}},
		{"missing token file", "targets:\n  - name: prod\n    url: https://chat.example.com\n    token_file: " + missing + "\n", []string{`target "prod"`, "token_file", "missing.token"}},
		{"no token file key", "targets:\n  - name: prod\n    url: https://chat.example.com\n", []string{`target "prod"`, "token_file: missing"}},
		{"missing name", "targets:\n  - url: https://chat.example.com\n    token_file: " + tok + "\n", []string{"targets[0]", "name: missing"}},
		{"bad name", "targets:\n" + target("'a b'"), []string{"targets[0]", "name", `"a b"`}},
		{"name with slash", "targets:\n" + target("a/b"), []string{"targets[0]", "name"}},
		{"missing url", "targets:\n  - name: prod\n    token_file: " + tok + "\n", []string{`target "prod"`, "url"}},
		{"url with query", "targets:\n  - name: prod\n    url: https://chat.example.com/?x=1\n    token_file: " + tok + "\n", []string{`target "prod"`, "url"}},
		{"module and collectors", "modules:\n  m: {collectors: [cluster]}\ntargets:\n" + target("prod", "module: m", "collectors: [saml]"), []string{`target "prod"`, "module and collectors"}},
		{"unknown module", "targets:\n" + target("prod", "module: nope"), []string{`target "prod"`, "module", `"nope"`}},
		{"unknown collector", "targets:\n" + target("prod", "collectors: [cluster, nope]"), []string{`target "prod"`, "collectors", `"nope"`}},
		{"collector twice", "targets:\n" + target("prod", "collectors: [saml, saml]"), []string{`target "prod"`, "twice"}},
		{"empty collectors", "targets:\n" + target("prod", "collectors: []"), []string{`target "prod"`, "collectors", "empty"}},
		{"unknown collector in module", "modules:\n  m: {collectors: [nope]}\ntargets:\n" + target("prod", "module: m"), []string{`module "m"`, `"nope"`}},
		{"negative expected nodes", "targets:\n" + target("prod", "cluster: {expected_nodes: -1}"), []string{`target "prod"`, "expected_nodes"}},
		{"zero max nodes", "targets:\n" + target("prod", "cluster: {max_nodes: 0}"), []string{`target "prod"`, "max_nodes"}},
		{"bad refresh interval", "targets:\n" + target("prod", "users: {refresh_interval: soon}"), []string{`target "prod"`, "soon"}},
		{"zero refresh interval", "targets:\n" + target("prod", "users: {refresh_interval: 0s}"), []string{`target "prod"`, "refresh_interval"}},
		{"mistyped bool", "targets:\n" + target("prod", "users: {include_bots: maybe}"), []string{`target "prod"`, "maybe"}},
		{"zero batch size", "targets:\n" + target("prod", "users: {batch_size: 0}"), []string{`target "prod"`, "users: batch_size: must be between 1 and 10000, got 0"}},
		{"zero concurrency", "targets:\n" + target("prod", "users: {concurrency: 0}"), []string{`target "prod"`, "users: concurrency: must be at least 1"}},
		{"relative cache file", "targets:\n" + target("prod", "users: {cache_file: prod.ids}"), []string{`target "prod"`, "cache_file", "absolute"}},
		{"cache file of another server", "targets:\n" + target("prod", "users: {cache_file: /var/lib/x.ids}") +
			"  - name: other\n    url: https://other.example.com\n    token_file: " + tok + "\n    users: {cache_file: /var/lib/x.ids}\n",
			[]string{`target "other"`, "cache_file", `"/var/lib/x.ids"`, `target "prod"`, "another Mattermost server"}},
		{"bad label name", "targets:\n" + target("prod", "labels: {'a-b': x}"), []string{`target "prod"`, "labels", `"a-b"`}},
		{"reserved label", "targets:\n" + target("prod", "labels: {instance: x}"), []string{`target "prod"`, "labels", "instance"}},
		{"label of a metric", "targets:\n" + target("prod", "labels: {collector: x}"), []string{`target "prod"`, "labels", "collector"}},
		{"too many targets", "targets:\n" + strings.Repeat(target("prod"), maxTargets+1), []string{"targets", "10001 targets, at most 10000"}},
		{"too many labels", "targets:\n" + target("prod", "labels: {"+manyLabels(maxLabels+1)+"}"), []string{`target "prod"`, "labels", "33 labels, at most 32"}},
		{"long label name", "targets:\n" + target("prod", "labels: {"+strings.Repeat("a", maxLabelNameLen+1)+": x}"), []string{`target "prod"`, "labels", "129 bytes, at most 128"}},
		{"long label value", "targets:\n" + target("prod", "labels: {customer: "+strings.Repeat("a", collector.MaxLabelValueLen+1)+"}"), []string{`target "prod"`, "labels", "customer", "129 bytes, at most 128"}},
		{"missing ca file", "targets:\n" + target("prod", "tls: {ca_file: "+missing+"}"), []string{`target "prod"`, "ca_file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), ReadTokenFile)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, "secret-token-value") {
				t.Errorf("error holds the token: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// No target label may take the name of a label set by Prometheus, of the
// build info or of any collector metric.
func TestReservedLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("mattermost_exporter"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"instance", "job"}
	for _, mf := range mfs {
		for _, l := range mf.GetMetric()[0].GetLabel() {
			names = append(names, l.GetName())
		}
	}
	names = append(names, collector.LabelNames()...)
	for _, want := range []string{"goversion", "subject_cn", "plugin_id", "collector"} {
		if !slices.Contains(names, want) {
			t.Fatalf("the label names %v lack %q", names, want)
		}
	}
	for _, n := range names {
		if err := checkLabels(map[string]string{n: "x"}); err == nil || !strings.Contains(err.Error(), "use another name") {
			t.Errorf("target label %q: %v, want it refused", n, err)
		}
	}
}

// manyLabels returns n labels in YAML flow style: l0: x, l1: x, ...
func manyLabels(n int) string {
	ls := make([]string, n)
	for i := range ls {
		ls[i] = fmt.Sprintf("l%d: x", i)
	}
	return strings.Join(ls, ", ")
}

// The labels at the limits are accepted.
func TestParseLabelLimits(t *testing.T) {
	e := newEnv(t)
	tok := e.token("a", "tok")
	labels := manyLabels(maxLabels-2) + ", " + strings.Repeat("n", maxLabelNameLen) + ": x, v: " + strings.Repeat("v", collector.MaxLabelValueLen)
	ts, err := Parse([]byte("targets:\n  - name: prod\n    url: https://chat.example.com\n    token_file: "+tok+"\n    labels: {"+labels+"}\n"), ReadTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ts[0].Labels); n != maxLabels {
		t.Errorf("%d labels, want %d", n, maxLabels)
	}
}

// A CA file named by many targets is read once per load.
func TestCAFileReadOncePerLoad(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, newTLSCert(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cas := caFiles{}
	if err := cas.check(ca); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ca); err != nil {
		t.Fatal(err)
	}
	if err := cas.check(ca); err != nil {
		t.Errorf("second check of one file read it again: %v", err)
	}
	if err := (caFiles{}).check(ca); err == nil {
		t.Error("a new load did not read the file again")
	}
}

func TestParseFull(t *testing.T) {
	e := newEnv(t)
	tok := e.token("a", "tok")
	ca := filepath.Join(e.dir, "ca.pem")
	srv := newTLSCert(t)
	if err := os.WriteFile(ca, srv, 0o600); err != nil {
		t.Fatal(err)
	}
	body := `
modules:
  light:
    collectors: [cluster, saml]
targets:
  - name: prod
    url: https://chat.example.com/
    token_file: ` + tok + `
    tls:
      ca_file: ` + ca + `
    module: light
    cluster: {expected_nodes: 3, max_nodes: 10}
    users: {include_bots: true, refresh_interval: 5m, cache_file: /var/lib/mattermost_exporter/prod.ids, batch_size: 500, walk_concurrency: 2}
    analytics: {interval: 1h}
    saml: {idp_metadata_url: "https://idp.example.com/metadata"}
    labels: {customer: acme}
  - name: staging.eu-1
    url: http://127.0.0.1:8065
    token_file: ` + tok + `
    collectors: [users]
  - name: minimal
    url: https://chat2.example.com
    token_file: ` + tok + `
`
	ts, err := Parse([]byte(body), ReadTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("%d targets", len(ts))
	}
	p := ts[0]
	if got := strings.Join(p.Options.Collectors, ","); got != "cluster,saml" {
		t.Errorf("prod collectors %q", got)
	}
	o := p.Options
	if *o.Cluster.ExpectedNodes != 3 || *o.Cluster.MaxNodes != 10 || !*o.Users.IncludeBots || *o.Users.RefreshInterval != model.Duration(5*time.Minute) ||
		*o.Users.CacheFile != "/var/lib/mattermost_exporter/prod.ids" || *o.Users.BatchSize != 500 || *o.Users.WalkConcurrency != 2 ||
		*o.Analytics.Interval != model.Duration(time.Hour) || *o.SAML.IDPMetadataURL != "https://idp.example.com/metadata" {
		t.Errorf("prod options %+v", p.Options)
	}
	if p.token != "tok" || p.Labels["customer"] != "acme" {
		t.Errorf("prod token/labels wrong")
	}
	if got := strings.Join(ts[1].Options.Collectors, ","); got != "users" {
		t.Errorf("staging collectors %q", got)
	}
	m := ts[2].Options
	if m.Collectors != nil || m.Settings != (collector.Settings{}) {
		t.Errorf("minimal target overrides flags: %+v", m)
	}
}

func TestLoadFileShippedExample(t *testing.T) {
	// The example in deploy/ parses (its token files do not exist here).
	b, err := os.ReadFile(filepath.Join("..", "deploy", "fleet", "mattermost_exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for _, name := range []string{"prod", "eu-staging", "lab"} {
		e.token(name, "tok")
	}
	ca := filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(ca, newTLSCert(t), 0o600); err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "/etc/mattermost_exporter/internal-ca.pem", ca))
	b = []byte(strings.ReplaceAll(string(b), "/etc/mattermost_exporter/tokens/", e.dir+"/"))
	ts, err := Parse(b, ReadTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) < 2 {
		t.Errorf("example has %d targets", len(ts))
	}
}

func TestLoadFileErrorsNameTheFile(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yml") {
		t.Fatalf("got %v", err)
	}
}

// A users cache file serves one server: targets of the same server may
// share it; the --collector.users.cache-file file, the default of targets
// naming none, goes to the first server running the users collector and
// the targets of other servers keep none.
func TestAssignCacheFiles(t *testing.T) {
	named := func(f string) *string { return &f }
	tg := func(name, url string, file *string, collectors ...string) *Target {
		t := &Target{TargetConfig: TargetConfig{Name: name, URL: url}}
		t.Options.Users.CacheFile = file
		if collectors != nil {
			t.Options.Collectors = collectors
		}
		return t
	}
	const flagFile = "/var/lib/flag.ids"
	noUsers := tg("no-users", "https://a.example.com", nil, "cluster")
	first := tg("first", "https://b.example.com", nil)
	sameServer := tg("same-server", "https://b.example.com/", nil)
	other := tg("other", "https://c.example.com", nil)
	own := tg("own", "https://d.example.com", named("/var/lib/d.ids"))
	ownAgain := tg("own-again", "https://d.example.com", named("/var/lib/d.ids"))
	targets := []*Target{noUsers, first, sameServer, other, own, ownAgain}
	if err := assignCacheFiles(targets, flagFile); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t     *Target
		file  *string // the option after assignment
		taken string
	}{
		{noUsers, nil, ""}, {first, nil, ""}, {sameServer, nil, ""},
		{other, named(""), flagFile}, {own, named("/var/lib/d.ids"), ""}, {ownAgain, named("/var/lib/d.ids"), ""},
	} {
		got := tc.t.Options.Users.CacheFile
		if (got == nil) != (tc.file == nil) || (got != nil && *got != *tc.file) || tc.t.cacheFileTaken != tc.taken {
			t.Errorf("%s: cache file option %v, taken %q; want %v, %q", tc.t.Name, got, tc.t.cacheFileTaken, tc.file, tc.taken)
		}
	}
	// A file named by a target of another server is refused, also when
	// it is the flag's file held by the first server.
	clash := tg("clash", "https://e.example.com", named(flagFile))
	err := assignCacheFiles([]*Target{tg("first", "https://b.example.com", nil), clash}, flagFile)
	if err == nil || !strings.Contains(err.Error(), `target "clash"`) || !strings.Contains(err.Error(), `target "first"`) {
		t.Fatalf("err = %v, want the clash refused", err)
	}
}
