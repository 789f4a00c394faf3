package e2e

// Helpers shared by every end-to-end test of this package: the exporter
// binary, built once per test run, and free loopback addresses.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
)

var exporterBuild struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if exporterBuild.dir != "" {
		os.RemoveAll(exporterBuild.dir)
	}
	os.Exit(code)
}

// exporterBinary returns the exporter binary, building it on first use; the
// tests share it (each used to build its own: 8 builds a run).
func exporterBinary(t *testing.T) string {
	t.Helper()
	b := &exporterBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "mattermost_exporter-e2e-")
		if b.err != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		b.bin = filepath.Join(b.dir, "mattermost_exporter")
		out, err := exec.Command(goBin, "build", "-o", b.bin, "github.com/mmexporter/mattermost_exporter").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// testHTTP bounds every request of these tests.
var testHTTP = &http.Client{Timeout: 30 * time.Second}

// scrapeMaxBytes caps what a test reads of one answer: a runaway exposition
// fails the test instead of filling its memory.
const scrapeMaxBytes = 8 << 20

// scrapeText GETs u like Prometheus does (a 10 s scrape timeout), reading
// at most scrapeMaxBytes; an answer other than 200 is an error carrying the
// start of its body.
func scrapeText(u string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := testHTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, scrapeMaxBytes+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("GET %s: %w", u, err)
	case len(b) > scrapeMaxBytes:
		return "", fmt.Errorf("GET %s: answer over %d bytes", u, scrapeMaxBytes)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, b)
	}
	return string(b), nil
}

// mustScrape is scrapeText failing the test on an error.
func mustScrape(t *testing.T, u string) string {
	t.Helper()
	body, err := scrapeText(u)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string { return testhelp.FreeAddr(t) }

// exporterEnv is the test's environment less its MATTERMOST_* variables,
// plus extra: every process a test starts gets it, so that a MATTERMOST_URL
// or MATTERMOST_TOKEN exported in the developer's shell cannot reach an
// exporter (one started with --config.file would refuse to run).
func exporterEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MATTERMOST_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
