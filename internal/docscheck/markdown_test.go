package docscheck

import (
	"reflect"
	"testing"
)

const sample = "# Title\n\n" +
	"Intro [a](other.md#x) and `[not](a-link.md)` and ![img](pic.png \"t\").\n\n" +
	"## Flags and `code`\n\n" +
	"| flag | default |\n|---|---|\n| `--a` | `1` |\n| `--b` \\| x | |\n\nafter\n\n" +
	"<!-- docs-check: quickstart -->\n```sh\nrun \\\n  --x\n```\n\n" +
	"```yaml\nno: marker\n| not | a table |\n|---|---|\n```\n\n" +
	"## Flags and `code`\n"

func TestDocscheckParse(t *testing.T) {
	p := Parse("s.md", sample)
	if len(p.Tables) != 1 {
		t.Fatalf("%d tables, want 1 (the one inside a code block is not a table)", len(p.Tables))
	}
	tb := p.Tables[0]
	if tb.Section != "Flags and `code`" || !reflect.DeepEqual(tb.Header, []string{"flag", "default"}) || len(tb.Rows) != 2 {
		t.Errorf("table %+v", tb)
	}
	if got := tb.Cell(tb.Rows[1], "flag"); got != "`--b` | x" {
		t.Errorf("escaped pipe: cell %q", got)
	}
	if got := tb.Cell(tb.Rows[0], "DEFAULT"); got != "`1`" {
		t.Errorf("cell by header name: %q", got)
	}
	if len(p.Blocks) != 2 || p.Blocks[0].Marker != "docs-check: quickstart" || p.Blocks[0].Lang != "sh" ||
		p.Blocks[0].Text != "run \\\n  --x" || p.Blocks[1].Marker != "" {
		t.Errorf("blocks %+v", p.Blocks)
	}
	var targets []string
	for _, l := range p.Links {
		targets = append(targets, l.Target)
	}
	if !reflect.DeepEqual(targets, []string{"other.md#x", "pic.png"}) {
		t.Errorf("links %q (a link inside a code span is not one)", targets)
	}
	want := map[string]bool{"title": true, "flags-and-code": true, "flags-and-code-1": true}
	if got := p.Anchors(); !reflect.DeepEqual(got, want) {
		t.Errorf("anchors %v, want %v", got, want)
	}
}

func TestDocscheckSlug(t *testing.T) {
	for in, want := range map[string]string{
		"1. A bot account and its token":               "1-a-bot-account-and-its-token",
		"The config file (many deployments)":           "the-config-file-many-deployments",
		"Why not `GET /reports/users`":                 "why-not-get-reportsusers",
		"Restarts and the user id cache file":          "restarts-and-the-user-id-cache-file",
		"See [the runbook](runbook.md) for MM_ALERT_X": "see-the-runbook-for-mm_alert_x",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocscheckBackquotedAndLines(t *testing.T) {
	if got := Backquoted("`a` = `b`, `c`"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Backquoted: %q", got)
	}
	if got := Lines("# comment\n\nup == 0\n  sum(x)  \n"); !reflect.DeepEqual(got, []string{"up == 0", "sum(x)"}) {
		t.Errorf("Lines: %q", got)
	}
}
