package e2e

// Helpers shared by every end-to-end test of this package: the exporter
// binary, built once per test run, and free loopback addresses.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
