package collector

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every Desc and metric vector of the package is built through newDesc or
// newCounterVec, so that LabelNames knows its labels.
func TestLabelNamesSeeEveryDesc(t *testing.T) {
	direct := regexp.MustCompile(`prometheus\.(NewDesc|New\w*Vec|V2)\b`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "labelnames.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d: %s: build it with newDesc or newCounterVec (labelnames.go), or LabelNames misses its labels", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	names := LabelNames()
	for _, want := range []string{"collector", "endpoint", "code", "subject_cn", "issuer_cn", "serial", "plugin_id", "type", "result", "version"} {
		if !slices.Contains(names, want) {
			t.Errorf("LabelNames() = %v lacks %q", names, want)
		}
	}
}
