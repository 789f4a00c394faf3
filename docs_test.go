package main

// The flag and config-file tables of docs/configuration.md against the
// binary's own kingpin model and the config file's parser: a flag or key
// added, removed or renamed, or a default changed, fails here until the page
// says so. (The end-to-end half of the docs checks is e2e/docs_test.go.)

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/mmexporter/mattermost_exporter/internal/docscheck"
	"github.com/mmexporter/mattermost_exporter/probe"
)

const configurationPage = "docs/configuration.md"

// docsTable returns the table of page whose header starts with first.
func docsTable(t *testing.T, page *docscheck.Page, first string) docscheck.Table {
	t.Helper()
	for _, tb := range page.Tables {
		if len(tb.Header) > 0 && tb.Header[0] == first {
			return tb
		}
	}
	t.Fatalf("%s has no table whose first column is %q", page.Path, first)
	return docscheck.Table{}
}

// docsFlagName is the flag named in a flag table's first cell:
// `--name`, `--[no-]name`.
func docsFlagName(cell string) string {
	q := docscheck.Backquoted(cell)
	if len(q) == 0 {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(q[0], "--[no-]"), "--")
}

// docsDefault is the default a table cell states: the code span it starts
// with, else none.
func docsDefault(cell string) string {
	if !strings.HasPrefix(cell, "`") {
		return ""
	}
	return docscheck.Backquoted(cell)[0]
}

// modelDefault is the default of a flag as --help shows it ("false" for a
// boolean flag without one).
func modelDefault(f *kingpin.FlagModel) string {
	d := strings.Join(f.Default, ",")
	if d == "" && f.IsBoolFlag() {
		return "false"
	}
	return d
}

// modelRow is the table row to add for a flag missing from the page.
func modelRow(f *kingpin.FlagModel) string {
	name := "`--" + f.Name + "`"
	if f.IsBoolFlag() {
		name = "`--[no-]" + f.Name + "`"
	}
	if f.Envar != "" {
		name += " (env `" + f.Envar + "`)"
	}
	def := ""
	if d := modelDefault(f); d != "" {
		def = "`" + d + "`"
	}
	return fmt.Sprintf("| %s | %s | %s |", name, def, strings.TrimSuffix(f.Help, "."))
}

func TestDocsFlags(t *testing.T) {
	page, err := docscheck.Read(configurationPage)
	if err != nil {
		t.Fatal(err)
	}
	table := docsTable(t, page, "flag")
	documented := map[string]docscheck.Row{}
	for _, r := range table.Rows {
		name := docsFlagName(r.Cells[0])
		if name == "" {
			t.Errorf("%s: row names no flag in backquotes: %q", docscheck.Where(page.Path, r.Line), r.Cells[0])
			continue
		}
		if _, dup := documented[name]; dup {
			t.Errorf("%s: --%s has two rows", docscheck.Where(page.Path, r.Line), name)
		}
		documented[name] = r
	}

	// main() adds --version when it runs; add it here as main does.
	if kingpin.CommandLine.GetFlag("version") == nil {
		kingpin.Version(programName)
	}
	flags := map[string]*kingpin.FlagModel{}
	for _, f := range kingpin.CommandLine.Model().Flags {
		if f.Hidden || f.Name == "help" {
			continue
		}
		flags[f.Name] = f
	}
	if len(flags) < 40 {
		t.Fatalf("the kingpin model has %d flags; the collectors' flags were not registered?", len(flags))
	}
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := flags[n]
		r, ok := documented[n]
		if !ok {
			t.Errorf("flag --%s is not documented: add this row to the flag table of %s (line %d), with a better meaning if the help text is terse:\n%s",
				n, configurationPage, table.Line, modelRow(f))
			continue
		}
		where := docscheck.Where(page.Path, r.Line)
		if got, want := docsDefault(table.Cell(r, "default")), modelDefault(f); got != want {
			t.Errorf("%s: --%s default is %q in the binary, the page says %q: make the default cell `%s`", where, n, want, got, want)
		}
		if f.IsBoolFlag() != strings.HasPrefix(docscheck.Backquoted(r.Cells[0])[0], "--[no-]") {
			t.Errorf("%s: --%s: write a boolean flag as `--[no-]%s`, any other as `--%s`", where, n, n, n)
		}
		if f.Envar != "" && !strings.Contains(r.Cells[0], "env `"+f.Envar+"`") {
			t.Errorf("%s: --%s reads $%s: its cell must say (env `%s`)", where, n, f.Envar, f.Envar)
		}
		if strings.TrimSpace(table.Cell(r, "meaning")) == "" {
			t.Errorf("%s: --%s has no meaning", where, n)
		}
	}
	for n, r := range documented {
		if flags[n] == nil {
			t.Errorf("%s: --%s is documented but the binary has no such flag: remove or rename the row", docscheck.Where(page.Path, r.Line), n)
		}
	}
}

// configKeys lists the keys of a config type, in the page's notation:
// targets[].users.cache_file, modules.<name>.collectors, labels.<name>.
func configKeys(prefix string, typ reflect.Type, out map[string]bool) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		if typ.NumField() == 0 || typ.PkgPath() != "" && !strings.Contains(typ.PkgPath(), "mattermost_exporter") && typ.Name() != "" {
			out[prefix] = true // a foreign struct (model.Duration is an int64 anyway)
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")
			if tag[0] == "-" || !f.IsExported() {
				continue
			}
			if f.Anonymous && tag[0] == "" {
				configKeys(prefix, f.Type, out)
				continue
			}
			name := tag[0]
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			configKeys(key, f.Type, out)
		}
	case reflect.Slice:
		if e := typ.Elem(); e.Kind() == reflect.Struct {
			configKeys(prefix+"[]", e, out)
			return
		}
		out[prefix] = true
	case reflect.Map:
		configKeys(prefix+".<name>", typ.Elem(), out)
	default:
		out[prefix] = true
	}
}

func TestDocsConfigKeys(t *testing.T) {
	page, err := docscheck.Read(configurationPage)
	if err != nil {
		t.Fatal(err)
	}
	table := docsTable(t, page, "key")
	keys := map[string]bool{}
	configKeys("", reflect.TypeFor[probe.Config](), keys)
	if !keys["targets[].token_file"] || !keys["modules.<name>.collectors"] {
		t.Fatalf("the key walk missed the known keys: %v", keys)
	}
	documented := map[string]bool{}
	for _, r := range table.Rows {
		q := docscheck.Backquoted(r.Cells[0])
		if len(q) == 0 {
			t.Errorf("%s: row names no key in backquotes", docscheck.Where(page.Path, r.Line))
			continue
		}
		documented[q[0]] = true
		if !keys[q[0]] {
			t.Errorf("%s: key %s is documented but the config file has no such key: remove or rename the row", docscheck.Where(page.Path, r.Line), q[0])
		}
	}
	var missing []string
	for k := range keys {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("config key %s is not documented: add a row to the key table of %s (line %d), and the key to the example config above it:\n| `%s` | type | default (the flag it overrides) | meaning |",
			k, configurationPage, table.Line, k)
	}
}
