// Package docscheck reads the project's Markdown pages for the tests that keep
// them in step with the code (flags, config keys, metrics, dashboard panels,
// links and runnable code blocks): pipe tables, fenced code blocks with the
// marker comment before them, relative links and GitHub heading anchors. It is
// used only by tests; the exporter does not import it.
package docscheck

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Table is one pipe table of a page, with the heading it is under.
type Table struct {
	Line    int    // of the header row, 1-based
	Section string // text of the nearest heading above
	Header  []string
	Rows    []Row
}

// Row is one body row of a table.
type Row struct {
	Line  int
	Cells []string // trimmed, as many as the row has
}

// Cell returns the row's cell under the header named name ("" when absent).
func (t Table) Cell(r Row, name string) string {
	for i, h := range t.Header {
		if strings.EqualFold(h, name) && i < len(r.Cells) {
			return r.Cells[i]
		}
	}
	return ""
}

// Block is one fenced code block.
type Block struct {
	Line   int    // of the opening fence
	Lang   string // the info string's first word
	Text   string // the lines between the fences
	Marker string // the HTML comment on the last non-blank line before the fence, without <!-- -->
}

// Link is one inline Markdown link or image outside code.
type Link struct {
	Line   int
	Target string
}

// Page is a parsed Markdown file.
type Page struct {
	Path     string
	Tables   []Table
	Blocks   []Block
	Links    []Link
	Headings []string // in order, as written
}

var (
	headingRe  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	markerRe   = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)
	linkRe     = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	delimRow   = regexp.MustCompile(`^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$`)
	inlineLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`) // [text](target), for Slug
)

// Read parses the Markdown file at path.
func Read(path string) (*Page, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, string(b)), nil
}

// Parse parses Markdown text; path is only recorded.
func Parse(path, text string) *Page {
	p := &Page{Path: path}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	section := ""
	var table *Table
	lastNonBlank := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if fence, ok := fenceOf(trimmed); ok {
			table = nil
			blk := Block{Line: i + 1, Lang: firstWord(strings.TrimLeft(trimmed, fence[:1]))}
			if m := markerRe.FindStringSubmatch(lastNonBlank); m != nil {
				blk.Marker = m[1]
			}
			var body []string
			for i++; i < len(lines); i++ {
				if t := strings.TrimSpace(lines[i]); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
					break
				}
				body = append(body, lines[i])
			}
			blk.Text = strings.Join(body, "\n")
			p.Blocks = append(p.Blocks, blk)
			lastNonBlank = ""
			continue
		}
		if m := headingRe.FindStringSubmatch(line); m != nil {
			table = nil
			section = m[2]
			p.Headings = append(p.Headings, section)
		}
		if strings.HasPrefix(trimmed, "|") {
			if table == nil && i+1 < len(lines) && delimRow.MatchString(strings.TrimSpace(lines[i+1])) {
				p.Tables = append(p.Tables, Table{Line: i + 1, Section: section, Header: SplitRow(trimmed)})
				table = &p.Tables[len(p.Tables)-1]
				i++ // the delimiter row
			} else if table != nil {
				table.Rows = append(table.Rows, Row{Line: i + 1, Cells: SplitRow(trimmed)})
			}
		} else {
			table = nil
		}
		for _, m := range linkRe.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			p.Links = append(p.Links, Link{Line: i + 1, Target: m[1]})
		}
		if trimmed != "" {
			lastNonBlank = trimmed
		}
	}
	return p
}

// fenceOf reports whether line opens a fenced code block, and its fence.
func fenceOf(line string) (string, bool) {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return strings.Repeat(c, n), true
		}
	}
	return "", false
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// SplitRow splits a table row into trimmed cells at unescaped pipes; a \| is
// kept as |.
func SplitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// Backquoted returns the code spans of s, in order, without their backquotes.
func Backquoted(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllString(s, -1) {
		out = append(out, strings.TrimSpace(m[1:len(m)-1]))
	}
	return out
}

// Anchors returns the anchors GitHub gives the page's headings.
func (p *Page) Anchors() map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range p.Headings {
		s := Slug(h)
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// Slug is GitHub's anchor for a heading: lower case, Markdown code and link
// syntax dropped, punctuation other than - and _ removed, spaces as -.
func Slug(heading string) string {
	heading = inlineLink.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lines returns the non-empty lines of text that are not # comments.
func Lines(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Where formats a position for error messages: "docs/metrics.md:12".
func Where(path string, line int) string {
	return fmt.Sprintf("%s:%d", path, line)
}
