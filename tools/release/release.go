package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// buildInfo is what scripts/buildinfo.sh says about the commit being released.
type buildInfo struct {
	Version, Revision, Branch string
	Epoch                     time.Time // SOURCE_DATE_EPOCH: every file time in every artifact
	Created                   string    // Epoch in RFC 3339, the image's created label
	LDFlags                   string
}

// release holds one run's inputs and where its outputs go.
type release struct {
	repo, dist string
	targets    []target
	info       buildInfo
}

func newRelease(repo, dist string, ts []target) (*release, error) {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	dist, err = filepath.Abs(dist)
	if err != nil {
		return nil, err
	}
	info, err := readBuildInfo(repo)
	if err != nil {
		return nil, err
	}
	return &release{repo: repo, dist: dist, targets: ts, info: info}, nil
}

// readBuildInfo runs scripts/buildinfo.sh (env, then ldflags) in repo.
func readBuildInfo(repo string) (buildInfo, error) {
	script := filepath.Join(repo, "scripts", "buildinfo.sh")
	out, err := exec.Command("sh", script, "env").Output()
	if err != nil {
		return buildInfo{}, fmt.Errorf("%s env: %w", script, exitDetail(err))
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	epoch, err := strconv.ParseInt(vars["SOURCE_DATE_EPOCH"], 10, 64)
	if err != nil {
		return buildInfo{}, fmt.Errorf("%s: SOURCE_DATE_EPOCH: %w", script, err)
	}
	if vars["VERSION"] == "" || strings.ContainsAny(vars["VERSION"], "/ \t") {
		return buildInfo{}, fmt.Errorf("%s: VERSION %q is empty or not a file name", script, vars["VERSION"])
	}
	ld, err := exec.Command("sh", script, "ldflags").Output()
	if err != nil {
		return buildInfo{}, fmt.Errorf("%s ldflags: %w", script, exitDetail(err))
	}
	return buildInfo{
		Version:  vars["VERSION"],
		Revision: vars["REVISION"],
		Branch:   vars["BRANCH"],
		Epoch:    time.Unix(epoch, 0).UTC(),
		Created:  vars["CREATED"],
		LDFlags:  strings.TrimSpace(string(ld)),
	}, nil
}

// binDir holds the built binary of t: dist/build/<platform>/.
func (r *release) binDir(t target) string {
	return filepath.Join(r.dist, "build", t.platform())
}

func (r *release) binPath(t target) string {
	return filepath.Join(r.binDir(t), t.exe())
}

// buildAll builds every target's static binary: CGO off, -trimpath, no VCS stamp, the
// buildinfo ldflags.
// Build ids and paths depend only on the source and the toolchain, so two builds of one commit
// are identical (the go command's cache serves the second one).
func (r *release) buildAll() error {
	for _, t := range r.targets {
		if err := r.build(t); err != nil {
			return fmt.Errorf("%s: %w", t.spec(), err)
		}
	}
	return nil
}

func (r *release) build(t target) error {
	if err := os.MkdirAll(r.binDir(t), 0o755); err != nil {
		return err
	}
	start := time.Now()
	// -buildvcs=false: the revision is in the ldflags already, and the Dockerfile's build (no
	// .git in its context) embeds no vcs.* settings either, so both make the same binary.
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", r.info.LDFlags, "-o", r.binPath(t), ".")
	cmd.Dir = r.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch, "GOARM="+t.ARM, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	fmt.Fprintf(os.Stderr, "release: built %s (%s)\n", rel(r.repo, r.binPath(t)), time.Since(start).Round(time.Millisecond))
	return nil
}

// rel is path relative to base where it lies below it, for log lines.
func rel(base, path string) string {
	if p, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(p, "..") {
		return p
	}
	return path
}

// exitDetail adds a command's stderr to its exit error.
func exitDetail(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
