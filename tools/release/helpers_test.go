package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// checkTargets are what the tests build: the image's two platforms, whose archives and packages
// stand for the other seven targets (same code, other GOOS/GOARCH).
var checkTargets = "linux/amd64,linux/arm64"

var (
	shared     *release
	sharedErr  error
	sharedOnce sync.Once
	sharedDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// repoRoot is the repository this module lives in (tools/release/../..).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// builtRelease runs every release step for checkTargets once per test binary, into a temporary
// dist directory the tests share.
func builtRelease(t *testing.T) *release {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "release-test-")
		if sharedErr != nil {
			return
		}
		dist := filepath.Join(sharedDir, "dist")
		if sharedErr = run(repoRoot(t), dist, checkTargets, nil); sharedErr != nil {
			return
		}
		shared, sharedErr = newRelease(repoRoot(t), dist, mustTargets(checkTargets))
	})
	if sharedErr != nil {
		t.Fatalf("release of %s: %v", checkTargets, sharedErr)
	}
	return shared
}

func mustTargets(spec string) []target {
	ts, err := parseTargets(spec)
	if err != nil {
		panic(err)
	}
	return ts
}

// needTool returns the path of an external tool the test needs (make deps installs it): a
// missing one fails the test when CI is set, and skips it otherwise.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found (scripts/install-prometheus.sh installs it; CI is set, so a missing tool is an error)", name)
	}
	t.Skipf("%s not found: run make deps (scripts/install-prometheus.sh)", name)
	return ""
}

// runOK runs a command and returns its standard output; any failure fails the test.
func runOK(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// tarEntry is a header and the contents of one tar member.
type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

// readTar reads a tar stream, gzipped when gz is set, in order.
func readTar(t *testing.T, path string, gz bool) []tarEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, data})
	}
}

// extractTar writes a tar's regular files and directories below dir (names checked to stay in it).
func extractTar(t *testing.T, entries []tarEntry, dir string) {
	t.Helper()
	for _, e := range entries {
		name := filepath.Join(dir, filepath.FromSlash(e.hdr.Name))
		if !strings.HasPrefix(name, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("tar member %q leaves the directory", e.hdr.Name)
		}
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, e.data, os.FileMode(e.hdr.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("tar member %q has type %c", e.hdr.Name, e.hdr.Typeflag)
		}
	}
}
