package e2e

// Helpers shared by the operations-kit tests (alert rules, dashboards, deploy files and the
// end-to-end test with a real Prometheus). Every name here starts with "prom" or "grafana" so
// that it cannot collide with the other tests of this package.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promRepoPath returns a path inside the repository (tests run in e2e/).
func promRepoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

// Shipped files the tests check.
var (
	promAlertsFile     = promRepoPath("deploy", "prometheus", "alerts.yml")
	promAlertsTestFile = promRepoPath("deploy", "prometheus", "alerts_test.yml")
	promRuleCRFile     = promRepoPath("deploy", "kubernetes", "prometheusrule.yaml")
	promDashboardFile  = promRepoPath("dashboards", "mattermost.json")
	promRunbookFile    = promRepoPath("docs", "runbook.md")
	// promGoldenFile is the exposition the core end-to-end test writes (the exporter's real
	// output against the fake server): the source of truth for exported names.
	promGoldenFile = filepath.Join("testdata", "metrics.golden")
)

// promCI reports whether the tests run under CI: the CI variable set to any non-empty value
// (CI systems set CI=true, CI=1 or CI=yes; .ci/run sets CI=true). Under CI a missing external
// tool fails the test instead of skipping it or checking less: .ci/run installs every tool.
func promCI() bool {
	return os.Getenv("CI") != ""
}

// promToolHint says how to get a missing external tool.
func promToolHint(name string) string {
	return fmt.Sprintf("%s not found in PATH; install it with scripts/install-prometheus.sh "+
		"(Debian's prometheus package brings prometheus and promtool, prometheus-alertmanager brings "+
		"alertmanager and amtool, systemd brings systemd-analyze)", name)
}

// promRequireTool returns the path of a tool the test cannot run without. When it is missing,
// the test fails under CI (promCI) and is skipped elsewhere, saying how to install it.
func promRequireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if promCI() {
		t.Fatal(promToolHint(name) + " (CI is set, so a missing tool is an error)")
	}
	t.Skip(promToolHint(name))
	return ""
}

// promOptionalTool returns the path of a tool that lets the test check more (e.g. amtool
// check-config after the test's own parsing). When it is missing, the test fails under CI
// (promCI); elsewhere it logs what is not checked and returns "".
func promOptionalTool(t *testing.T, name, notChecked string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if promCI() {
		t.Fatal(promToolHint(name) + " (CI is set, so a missing tool is an error)")
	}
	t.Logf("%s: %s", promToolHint(name), notChecked)
	return ""
}

// promContractMetrics is the metrics contract (design and issues 2-4): every name the
// exporter exports in a normal configuration.
var promContractMetrics = []string{
	"mattermost_up",
	"mattermost_server_info",
	"mattermost_cluster_nodes",
	"mattermost_cluster_node_info",
	"mattermost_cluster_node_up",
	"mattermost_cluster_versions",
	"mattermost_cluster_config_hashes",
	"mattermost_cluster_expected_nodes",
	"mattermost_saml_certificate_present",
	"mattermost_saml_enabled",
	"mattermost_users",
	"mattermost_users_manual",
	"mattermost_users_sweep_timestamp_seconds",
	"mattermost_exporter_collector_success",
	"mattermost_exporter_collector_duration_seconds",
	"mattermost_exporter_build_info",
	"mattermost_exporter_users_refresh_timestamp_seconds",
	"mattermost_exporter_users_refresh_duration_seconds",
	"mattermost_exporter_users_cached",
	"mattermost_exporter_api_requests_total",
	"mattermost_exporter_ratelimit_remaining",
	// Issue 9: what takes Mattermost down.
	"mattermost_health_status",
	"mattermost_health_timestamp_seconds",
	"mattermost_search_backend_info",
	"mattermost_license_licensed",
	"mattermost_license_users",
	"mattermost_license_info",
	"mattermost_license_start_timestamp_seconds",
	"mattermost_license_expiry_timestamp_seconds",
	"mattermost_job_last_status",
	"mattermost_job_last_success_timestamp_seconds",
	"mattermost_jobs_pending",
	"mattermost_job_oldest_pending_age_seconds",
	"mattermost_exporter_jobs_dropped_types",
	"mattermost_plugins_enabled",
	"mattermost_plugin_nodes",
	"mattermost_plugin_info",
	"mattermost_plugin_versions",
	"mattermost_exporter_plugins_dropped",
	"mattermost_saml_certificate_expiry_timestamp_seconds",
	"mattermost_saml_idp_metadata_fetch_success",
	"mattermost_websocket_connections",
	"mattermost_db_connections",
	"mattermost_active_users",
	"mattermost_inactive_users",
	"mattermost_user_accounts",
	"mattermost_posts",
	"mattermost_channels",
	"mattermost_teams",
	"mattermost_analytics_timestamp_seconds",
	// Issue 25: the TLS certificate in front of Mattermost and of the IdP metadata URL.
	"mattermost_tls_certificate_expiry_timestamp_seconds",
	"mattermost_tls_certificate_info",
	"mattermost_tls_version_info",
	"mattermost_tls_certificate_verified",
}

// promConditionalMetrics are contract names exported only in some configurations, so a golden
// file taken without that configuration may lack them.
var promConditionalMetrics = map[string]string{
	"mattermost_cluster_expected_nodes":                   "only with --collector.cluster.expected-nodes",
	"mattermost_exporter_ratelimit_remaining":             "only once Mattermost sent X-Ratelimit-Remaining",
	"mattermost_search_backend_info":                      "only from Mattermost 9.x on (the 5.37 golden lacks it)",
	"mattermost_websocket_connections":                    "only with --collector.analytics (off by default)",
	"mattermost_db_connections":                           "only with --collector.analytics (off by default)",
	"mattermost_active_users":                             "only with --collector.analytics (off by default)",
	"mattermost_inactive_users":                           "only with --collector.analytics (off by default)",
	"mattermost_user_accounts":                            "only with --collector.analytics (off by default)",
	"mattermost_posts":                                    "only with --collector.analytics (off by default)",
	"mattermost_channels":                                 "only with --collector.analytics (off by default)",
	"mattermost_teams":                                    "only with --collector.analytics (off by default)",
	"mattermost_analytics_timestamp_seconds":              "only with --collector.analytics (off by default)",
	"mattermost_tls_certificate_expiry_timestamp_seconds": "only over https (the golden expositions are taken over http)",
	"mattermost_tls_certificate_info":                     "only over https (the golden expositions are taken over http)",
	"mattermost_tls_version_info":                         "only over https (the golden expositions are taken over http)",
	"mattermost_tls_certificate_verified":                 "only over https (the golden expositions are taken over http)",
}

// promKnownMetricNames returns the names a rule or dashboard may use, and where they came from:
// the golden exposition when present (plus the conditional contract names and Prometheus' own
// `up`), else the contract table.
func promKnownMetricNames() (map[string]bool, string, error) {
	known := map[string]bool{"up": true}
	golden, err := promExpositionNames(promGoldenFile)
	switch {
	case err == nil:
		for n := range golden {
			known[n] = true
		}
		for n := range promConditionalMetrics {
			known[n] = true
		}
		return known, promGoldenFile, nil
	case errors.Is(err, os.ErrNotExist):
		for _, n := range promContractMetrics {
			known[n] = true
		}
		return known, "the contract table (" + promGoldenFile + " does not exist yet)", nil
	default:
		return nil, "", err
	}
}

var promExpositionLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)`)

// promExpositionNames reads the metric names of a text exposition file: the names of its
// # HELP / # TYPE lines and of its samples (so _bucket/_sum/_count of histograms count too).
func promExpositionNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE "):
			fields := strings.Fields(line)
			if len(fields) >= 3 {
				names[fields[2]] = true
			}
		case strings.HasPrefix(line, "#"):
		default:
			if m := promExpositionLine.FindStringSubmatch(line); m != nil {
				names[m[1]] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no metric", path)
	}
	return names, nil
}

// promRuleFile is a Prometheus rule file.
type promRuleFile struct {
	Groups []promRuleGroup `yaml:"groups"`
}

type promRuleGroup struct {
	Name     string     `yaml:"name"`
	Interval string     `yaml:"interval,omitempty"`
	Rules    []promRule `yaml:"rules"`
}

type promRule struct {
	Alert       string            `yaml:"alert,omitempty"`
	Record      string            `yaml:"record,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func promLoadRules(t *testing.T, path string) promRuleFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read rules: %v", err)
	}
	var rf promRuleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(rf.Groups) == 0 {
		t.Fatalf("%s has no rule groups", path)
	}
	return rf
}

// promAlerts returns every alerting rule of the file, in order.
func promAlerts(rf promRuleFile) []promRule {
	var out []promRule
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// grafanaDashboard is the part of a Grafana dashboard model the tests look at.
type grafanaDashboard struct {
	Inputs        json.RawMessage `json:"__inputs"`
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Panels        []grafanaPanel  `json:"panels"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource *grafanaDSRef     `json:"datasource"`
	GridPos    map[string]int    `json:"gridPos"`
	Targets    []grafanaTarget   `json:"targets"`
	Panels     []grafanaPanel    `json:"panels"` // panels of a collapsed row
	Options    json.RawMessage   `json:"options"`
	Field      json.RawMessage   `json:"fieldConfig"`
	Transform  []json.RawMessage `json:"transformations"`
}

type grafanaDSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaTarget struct {
	RefID      string        `json:"refId"`
	Expr       string        `json:"expr"`
	Instant    bool          `json:"instant"`
	Format     string        `json:"format"`
	Datasource *grafanaDSRef `json:"datasource"`
}

type grafanaVariable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *grafanaDSRef   `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// QueryString returns the variable's query whether Grafana stored it as a string or as an
// object {"query": ...}.
func (v grafanaVariable) QueryString() (string, error) {
	if len(v.Query) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %w", v.Name, err)
	}
	return o.Query, nil
}

func promLoadDashboard(t *testing.T, path string) grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return d
}

// grafanaAllPanels flattens rows (including collapsed rows' panels).
func grafanaAllPanels(d grafanaDashboard) []grafanaPanel {
	var out []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// promQuery is one PromQL expression found in a shipped file, with where it came from.
type promQuery struct {
	Where string
	Expr  string
}

var grafanaLabelValues = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// grafanaVariableSelector returns the PromQL selector inside a label_values(selector, label)
// variable query ("" for label_values(label) or a non-PromQL query).
func grafanaVariableSelector(q string) string {
	if m := grafanaLabelValues.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return ""
}

// grafanaQueries lists every PromQL expression of the dashboard: panel targets and
// label_values() variable selectors.
func grafanaQueries(t *testing.T, d grafanaDashboard) []promQuery {
	t.Helper()
	var out []promQuery
	for _, p := range grafanaAllPanels(d) {
		for _, tg := range p.Targets {
			out = append(out, promQuery{Where: fmt.Sprintf("dashboard panel %q target %s", p.Title, tg.RefID), Expr: tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := v.QueryString()
		if err != nil {
			t.Fatal(err)
		}
		if sel := grafanaVariableSelector(q); sel != "" {
			out = append(out, promQuery{Where: fmt.Sprintf("dashboard variable %s", v.Name), Expr: sel})
		}
	}
	return out
}

// PromQL words that are never metric names.
var (
	promQLKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
		"inf": true, "nan": true, "start": true, "end": true,
	}
	// Aggregation operators may be followed by by/without before their parenthesis.
	promQLAggregations = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
		"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
		"quantile": true, "limitk": true, "limit_ratio": true,
	}
	// Modifiers followed by a parenthesised list of label names.
	promQLLabelListModifiers = map[string]bool{
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	}
)

// promQLMetricNames returns the metric names a PromQL expression selects, sorted and
// de-duplicated. It is a tokenizer, not a full parser: it skips strings, label matchers
// ({...}), ranges and subqueries ([...]), numbers and durations, function and aggregation
// names, keywords, and the label lists of by/without/on/ignoring/group_left/group_right.
// A Grafana variable ($x) is accepted only inside strings and brackets, where it belongs.
func promQLMetricNames(expr string) ([]string, error) {
	names := map[string]bool{}
	s := expr
	i := 0
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
	isIdent := func(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
	skipSpace := func(j int) int {
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		return j
	}
	// skipString returns the index after the string literal starting at j.
	skipString := func(j int) (int, error) {
		q := s[j]
		for k := j + 1; k < len(s); k++ {
			if s[k] == '\\' && q != '`' {
				k++
				continue
			}
			if s[k] == q {
				return k + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string at offset %d in %q", j, expr)
	}
	// skipBalanced returns the index after the bracket closing the one at j, skipping strings.
	skipBalanced := func(j int) (int, error) {
		open := s[j]
		var closer byte
		switch open {
		case '{':
			closer = '}'
		case '[':
			closer = ']'
		case '(':
			closer = ')'
		}
		depth := 0
		for k := j; k < len(s); k++ {
			switch s[k] {
			case '"', '\'', '`':
				e, err := skipString(k)
				if err != nil {
					return 0, err
				}
				k = e - 1
			case open:
				depth++
			case closer:
				depth--
				if depth == 0 {
					return k + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %q at offset %d in %q", open, j, expr)
	}
	depth := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // comment to end of line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			e, err := skipString(i)
			if err != nil {
				return nil, err
			}
			i = e
		case c == '{' || c == '[':
			e, err := skipBalanced(i)
			if err != nil {
				return nil, err
			}
			i = e
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at offset %d in %q", i, expr)
			}
			i++
		case (c >= '0' && c <= '9') || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			// number or duration: 1, 0.5, 1e-3, 0x1f, 5m, 1h30m
			start := i
			i++
			for i < len(s) {
				if isIdent(s[i]) || s[i] == '.' {
					i++
					continue
				}
				// exponent sign of a decimal number such as 1e-3
				if (s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E') &&
					strings.Trim(s[start:i-1], "0123456789.") == "" {
					i++
					continue
				}
				break
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			next := skipSpace(j)
			lower := strings.ToLower(word)
			switch {
			case promQLLabelListModifiers[lower]:
				if next < len(s) && s[next] == '(' {
					e, err := skipBalanced(next)
					if err != nil {
						return nil, err
					}
					j = e
				}
			case promQLKeywords[lower]:
			case promQLAggregations[lower] && next < len(s) && (s[next] == '(' || isIdentStart(s[next])):
				// sum(...) or sum by (x) (...)
			case next < len(s) && s[next] == '(':
				// function call
			default:
				names[word] = true
			}
			i = j
		case strings.IndexByte("+-*/%^=!<>,@", c) >= 0:
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d in %q", c, i, expr)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '(' in %q", expr)
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func promWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
