package e2e

// The documentation checks that need the built exporter, the fake Mattermost or
// promtool (the flag and config-key tables are checked in the root package's
// docs_test.go):
//
//   - TestDocsMetrics: docs/metrics.md has one row per metric family the exporter
//     serves (the golden expositions of both eras, plus a run with every optional
//     family on and a fleet), with the same type, labels and label values;
//   - TestDocsDashboardTable: dashboards/README.md's panel table is generated from
//     dashboards/mattermost.json (-update rewrites it);
//   - TestDocsLinks: every relative link between the Markdown pages resolves,
//     anchors included;
//   - TestDocsReadmeSize: README.md stays a front page (at most 18,000 bytes);
//   - TestDocsAlertTable: the README's alert table names every shipped alert;
//   - TestDocsMetricNames: every mattermost_* name in any Markdown page is a row
//     of docs/metrics.md;
//   - TestDocsCodeBlocks: every code block of README.md, CONTRIBUTING.md and docs/
//     is either run here (the quick start against the fake, the example config
//     with --config.check, the scrape configs with promtool, the make targets) or
//     says why it cannot be; the example PromQL is evaluated by
//     TestPrometheusEndToEnd against a real Prometheus (docsPromQLExamples).
//
// `make docs-check` runs these and the root package's TestDocs*.

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mmexporter/mattermost_exporter/internal/docscheck"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	docsMetricsPage   = "docs/metrics.md"
	docsDashboardPage = "dashboards/README.md"
	docsReadmeLimit   = 18000
)

// docsPage reads a page given by its path from the repository root.
func docsPage(t *testing.T, rel string) *docscheck.Page {
	t.Helper()
	p, err := docscheck.Read(promRepoPath(rel))
	if err != nil {
		t.Fatal(err)
	}
	p.Path = rel
	return p
}

// docsFamily is a metric family as served: its type and, per label, the
// values seen; sources says which expositions hold it.
type docsFamily struct {
	typ     string
	labels  map[string]map[string]bool
	sources []string
}

// docsAddExposition adds the families of a text exposition, except go_,
// process_ and promhttp_ (documented as a group).
func docsAddExposition(t *testing.T, into map[string]*docsFamily, source, text string) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	for name, mf := range fams {
		if goldenDropped(name) {
			continue
		}
		f := into[name]
		if f == nil {
			f = &docsFamily{typ: strings.ToLower(mf.GetType().String()), labels: map[string]map[string]bool{}}
			into[name] = f
		}
		f.sources = append(f.sources, source)
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.labels[l.GetName()] == nil {
					f.labels[l.GetName()] = map[string]bool{}
				}
				f.labels[l.GetName()][l.GetValue()] = true
			}
		}
	}
}

// docsServedFamilies returns every family the exporter serves: the golden
// expositions of both eras, then a live single-target run with the optional
// families on (analytics, a cache file) and a fleet's /probe and /metrics.
func docsServedFamilies(t *testing.T) map[string]*docsFamily {
	t.Helper()
	fams := map[string]*docsFamily{}
	for _, g := range []string{goldenPath, goldenPathEra11} {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		docsAddExposition(t, fams, "e2e/"+g, string(b))
	}

	fake := mmtest.NewServer(goldenConfigEra(mmtest.Era11))
	t.Cleanup(fake.Close)
	goldenSignals(t, fake)
	dir := t.TempDir()
	single := goldenStartExporter(t, fake.URL, mmtest.AdminToken,
		"--collector.analytics", "--collector.users.cache-file="+filepath.Join(dir, "users.ids"),
		"--collector.cluster.expected-nodes=3")
	single.waitUsersReady(t)
	docsAddExposition(t, fams, "a run with --collector.analytics and --collector.users.cache-file", single.scrape(t))

	tokenFile := filepath.Join(dir, "token")
	promWriteFile(t, tokenFile, mmtest.AdminToken)
	cfg := filepath.Join(dir, "fleet.yml")
	promWriteFile(t, cfg, fmt.Sprintf("targets:\n  - name: docs\n    url: %s\n    token_file: %s\n", fake.URL, tokenFile))
	addr := freeAddr(t)
	promStart(t, filepath.Join(dir, "fleet.log"), nil, exporterBinary(t),
		"--config.file="+cfg, "--web.listen-address="+addr, "--probe.eager-start")
	promWaitHTTP(t, "http://"+addr+"/metrics", 20*time.Second)
	docsAddExposition(t, fams, "a fleet's /probe", mustScrape(t, "http://"+addr+"/probe?target=docs"))
	docsAddExposition(t, fams, "a fleet's /metrics", mustScrape(t, "http://"+addr+"/metrics"))

	// Over https (Mattermost and the IdP metadata URL): the TLS certificate families.
	now := time.Now()
	chain := mmtest.MustCertChain(now.Add(90*24*time.Hour), now.Add(365*24*time.Hour))
	tlsFake := mmtest.NewTLSServer(mmtest.Config{CertChain: chain, SAMLEnabled: true})
	t.Cleanup(tlsFake.Close)
	if err := tlsFake.SetSAMLIDPCertificate(now.Add(365 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	tlsFake.SetSAMLIDPMetadataURL(tlsFake.URL + mmtest.IDPMetadataPath)
	ca := filepath.Join(dir, "ca.pem")
	promWriteFile(t, ca, string(chain.RootPEM()))
	overTLS := goldenStartExporter(t, tlsFake.URL, mmtest.AdminToken, "--no-collector.users",
		"--mattermost.tls.ca-file="+ca, "--collector.saml.idp-metadata-ca-file="+ca)
	goldenWaitListening(t, overTLS)
	docsAddExposition(t, fams, "a run over https", overTLS.scrape(t))
	return fams
}

// docsMetricRow is one row of docs/metrics.md.
type docsMetricRow struct {
	line    int
	section string
	typ     string
	unit    string
	labels  map[string][]string // label -> documented values (nil: free-form)
}

// docsMetricRows reads the metric tables of docs/metrics.md.
func docsMetricRows(t *testing.T, page *docscheck.Page) map[string]docsMetricRow {
	t.Helper()
	rows := map[string]docsMetricRow{}
	for _, tb := range page.Tables {
		if len(tb.Header) == 0 || tb.Header[0] != "metric" {
			continue
		}
		for _, r := range tb.Rows {
			q := docscheck.Backquoted(r.Cells[0])
			if len(q) == 0 {
				t.Errorf("%s: row names no metric in backquotes", docscheck.Where(page.Path, r.Line))
				continue
			}
			if _, dup := rows[q[0]]; dup {
				t.Errorf("%s: %s has two rows", docscheck.Where(page.Path, r.Line), q[0])
			}
			row := docsMetricRow{line: r.Line, section: tb.Section, typ: tb.Cell(r, "type"), unit: tb.Cell(r, "unit"), labels: map[string][]string{}}
			for _, part := range strings.Split(tb.Cell(r, "labels"), ";") {
				name, values, hasValues := strings.Cut(part, "=")
				lq := docscheck.Backquoted(name)
				if len(lq) == 0 {
					continue
				}
				row.labels[lq[0]] = nil
				if hasValues {
					row.labels[lq[0]] = docscheck.Backquoted(values)
				}
			}
			rows[q[0]] = row
		}
	}
	if len(rows) < 50 {
		t.Fatalf("%s: %d metric rows found; is the table header still | metric | type | labels | unit | meaning |?", page.Path, len(rows))
	}
	return rows
}

func docsSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// docsNearestRow says where a new family's row probably goes: beside the
// documented family sharing the longest name prefix.
func docsNearestRow(rows map[string]docsMetricRow, name string) string {
	words := strings.Split(name, "_")
	best, bestLen := "", 1 // "mattermost" alone says nothing
	for _, doc := range docsSortedKeys(rows) {
		dw := strings.Split(doc, "_")
		n := 0
		for n < len(dw) && n < len(words) && dw[n] == words[n] {
			n++
		}
		if n > bestLen {
			best, bestLen = doc, n
		}
	}
	if best == "" {
		return "the section of its collector, or a new one: ## <name> collector, with its endpoints and role"
	}
	r := rows[best]
	return fmt.Sprintf("probably under %q, near %s at line %d", "## "+r.section, best, r.line)
}

func TestDocsMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the exporter binary")
	}
	page := docsPage(t, docsMetricsPage)
	rows := docsMetricRows(t, page)
	served := docsServedFamilies(t)

	for _, name := range docsSortedKeys(served) {
		f := served[name]
		row, ok := rows[name]
		if !ok {
			var cells []string
			for _, l := range docsSortedKeys(f.labels) {
				cells = append(cells, "`"+l+"`")
			}
			t.Errorf("metric family %s (served in %s) is not documented: add a row to the table of its collector in %s (%s):\n| `%s` | %s | %s | unit | meaning; when it is absent |",
				name, strings.Join(f.sources, ", "), docsMetricsPage, docsNearestRow(rows, name), name, f.typ, strings.Join(cells, "; "))
			continue
		}
		where := docscheck.Where(docsMetricsPage, row.line)
		if row.typ != f.typ {
			t.Errorf("%s: %s is a %s, the page says %q", where, name, f.typ, row.typ)
		}
		for _, l := range docsSortedKeys(f.labels) {
			documented, ok := row.labels[l]
			if !ok {
				t.Errorf("%s: %s has label %s (in %s), not in its labels cell: add `%s`", where, name, l, strings.Join(f.sources, ", "), l)
				continue
			}
			if documented == nil {
				continue
			}
			for _, v := range docsSortedKeys(f.labels[l]) {
				if !promContains(documented, v) {
					t.Errorf("%s: %s{%s=%q} is served (in %s) but %q is not among the documented values of %s: add `%s`",
						where, name, l, v, strings.Join(f.sources, ", "), v, l, v)
				}
			}
		}
		for _, l := range docsSortedKeys(row.labels) {
			if _, ok := f.labels[l]; !ok {
				t.Errorf("%s: %s is documented with label %s, which no served series has: remove it from the labels cell", where, name, l)
			}
		}
		switch {
		case row.unit == "":
			t.Errorf("%s: %s has no unit", where, name)
		case strings.HasSuffix(name, "_timestamp_seconds") && row.unit != "Unix seconds":
			t.Errorf("%s: %s is a timestamp: its unit is `Unix seconds`, not %q", where, name, row.unit)
		case strings.HasSuffix(name, "_seconds") && !strings.Contains(row.unit, "seconds"):
			t.Errorf("%s: %s: unit %q, want seconds", where, name, row.unit)
		}
	}
	for _, name := range docsSortedKeys(rows) {
		if served[name] == nil {
			t.Errorf("%s: %s is documented but the exporter serves no such family (golden expositions of both eras, a run with every optional family, a fleet): remove or rename the row",
				docscheck.Where(docsMetricsPage, rows[name].line), name)
		}
	}
}

// docsPromQLExamples returns the PromQL lines of the promql code blocks of
// README.md and docs/ (TestPrometheusEndToEnd evaluates them).
func docsPromQLExamples(t *testing.T) []promQuery {
	t.Helper()
	var out []promQuery
	for _, rel := range docsCodePages(t) {
		page := docsPage(t, rel)
		for _, b := range page.Blocks {
			if b.Lang != "promql" {
				continue
			}
			for _, l := range docscheck.Lines(b.Text) {
				out = append(out, promQuery{Where: fmt.Sprintf("%s (block at line %d)", rel, b.Line), Expr: l})
			}
		}
	}
	return out
}

// TestDocsDashboardTable checks (or with -update writes) the table of the
// dashboard's panels in dashboards/README.md.
func TestDocsDashboardTable(t *testing.T) {
	const begin = "<!-- BEGIN panels: generated from mattermost.json by `go test ./e2e -run TestDocsDashboardTable -update` -->"
	const end = "<!-- END panels -->"
	d := promLoadDashboard(t, promDashboardFile)
	panels := grafanaAllPanels(d)
	sel := docsCommonSelector(panels)
	var b strings.Builder
	b.WriteString(begin + "\n\n")
	if sel != "" {
		fmt.Fprintf(&b, "Every query also selects `{%s}`, left out below.\n\n", sel)
	}
	b.WriteString("| row | panel | type | queries |\n|---|---|---|---|\n")
	row := ""
	n := 0
	for _, p := range panels {
		if p.Type == "row" {
			row = p.Title
			continue
		}
		var qs []string
		for _, tg := range p.Targets {
			q := tg.Expr
			if sel != "" {
				q = strings.ReplaceAll(q, "{"+sel+"}", "")
				q = strings.ReplaceAll(q, "{"+sel+",", "{")
			}
			qs = append(qs, "`"+strings.ReplaceAll(q, "|", `\|`)+"`")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row, p.Title, p.Type, strings.Join(qs, "<br>"))
		n++
	}
	b.WriteString("\n" + end)
	want := b.String()

	path := promRepoPath(docsDashboardPage)
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(cur), begin), strings.Index(string(cur), end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", docsDashboardPage, begin, end)
	}
	got := string(cur[i : j+len(end)])
	if got == want {
		t.Logf("%d panels", n)
		return
	}
	if *goldenUpdate {
		if err := os.WriteFile(path, []byte(string(cur[:i])+want+string(cur[j+len(end):])), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the panel table of %s (%d panels)", docsDashboardPage, n)
		return
	}
	t.Errorf("the panel table of %s does not match dashboards/mattermost.json: run go test ./e2e -run TestDocsDashboardTable -update\n%s",
		docsDashboardPage, goldenDiff(want, got))
}

var docsSelectorRe = regexp.MustCompile(`\{([^{}]*)\}`)

// docsCommonSelector returns the label matchers that open the first
// selector of every panel query (the dashboard's job and instance
// variables), "" when the queries share none.
func docsCommonSelector(panels []grafanaPanel) string {
	sel := ""
	for _, p := range panels {
		for _, tg := range p.Targets {
			if sel == "" {
				m := docsSelectorRe.FindStringSubmatch(tg.Expr)
				if m == nil {
					return ""
				}
				sel = m[1]
			}
			if !strings.Contains(tg.Expr, "{"+sel+"}") && !strings.Contains(tg.Expr, "{"+sel+",") {
				return ""
			}
		}
	}
	return sel
}

// docsMarkdownFiles lists the repository's Markdown files (relative paths),
// without build output.
func docsMarkdownFiles(t *testing.T) []string {
	t.Helper()
	root := promRepoPath()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".build" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestDocsLinks(t *testing.T) {
	root := promRepoPath()
	anchors := map[string]map[string]bool{}
	anchorsOf := func(rel string) map[string]bool {
		if a, ok := anchors[rel]; ok {
			return a
		}
		a := docsPage(t, rel).Anchors()
		anchors[rel] = a
		return a
	}
	checked := 0
	for _, rel := range docsMarkdownFiles(t) {
		page := docsPage(t, rel)
		for _, l := range page.Links {
			u, err := url.Parse(l.Target)
			if err != nil {
				t.Errorf("%s: link %q: %v", docscheck.Where(rel, l.Line), l.Target, err)
				continue
			}
			if u.Scheme != "" || strings.HasPrefix(l.Target, "//") {
				continue // external: not checked here (no network)
			}
			target := rel
			if u.Path != "" {
				target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(rel), u.Path)))
				if strings.HasPrefix(target, "../") {
					t.Errorf("%s: link %q leaves the repository", docscheck.Where(rel, l.Line), l.Target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, target)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", docscheck.Where(rel, l.Line), l.Target, target)
					continue
				}
			}
			checked++
			if u.Fragment == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if !anchorsOf(target)[u.Fragment] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", docscheck.Where(rel, l.Line), l.Target, target, u.Fragment)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d relative links checked; is the link reader broken?", checked)
	}
	t.Logf("%d relative links resolve", checked)
}

func TestDocsReadmeSize(t *testing.T) {
	st, err := os.Stat(promRepoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > docsReadmeLimit {
		t.Errorf("README.md is %d bytes, more than %d: it is the front page; move the detail into a page of docs/ and link it", st.Size(), docsReadmeLimit)
	}
}

// docsCodePages are the pages whose code blocks must run or say why not.
func docsCodePages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md", "CONTRIBUTING.md"}
	docs, err := filepath.Glob(promRepoPath("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		pages = append(pages, "docs/"+filepath.Base(d))
	}
	return pages
}

// docsBlockCheckers run one kind of code block; each is named by a
// <!-- docs-check: NAME --> marker on the line before the block.
var docsBlockCheckers = map[string]func(t *testing.T, b docscheck.Block){
	"make-targets":  docsCheckMakeTargets,
	"quickstart":    docsCheckQuickstart,
	"config-file":   docsCheckConfigFile,
	"scrape-config": docsCheckScrapeConfig,
	"promql":        docsCheckPromQL,
}

func TestDocsCodeBlocks(t *testing.T) {
	ran := map[string]int{}
	for _, rel := range docsCodePages(t) {
		page := docsPage(t, rel)
		for _, b := range page.Blocks {
			where := docscheck.Where(rel, b.Line)
			name, isCheck := strings.CutPrefix(b.Marker, "docs-check: ")
			switch {
			case strings.HasPrefix(b.Marker, "not run here: ") && len(b.Marker) > len("not run here: ")+10:
				continue
			case !isCheck:
				t.Errorf("%s: a %s block without a marker: put <!-- docs-check: NAME --> (one of %s) on the line before it, or <!-- not run here: why -->",
					where, b.Lang, strings.Join(docsSortedKeys(docsBlockCheckers), ", "))
				continue
			case docsBlockCheckers[name] == nil:
				t.Errorf("%s: unknown docs-check %q (known: %s)", where, name, strings.Join(docsSortedKeys(docsBlockCheckers), ", "))
				continue
			}
			t.Run(fmt.Sprintf("%s:%d:%s", rel, b.Line, name), func(t *testing.T) { docsBlockCheckers[name](t, b) })
			ran[name]++
		}
	}
	// The full example the configuration page links to, as a user would check it.
	t.Run("deploy/fleet/mattermost_exporter.yml:config-file", func(t *testing.T) {
		b, err := os.ReadFile(promRepoPath("deploy", "fleet", "mattermost_exporter.yml"))
		if err != nil {
			t.Fatal(err)
		}
		docsCheckConfigFile(t, docscheck.Block{Lang: "yaml", Text: string(b)})
	})
	for _, must := range []string{"make-targets", "quickstart", "config-file", "scrape-config", "promql"} {
		if ran[must] == 0 {
			t.Errorf("no block checked by %s: the README and docs must keep one", must)
		}
	}
}

// docsCheckMakeTargets: every `make X` of the block is a target of the Makefile.
func docsCheckMakeTargets(t *testing.T, b docscheck.Block) {
	mk, err := os.ReadFile(promRepoPath("Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range docscheck.Lines(b.Text) {
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		if len(f) < 2 || f[0] != "make" {
			t.Errorf("not a make command: %q", l)
			continue
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f[1]) + `:`).Match(mk) {
			t.Errorf("the Makefile has no target %q", f[1])
		}
	}
}

// docsShellWords splits a command with backslash-newline continuations and
// no quoting into words.
func docsShellWords(text string) []string {
	return strings.Fields(strings.ReplaceAll(text, "\\\n", " "))
}

// docsCheckQuickstart runs the block's command against the fake Mattermost:
// its --mattermost.url is replaced by the fake's and its token file by one
// holding the fake's admin token; the exporter must serve mattermost_up 1.
func docsCheckQuickstart(t *testing.T, b docscheck.Block) {
	words := docsShellWords(b.Text)
	if len(words) == 0 || words[0] != "mattermost_exporter" {
		t.Fatalf("the quick start does not run mattermost_exporter: %q", b.Text)
	}
	fake := mmtest.NewServer(mmtest.Config{Users: mmtest.GenerateUsers(20, 3)})
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	promWriteFile(t, tokenFile, mmtest.AdminToken+"\n")
	var args []string
	sawURL, sawToken := false, false
	for _, w := range words[1:] {
		switch {
		case strings.HasPrefix(w, "--mattermost.url="):
			w, sawURL = "--mattermost.url="+fake.URL, true
		case strings.HasPrefix(w, "--mattermost.token-file="):
			w, sawToken = "--mattermost.token-file="+tokenFile, true
		}
		args = append(args, w)
	}
	if !sawURL || !sawToken {
		t.Fatalf("the quick start must give --mattermost.url= and --mattermost.token-file=: %q", b.Text)
	}
	addr := freeAddr(t)
	promStart(t, filepath.Join(dir, "exporter.log"), nil, exporterBinary(t),
		append(args, "--web.listen-address="+addr)...)
	promWaitHTTP(t, "http://"+addr+"/metrics", 20*time.Second)
	if body := mustScrape(t, "http://"+addr+"/metrics"); !strings.Contains(body, "\nmattermost_up 1\n") {
		t.Errorf("the quick start against the fake: no mattermost_up 1 in\n%s", body)
	}
}

// docsCheckConfigFile runs --config.check on the block, with its absolute
// paths moved into a temporary directory holding a token for every
// token_file and a CA bundle for every ca_file.
func docsCheckConfigFile(t *testing.T, b docscheck.Block) {
	dir := t.TempDir()
	text := regexp.MustCompile(`(/etc|/var/lib)/mattermost_exporter/`).ReplaceAllString(b.Text, dir+"/")
	if text == b.Text {
		t.Logf("no /etc/mattermost_exporter or /var/lib/mattermost_exporter path to move")
	}
	tls := mmtest.NewTLSServer(mmtest.Config{})
	t.Cleanup(tls.Close)
	for _, m := range regexp.MustCompile(`(?m)^\s*(token_file|ca_file|idp_metadata_ca_file):\s*(\S+)`).FindAllStringSubmatch(text, -1) {
		if m[2] == `""` {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(m[2]), 0o755); err != nil {
			t.Fatal(err)
		}
		content := []byte("docs-example-token\n")
		if strings.HasSuffix(m[1], "ca_file") {
			content = tls.CertificatePEM()
		}
		if err := os.WriteFile(m[2], content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "mattermost_exporter.yml")
	promWriteFile(t, cfg, text)
	cmd := exec.Command(exporterBinary(t), "--config.file="+cfg, "--config.check")
	cmd.Env = exporterEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Errorf("--config.check on the example: %v\n%s\n--- the file ---\n%s", err, out, text)
	}
}

// docsCheckScrapeConfig runs promtool check config on the block.
func docsCheckScrapeConfig(t *testing.T, b docscheck.Block) {
	promtool := promOptionalTool(t, "promtool", "scrape config not checked")
	if promtool == "" {
		return
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	promWriteFile(t, cfg, b.Text)
	if out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// docsCheckPromQL checks that each line names only metrics the exporter
// serves; TestPrometheusEndToEnd evaluates them in a real Prometheus.
func docsCheckPromQL(t *testing.T, b docscheck.Block) {
	known, source, err := promKnownMetricNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range docscheck.Lines(b.Text) {
		names, err := promQLMetricNames(l)
		if err != nil || len(names) == 0 {
			t.Errorf("%q: selects no metric (%v)", l, err)
		}
		for _, n := range names {
			if !known[n] {
				t.Errorf("%q uses %s, which the exporter does not export (per %s)", l, n, source)
			}
		}
	}
}

// TestDocsAlertTable checks the README's alert table against the shipped
// rules: every alert named, none that does not exist.
func TestDocsAlertTable(t *testing.T) {
	page := docsPage(t, "README.md")
	documented := map[string]int{}
	for _, tb := range page.Tables {
		if len(tb.Header) == 0 || tb.Header[0] != "alert" {
			continue
		}
		for _, r := range tb.Rows {
			for _, name := range docscheck.Backquoted(r.Cells[0]) {
				documented[name] = r.Line
			}
		}
	}
	const alertsFile = "deploy/prometheus/alerts.yml"
	rules := map[string]bool{}
	for _, r := range promAlerts(promLoadRules(t, promAlertsFile)) {
		rules[r.Alert] = true
		if _, ok := documented[r.Alert]; !ok {
			t.Errorf("alert %s of %s is not in the alert table of README.md: add it to a row (| `%s` | severity | fires when |)", r.Alert, alertsFile, r.Alert)
		}
	}
	for _, name := range docsSortedKeys(documented) {
		if !rules[name] {
			t.Errorf("%s: %s is not an alert of %s: remove or rename it", docscheck.Where("README.md", documented[name]), name, alertsFile)
		}
	}
	if len(rules) < 10 {
		t.Fatalf("%d alerts read from %s", len(rules), alertsFile)
	}
}

var docsMetricName = regexp.MustCompile(`\bmattermost_[a-z0-9_]*[a-z0-9]`)

// TestDocsMetricNames checks every mattermost_* name written in any Markdown
// page against docs/metrics.md (which TestDocsMetrics checks against the
// exporter), so that a renamed metric cannot linger in prose or a table.
// mattermost_exporter alone (the binary) and prefixes followed by * are
// not metric names.
func TestDocsMetricNames(t *testing.T) {
	rows := docsMetricRows(t, docsPage(t, docsMetricsPage))
	for _, rel := range docsMarkdownFiles(t) {
		b, err := os.ReadFile(promRepoPath(rel))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for i, line := range strings.Split(text, "\n") {
			for _, m := range docsMetricName.FindAllStringIndex(line, -1) {
				name := line[m[0]:m[1]]
				if name == "mattermost_exporter" || (m[1] < len(line) && line[m[1]] == '*') {
					continue
				}
				if _, ok := rows[name]; !ok {
					t.Errorf("%s: %s is not a metric of %s: fix the name, or document the metric there", docscheck.Where(rel, i+1), name, docsMetricsPage)
				}
			}
		}
	}
}
