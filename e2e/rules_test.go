package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// promRunbookBase is where every alert's runbook_url points; the anchor is the lower-cased
// alert name (GitHub's anchor for a "## AlertName" heading).
const promRunbookBase = "https://github.com/mmexporter/mattermost_exporter/blob/main/docs/runbook.md#"

// The alerts issue 4 asks for; more are allowed.
var promRequiredAlerts = []string{
	"MattermostDown",
	"MattermostExporterDown",
	"MattermostCollectorFailing",
	"MattermostClusterNodeDown",
	"MattermostClusterNodesMissing",
	"MattermostClusterVersionSkew",
	"MattermostClusterConfigMismatch",
	"MattermostSAMLCertificateMissing",
}

// TestAlertRulesPromtoolCheck runs `promtool check rules` on the shipped rules.
func TestAlertRulesPromtoolCheck(t *testing.T) {
	promtool := promRequireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", promAlertsFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", promAlertsFile, err, out)
	}
	n := len(promAlerts(promLoadRules(t, promAlertsFile)))
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check rules did not report SUCCESS:\n%s", out)
	}
	t.Logf("promtool check rules: %d alerts OK", n)
}

// TestAlertRulesPromtoolUnitTests runs the rules' unit tests (deploy/prometheus/alerts_test.yml).
func TestAlertRulesPromtoolUnitTests(t *testing.T) {
	promtool := promRequireTool(t, "promtool")
	out, err := exec.Command(promtool, "test", "rules", promAlertsTestFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s", promAlertsTestFile, err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules did not report SUCCESS:\n%s", out)
	}
}

// TestAlertRulesPromtoolUnitTestsCatchChanges proves the unit tests are not vacuous: for every
// alert, each small change of its expression (a threshold one up or down, a comparison, set
// operator or label matcher turned around, see promExprMutations) and its `for` one minute
// shorter or longer must make `promtool test rules` fail on that alert. A change to a rule
// without a matching change to alerts_test.yml is caught here: either the tests already fail
// on the new rule, or this test shows which mutant of it they no longer catch.
func TestAlertRulesPromtoolUnitTestsCatchChanges(t *testing.T) {
	promtool := promRequireTool(t, "promtool")
	rules, err := os.ReadFile(promAlertsFile)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(promAlertsTestFile)
	if err != nil {
		t.Fatal(err)
	}

	// The mutants are written by re-encoding the YAML: the unchanged rules, re-encoded the
	// same way, must pass, or every mutant would "fail" for the wrong reason.
	t.Run("baseline", func(t *testing.T) {
		out, err := promRunRuleTests(t, promtool, promMutateRule(t, rules, "", "", "", ""), tests)
		if err != nil {
			t.Fatalf("promtool test rules fails on the re-encoded, unchanged rules: %v\n%s", err, out)
		}
	})
	if t.Failed() {
		return
	}

	for _, r := range promAlerts(promLoadRules(t, promAlertsFile)) {
		mutants := promExprMutations(r.Expr)
		if len(mutants) == 0 {
			t.Errorf("alert %s: no mutation applies to its expression %q; teach promExprMutations "+
				"its operators so that the unit tests are proven to check it", r.Alert, r.Expr)
		}
		forMutants, err := promForMutations(r.For)
		if err != nil {
			t.Errorf("alert %s: %v", r.Alert, err)
		}
		alertTests := promFilterRuleTests(t, tests, r.Alert)
		// Two rules may share a name with different severities (warning and critical
		// thresholds): the subtest name and the mutation then name the severity too.
		name, severity := r.Alert, r.Labels["severity"]
		if promAlertNameCount(t)[r.Alert] > 1 {
			name += "/" + severity
		}
		for _, m := range append(mutants, forMutants...) {
			alert := r.Alert
			t.Run(name+"/"+m.desc, func(t *testing.T) {
				t.Parallel()
				out, err := promRunRuleTests(t, promtool, promMutateRule(t, rules, alert, severity, m.field, m.value), alertTests)
				if err == nil {
					t.Fatalf("alerts_test.yml does not catch %s of %s changed to %q:\n%s", m.field, alert, m.value, out)
				}
				if !strings.Contains(string(out), "alertname: "+alert+",") {
					t.Fatalf("promtool failed, but not on an expectation about %s (%s changed to %q):\n%s", alert, m.field, m.value, out)
				}
			})
		}
	}
}

// promMutation is one change to one field (expr or for) of an alerting rule.
type promMutation struct {
	desc  string // short name of the change, for the subtest name
	field string // "expr" or "for"
	value string // the field's new value
}

// promExprMutations returns the expression with one small change each:
//   - a number outside brackets one up and one down (a threshold moved by one unit: the tests
//     have series just on either side of every threshold);
//   - a comparison turned: == to !=, != to ==, > to >= and <, >= to > and <, < to <= and >,
//     <= to < and >;
//   - a set operator swapped: and to unless, unless to and, or to and;
//   - a label matcher negated: = to !=, != to =, =~ to !~, !~ to =~.
//
// Strings, range and subquery brackets ([5m]) and durations are left alone.
func promExprMutations(expr string) []promMutation {
	var out []promMutation
	add := func(start, end int, repl string) {
		out = append(out, promMutation{
			desc:  fmt.Sprintf("%s→%s@%d", strings.TrimSpace(expr[start:end]), repl, start),
			field: "expr",
			value: expr[:start] + repl + expr[end:],
		})
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isIdent := func(c byte) bool {
		return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)
	}
	inBraces := false
	for i := 0; i < len(expr); {
		c := expr[i]
		two := ""
		if i+1 < len(expr) {
			two = expr[i : i+2]
		}
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '[':
			for i < len(expr) && expr[i] != ']' {
				i++
			}
		case c == '{':
			inBraces = true
			i++
		case c == '}':
			inBraces = false
			i++
		case inBraces:
			switch {
			case two == "=~":
				add(i, i+2, "!~")
				i += 2
			case two == "!~":
				add(i, i+2, "=~")
				i += 2
			case two == "!=":
				add(i, i+2, "=")
				i += 2
			case c == '=':
				add(i, i+1, "!=")
				i++
			default:
				i++
			}
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			j := i
			for j < len(expr) && (isDigit(expr[j]) || expr[j] == '.') {
				j++
			}
			if j < len(expr) && isIdent(expr[j]) {
				// a duration (5m) or something else than a plain number
				for j < len(expr) && isIdent(expr[j]) {
					j++
				}
				i = j
				continue
			}
			if v, err := strconv.ParseFloat(expr[i:j], 64); err == nil {
				add(i, j, strconv.FormatFloat(v+1, 'g', -1, 64))
				add(i, j, strconv.FormatFloat(v-1, 'g', -1, 64))
			}
			i = j
		case isIdent(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			switch expr[i:j] {
			case "and":
				add(i, j, "unless")
			case "unless":
				add(i, j, "and")
			case "or":
				add(i, j, "and")
			}
			i = j
		case two == "==":
			add(i, i+2, "!=")
			i += 2
		case two == "!=":
			add(i, i+2, "==")
			i += 2
		case two == ">=":
			add(i, i+2, ">")
			add(i, i+2, "<")
			i += 2
		case two == "<=":
			add(i, i+2, "<")
			add(i, i+2, ">")
			i += 2
		case c == '>':
			add(i, i+1, ">=")
			add(i, i+1, "<")
			i++
		case c == '<':
			add(i, i+1, "<=")
			add(i, i+1, ">")
			i++
		default:
			i++
		}
	}
	return out
}

// promForMutations returns the `for` duration one evaluation interval (1m, as in
// alerts_test.yml) shorter and longer.
func promForMutations(forDur string) ([]promMutation, error) {
	d, err := time.ParseDuration(forDur)
	if err != nil {
		return nil, fmt.Errorf("for: %q: %w", forDur, err)
	}
	if d < 2*time.Minute || d%time.Minute != 0 {
		return nil, fmt.Errorf("for: %s is not a whole number of minutes of at least 2m; "+
			"the unit tests evaluate once a minute", forDur)
	}
	m := int(d / time.Minute)
	return []promMutation{
		{desc: fmt.Sprintf("for→%dm", m-1), field: "for", value: fmt.Sprintf("%dm", m-1)},
		{desc: fmt.Sprintf("for→%dm", m+1), field: "for", value: fmt.Sprintf("%dm", m+1)},
	}, nil
}

// promAlertNameCount returns how many rules of the shipped file carry each alert name.
func promAlertNameCount(t *testing.T) map[string]int {
	n := map[string]int{}
	for _, r := range promAlerts(promLoadRules(t, promAlertsFile)) {
		n[r.Alert]++
	}
	return n
}

// promMutateRule returns the rule file with field of the alert with that name and severity set
// to value, re-encoded (alert "" re-encodes the file unchanged).
func promMutateRule(t *testing.T, rules []byte, alert, severity, field, value string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(rules, &doc); err != nil {
		t.Fatalf("parse %s: %v", promAlertsFile, err)
	}
	found := alert == ""
	for _, g := range promYAMLSeq(promYAMLGet(doc.Content[0], "groups")) {
		for _, r := range promYAMLSeq(promYAMLGet(g, "rules")) {
			if a := promYAMLGet(r, "alert"); alert == "" || a == nil || a.Value != alert {
				continue
			}
			if sev := promYAMLGet(promYAMLGet(r, "labels"), "severity"); sev == nil || sev.Value != severity {
				continue
			}
			if found {
				t.Fatalf("alert %s with severity %s defined twice in %s", alert, severity, promAlertsFile)
			}
			v := promYAMLGet(r, field)
			if v == nil {
				t.Fatalf("alert %s has no %s", alert, field)
			}
			v.Value, v.Style, v.Tag = value, 0, "!!str"
			found = true
		}
	}
	if !found {
		t.Fatalf("alert %s not found in %s", alert, promAlertsFile)
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promFilterRuleTests returns alerts_test.yml with only the test groups that evaluate alert:
// one alert's changes can only fail those, and promtool runs faster on fewer groups.
func promFilterRuleTests(t *testing.T, tests []byte, alert string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(tests, &doc); err != nil {
		t.Fatalf("parse %s: %v", promAlertsTestFile, err)
	}
	seq := promYAMLGet(doc.Content[0], "tests")
	if seq == nil {
		t.Fatalf("%s has no tests", promAlertsTestFile)
	}
	var keep []*yaml.Node
	for _, tc := range seq.Content {
		for _, a := range promYAMLSeq(promYAMLGet(tc, "alert_rule_test")) {
			if n := promYAMLGet(a, "alertname"); n != nil && n.Value == alert {
				keep = append(keep, tc)
				break
			}
		}
	}
	if len(keep) == 0 {
		t.Fatalf("%s has no test for alert %s", promAlertsTestFile, alert)
	}
	seq.Content = keep
	b, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promRunRuleTests writes rules and tests as alerts.yml and alerts_test.yml into a temporary
// directory and runs promtool test rules on them.
func promRunRuleTests(t *testing.T, promtool string, rules, tests []byte) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	promWriteFile(t, filepath.Join(dir, "alerts.yml"), string(rules))
	promWriteFile(t, filepath.Join(dir, "alerts_test.yml"), string(tests))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, promtool, "test", "rules", filepath.Join(dir, "alerts_test.yml")).CombinedOutput()
}

// promYAMLGet returns the value of key in a YAML mapping node, or nil.
func promYAMLGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// promYAMLSeq returns the items of a YAML sequence node (nil for anything else).
func promYAMLSeq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// TestAlertRulesStructure checks, without promtool, what every alert must carry: a severity,
// summary, description and a runbook_url whose anchor is a section of docs/runbook.md, and
// that the runbook has no section for an alert that does not exist.
func TestAlertRulesStructure(t *testing.T) {
	rf := promLoadRules(t, promAlertsFile)
	if len(rf.Groups) == 0 {
		t.Fatalf("%s has no rule group", promAlertsFile)
	}
	var rules []promRule
	groupNames := map[string]bool{}
	for _, g := range rf.Groups {
		// Names say whose rules these are; a group of more than 20 rules is what mixtool lint
		// flags (evaluated sequentially, a long group can miss its interval).
		if !strings.HasPrefix(g.Name, "mattermost") || groupNames[g.Name] {
			t.Errorf("rule group %q: want a unique name starting with mattermost", g.Name)
		}
		groupNames[g.Name] = true
		if len(g.Rules) > 20 {
			t.Errorf("rule group %s has %d rules, want at most 20", g.Name, len(g.Rules))
		}
		rules = append(rules, g.Rules...)
	}
	runbook, err := os.ReadFile(promRunbookFile)
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)\s*$`).FindAllStringSubmatch(string(runbook), -1) {
		headings[m[1]] = true
	}
	sections := promRunbookSections(string(runbook))

	seen := map[string]bool{}
	// One name may carry several rules only with different severities (a warning and a
	// critical threshold, standard Prometheus practice); anything else is a copy-paste slip.
	severities := map[string]map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert (recording rules do not belong in this file)", r.Expr)
			continue
		}
		if severities[r.Alert] == nil {
			severities[r.Alert] = map[string]bool{}
		}
		if severities[r.Alert][r.Labels["severity"]] {
			t.Errorf("alert %s defined twice with severity %q", r.Alert, r.Labels["severity"])
		}
		severities[r.Alert][r.Labels["severity"]] = true
		seen[r.Alert] = true
		if !strings.HasPrefix(r.Alert, "Mattermost") {
			t.Errorf("alert %s: name must start with Mattermost", r.Alert)
		}
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("alert %s: labels.severity = %q, want critical, warning or info", r.Alert, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("alert %s: annotation %s missing", r.Alert, a)
			}
		}
		if want := promRunbookBase + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("alert %s: runbook_url = %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if !headings[r.Alert] {
			t.Errorf("alert %s: docs/runbook.md has no section \"## %s\"", r.Alert, r.Alert)
		} else {
			// The section states the rule as it is, so that its "why" cannot silently drift.
			sec := sections[r.Alert]
			for _, want := range []string{"`" + r.Expr + "`", "for " + r.For, "Severity " + r.Labels["severity"]} {
				if !strings.Contains(sec, want) {
					t.Errorf("alert %s: its runbook section does not state %s (out of date with alerts.yml?)", r.Alert, want)
				}
			}
		}
		if r.For == "" {
			t.Errorf("alert %s: no `for` duration (a single bad scrape would page)", r.Alert)
		}
	}
	for _, a := range promRequiredAlerts {
		if !seen[a] {
			t.Errorf("required alert %s is missing", a)
		}
	}
	for h := range headings {
		if strings.HasPrefix(h, "Mattermost") && !seen[h] {
			t.Errorf("docs/runbook.md has a section for %s, which is not an alert", h)
		}
	}
}

// TestAlertRulesEveryAlertTested checks that alerts_test.yml has, for every alert, at least one
// evaluation where it fires and one where it does not.
func TestAlertRulesEveryAlertTested(t *testing.T) {
	b, err := os.ReadFile(promAlertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name          string `yaml:"name"`
			AlertRuleTest []struct {
				EvalTime  string           `yaml:"eval_time"`
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &tf); err != nil {
		t.Fatalf("parse %s: %v", promAlertsTestFile, err)
	}
	if len(tf.RuleFiles) != 1 || tf.RuleFiles[0] != "alerts.yml" {
		t.Errorf("rule_files = %v, want [alerts.yml] (the shipped file, next to the tests)", tf.RuleFiles)
	}
	firing := map[string]int{}
	quiet := map[string]int{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname]++
			} else {
				quiet[a.Alertname]++
			}
		}
	}
	for _, r := range promAlerts(promLoadRules(t, promAlertsFile)) {
		if firing[r.Alert] == 0 {
			t.Errorf("alert %s has no firing case in %s", r.Alert, promAlertsTestFile)
		}
		if quiet[r.Alert] == 0 {
			t.Errorf("alert %s has no not-firing case in %s", r.Alert, promAlertsTestFile)
		}
	}
}

// promRunbookSections returns the text of each "## Name" section of the runbook with all
// whitespace runs (line breaks included) collapsed to one space.
func promRunbookSections(runbook string) map[string]string {
	out := map[string]string{}
	heading := regexp.MustCompile(`(?m)^## (\S+)\s*$`)
	locs := heading.FindAllStringSubmatchIndex(runbook, -1)
	for i, l := range locs {
		end := len(runbook)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		out[runbook[l[2]:l[3]]] = strings.Join(strings.Fields(runbook[l[1]:end]), " ")
	}
	return out
}
