package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository's root (tests run in tools/kube/mixin).
var root = filepath.Join("..", "..", "..")

func evaluate(t *testing.T, config map[string]any) *Output {
	t.Helper()
	o, err := Evaluate(filepath.Join(root, "mixin"), config)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRenderMatchesCommitted: every shipped file the mixin renders is byte for byte the render
// (`make mixin` was run and nobody edited a generated file).
func TestRenderMatchesCommitted(t *testing.T) {
	files, err := evaluate(t, nil).Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{AlertsFile, PrometheusRuleFile, DashboardFile, ChartAlertsFile} {
		if files[p] == nil {
			t.Errorf("the render has no %s", p)
		}
	}
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%v (run make mixin)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the mixin's render: run `make mixin` and commit the result", p)
		}
	}
	// Nothing stale in the chart's dashboards directory either.
	entries, err := os.ReadDir(filepath.Join(root, ChartDashboardsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if files[ChartDashboardsDir+e.Name()] == nil {
			t.Errorf("%s%s is not rendered by the mixin: remove it", ChartDashboardsDir, e.Name())
		}
	}
}

// nonDefault differs from mixin/config.libsonnet in every setting.
func nonDefault() map[string]any {
	return map[string]any{
		"mattermostSelector":          `cluster="eu-1",job="mm-exp"`,
		"licenseWarningDays":          45,
		"licenseCriticalDays":         10,
		"samlCertificateWarningDays":  40,
		"samlCertificateCriticalDays": 9,
		"usersRefreshStaleSeconds":    7200,
		"jobStuckHours":               3,
		"rateLimitWindow":             "10m",
		"dashboardUID":                "mm-eu-1",
		"dashboardTitle":              "Mattermost EU",
		"dashboardTags":               []string{"chat"},
		"dashboardRefresh":            "1m",
		"dashboardTimezone":           "utc",
	}
}

// metricRef finds every metric name of an expression followed by what comes after it.
var metricRef = regexp.MustCompile(`\b(up|mattermost_[a-z0-9_]+)\b(\{?)`)

// checkSelected fails unless every metric an expression reads carries the selector first in
// its braces, and the default selector appears nowhere.
func checkSelected(t *testing.T, where, expr, selector string) {
	t.Helper()
	n := 0
	for _, m := range metricRef.FindAllStringSubmatchIndex(expr, -1) {
		name := expr[m[2]:m[3]]
		if strings.HasSuffix(expr[:m[2]], `"`) || strings.HasSuffix(expr[:m[2]], "$") {
			continue // inside a string or a variable
		}
		n++
		if !strings.HasPrefix(expr[m[4]:], "{"+selector) {
			t.Errorf("%s: %s is not selected by %s: %s", where, name, selector, expr)
		}
	}
	if n == 0 {
		t.Errorf("%s reads no metric: %s", where, expr)
	}
	if strings.Contains(expr, ".*mattermost.*") {
		t.Errorf("%s still has the default selector: %s", where, expr)
	}
}

// TestNonDefaultConfig renders the mixin with every setting changed and checks that every rule
// and every dashboard query follows: selector, thresholds, `for`, dashboard settings.
func TestNonDefaultConfig(t *testing.T) {
	def := evaluate(t, nil)
	cfg := nonDefault()
	// Every `for` seven minutes longer than its default.
	defFor := map[string]string{}
	for _, g := range def.Alerts.Groups {
		for _, r := range g.Rules {
			defFor[r.Alert] = r.For
		}
	}
	newFor := map[string]any{}
	for name, d := range defFor {
		var n int
		var unit string
		if _, err := fmt.Sscanf(d, "%d%s", &n, &unit); err != nil || unit != "m" {
			t.Fatalf("alert %s: for %q is not in minutes", name, d)
		}
		newFor[name] = fmt.Sprintf("%dm", n+7)
	}
	cfg["alertFor"] = newFor
	o := evaluate(t, cfg)
	sel := cfg["mattermostSelector"].(string)

	defRules := map[string]Rule{}
	for _, g := range def.Alerts.Groups {
		for _, r := range g.Rules {
			defRules[r.Alert+"/"+r.Labels.Severity] = r
		}
	}
	n := 0
	for _, g := range o.Alerts.Groups {
		for _, r := range g.Rules {
			n++
			key := r.Alert + "/" + r.Labels.Severity
			checkSelected(t, "alert "+key, r.Expr, sel)
			if r.For != newFor[r.Alert] {
				t.Errorf("alert %s: for %s, want the configured %s", key, r.For, newFor[r.Alert])
			}
			if d, ok := defRules[key]; !ok || d.Expr == r.Expr {
				t.Errorf("alert %s: expression unchanged by the config (or not in the default render)", key)
			}
			// Descriptions that state the duration state the configured one.
			if strings.Contains(defRules[key].Annotations.Description, "for "+strings.TrimSuffix(defFor[r.Alert], "m")+" minutes") &&
				!strings.Contains(r.Annotations.Description, "for "+strings.TrimSuffix(newFor[r.Alert].(string), "m")+" minutes") {
				t.Errorf("alert %s: description does not state the configured for %s: %s", key, newFor[r.Alert], r.Annotations.Description)
			}
		}
	}
	if n != len(defRules) {
		t.Errorf("%d rules with the config, %d by default", n, len(defRules))
	}
	// Thresholds.
	for key, want := range map[string][]string{
		"MattermostLicenseExpiringSoon/warning":          {"< 45 * 86400", ">= 10 * 86400"},
		"MattermostLicenseExpiringSoon/critical":         {"< 10 * 86400"},
		"MattermostSAMLCertificateExpiringSoon/warning":  {"< 40 * 86400", ">= 9 * 86400"},
		"MattermostSAMLCertificateExpiringSoon/critical": {"< 9 * 86400"},
		"MattermostExporterUsersRefreshStale/warning":    {"> 7200"},
		"MattermostJobStuck/warning":                     {"> 10800", "[3h]", "offset 3h"},
		"MattermostAPIRateLimited/warning":               {"[10m]"},
	} {
		r := ruleByKey(o, key)
		for _, w := range want {
			if !strings.Contains(r.Expr, w) {
				t.Errorf("alert %s: expression lacks %q: %s", key, w, r.Expr)
			}
		}
	}
	for key, want := range map[string]string{
		"MattermostLicenseExpiringSoon/warning":         "less than 45 days.",
		"MattermostSAMLCertificateExpiringSoon/warning": "less than 40 days.",
		"MattermostExporterUsersRefreshStale/warning":   "over 2 hours.",
	} {
		if s := ruleByKey(o, key).Annotations.Summary; !strings.HasSuffix(s, want) {
			t.Errorf("alert %s: summary %q, want it to end in %q", key, s, want)
		}
	}

	// Every dashboard query and variable query.
	d := dashboard(t, o)
	dd := dashboard(t, def)
	defQueries := map[string]bool{}
	for _, q := range dd.queries() {
		defQueries[q.expr] = true
	}
	for _, q := range d.queries() {
		checkSelected(t, q.where, q.expr, sel)
		if defQueries[q.expr] {
			t.Errorf("%s: unchanged by the config: %s", q.where, q.expr)
		}
	}
	if d.UID != "mm-eu-1" || d.Title != "Mattermost EU" || d.Refresh != "1m" || d.Timezone != "utc" || fmt.Sprint(d.Tags) != "[chat]" {
		t.Errorf("dashboard settings not applied: uid %q title %q refresh %q timezone %q tags %v", d.UID, d.Title, d.Refresh, d.Timezone, d.Tags)
	}

	// The render with the config is still valid Prometheus rules, and so is an empty selector.
	promtoolCheck(t, o)
	promtoolCheck(t, evaluate(t, map[string]any{"mattermostSelector": ""}))
}

func ruleByKey(o *Output, key string) Rule {
	for _, g := range o.Alerts.Groups {
		for _, r := range g.Rules {
			if r.Alert+"/"+r.Labels.Severity == key {
				return r
			}
		}
	}
	return Rule{}
}

// promtoolCheck runs promtool check rules on the rendered alerts (promtool: Debian's
// prometheus package, `make deps`). Without promtool the check fails under CI and is skipped
// elsewhere.
func promtoolCheck(t *testing.T, o *Output) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found (make deps installs it; CI is set, so a missing tool is an error)")
		}
		t.Log("promtool not found: rendered rules not checked with promtool check rules")
		return
	}
	files, err := o.Files()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "alerts.yml")
	if err := os.WriteFile(p, files[AlertsFile], 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", p).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestAlertConventions checks what mixtool lint checks of alerts (mixtool itself is not on the
// Go module proxy), for the default and a non-default render.
func TestAlertConventions(t *testing.T) {
	for name, cfg := range map[string]map[string]any{"default": nil, "non-default": nonDefault()} {
		t.Run(name, func(t *testing.T) {
			o := evaluate(t, cfg)
			groups := map[string]bool{}
			template := regexp.MustCompile(`\{\{.*\}\}`)
			for _, g := range o.Alerts.Groups {
				if g.Name == "" || groups[g.Name] {
					t.Errorf("group name %q empty or used twice", g.Name)
				}
				groups[g.Name] = true
				if len(g.Rules) > 20 {
					t.Errorf("group %s has %d rules, want at most 20", g.Name, len(g.Rules))
				}
				if len(g.Rules) == 0 {
					t.Errorf("group %s has no rule", g.Name)
				}
				for _, r := range g.Rules {
					if !regexp.MustCompile(`^Mattermost[A-Z][A-Za-z0-9]*$`).MatchString(r.Alert) {
						t.Errorf("alert %q: name must be CamelCase and start with Mattermost", r.Alert)
					}
					switch r.Labels.Severity {
					case "warning", "critical", "info":
					default:
						t.Errorf("alert %s: severity %q, want warning, critical or info", r.Alert, r.Labels.Severity)
					}
					a := r.Annotations
					if a == nil {
						t.Errorf("alert %s: no annotations", r.Alert)
						continue
					}
					if a.Summary == "" || template.MatchString(a.Summary) || !strings.HasSuffix(a.Summary, ".") {
						t.Errorf("alert %s: summary %q must be set, without templates, ending with a period", r.Alert, a.Summary)
					}
					if !template.MatchString(a.Description) {
						t.Errorf("alert %s: description %q has no template (say which target)", r.Alert, a.Description)
					}
					if !strings.HasPrefix(a.RunbookURL, "https://") {
						t.Errorf("alert %s: runbook_url %q", r.Alert, a.RunbookURL)
					}
					if r.For == "" {
						t.Errorf("alert %s: no for", r.Alert)
					}
				}
			}
		})
	}
}

// grafanaDashboard is the part of a dashboard the conventions look at.
type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Tags       []string       `json:"tags"`
	Refresh    string         `json:"refresh"`
	Timezone   string         `json:"timezone"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	raw any
}

type grafanaPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Panels      []grafanaPanel `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

type query struct{ where, expr string }

func dashboard(t *testing.T, o *Output) *grafanaDashboard {
	t.Helper()
	raw := o.Dashboards["mattermost.json"]
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d.raw); err != nil {
		t.Fatal(err)
	}
	return &d
}

func (d *grafanaDashboard) panels() []grafanaPanel {
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

// queries returns every panel target's and every query variable's expression.
func (d *grafanaDashboard) queries() []query {
	var out []query
	for _, p := range d.panels() {
		for _, tg := range p.Targets {
			out = append(out, query{fmt.Sprintf("panel %q target %s", p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, query{"variable " + v.Name, v.Definition})
		}
	}
	return out
}

// rangeFunc finds rate(), irate() and increase() up to the end of their range selector.
var rangeFunc = regexp.MustCompile(`\b(rate|irate|increase)\(([^\[]*)\[([^\]]*)\]`)

// TestDashboardConventions checks what grafana's dashboard-linter checks: a datasource
// variable, job and instance variables used by every query, $__rate_interval in every rate()
// and increase(), a unit on every panel, unique panel ids, no hard-coded datasource uid.
func TestDashboardConventions(t *testing.T) {
	for name, cfg := range map[string]map[string]any{"default": nil, "non-default": nonDefault()} {
		t.Run(name, func(t *testing.T) {
			d := dashboard(t, evaluate(t, cfg))
			vars := map[string]string{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v.Type
				var q struct {
					Query string `json:"query"`
				}
				if v.Type == "query" && (json.Unmarshal(v.Query, &q) != nil || q.Query != v.Definition) {
					t.Errorf("variable %s: definition %q is not its query %s", v.Name, v.Definition, v.Query)
				}
			}
			if vars["datasource"] != "datasource" {
				t.Errorf("no datasource variable of type datasource")
			}
			for _, v := range []string{"job", "instance"} {
				if vars[v] != "query" {
					t.Errorf("no %s query variable", v)
				}
			}
			ids := map[int]string{}
			nq := 0
			for _, p := range d.panels() {
				if other, ok := ids[p.ID]; ok || p.ID == 0 {
					t.Errorf("panel %q: id %d missing or already used by %q", p.Title, p.ID, other)
				}
				ids[p.ID] = p.Title
				if p.Type == "row" {
					continue
				}
				if p.FieldConfig.Defaults.Unit == "" {
					t.Errorf("panel %q (%s) sets no unit", p.Title, p.Type)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				for _, tg := range p.Targets {
					nq++
					where := fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)
					for _, m := range []string{`job=~"$job"`, `instance=~"$instance"`} {
						if strings.Count(tg.Expr, m) != len(metricRef.FindAllString(tg.Expr, -1)) {
							t.Errorf("%s: not every series selected by %s: %s", where, m, tg.Expr)
						}
					}
					for _, m := range rangeFunc.FindAllStringSubmatch(tg.Expr, -1) {
						if m[3] != "$__rate_interval" {
							t.Errorf("%s: %s() over [%s], want [$__rate_interval]: %s", where, m[1], m[3], tg.Expr)
						}
					}
					if strings.Contains(tg.Expr, "rate(") && !rangeFunc.MatchString(tg.Expr) {
						t.Errorf("%s: a rate() the check cannot read: %s", where, tg.Expr)
					}
				}
			}
			if nq < 50 {
				t.Errorf("only %d queries found; the walk misses panels", nq)
			}
			checkDatasources(t, "dashboard", d.raw)
		})
	}
}

// checkDatasources fails on any datasource reference other than the ${datasource} variable
// or Grafana's built-in annotation source.
func checkDatasources(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if k == "datasource" {
				switch ds := c.(type) {
				case map[string]any:
					if uid, _ := ds["uid"].(string); uid != "${datasource}" && uid != "-- Grafana --" {
						t.Errorf("%s.datasource: hard-coded uid %q, want ${datasource}", path, uid)
					}
				case string:
					if ds != "${datasource}" && ds != "$datasource" {
						t.Errorf("%s.datasource: %q, want ${datasource}", path, ds)
					}
				}
			}
			checkDatasources(t, path+"."+k, c)
		}
	case []any:
		for i, c := range x {
			checkDatasources(t, fmt.Sprintf("%s[%d]", path, i), c)
		}
	}
}
