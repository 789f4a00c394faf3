package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTargetNames: promu's archive names for the nine platforms of issue 27.
func TestTargetNames(t *testing.T) {
	var got []string
	for _, tg := range allTargets {
		got = append(got, archiveName("1.2.3", tg)+" "+tg.exe())
	}
	want := []string{
		"mattermost_exporter-1.2.3.linux-amd64.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.linux-arm64.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.linux-armv7.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.linux-ppc64le.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.linux-s390x.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.darwin-amd64.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.darwin-arm64.tar.gz mattermost_exporter",
		"mattermost_exporter-1.2.3.windows-amd64.tar.gz mattermost_exporter.exe",
		"mattermost_exporter-1.2.3.freebsd-amd64.tar.gz mattermost_exporter",
	}
	if !slices.Equal(got, want) {
		t.Errorf("archive names:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ts, err := parseTargets("linux/armv7, windows/amd64,linux/armv7")
	if err != nil || len(ts) != 2 || ts[0].ARM != "7" || ts[1].OS != "windows" {
		t.Errorf("parseTargets = %v, %v", ts, err)
	}
	if _, err := parseTargets("linux/mips"); err == nil {
		t.Error("parseTargets accepted linux/mips")
	}
}

// TestArchives: each archive holds a directory named as it with the binary, LICENSE, NOTICE
// and README.md, every time the commit time, owner 0:0; the linux-amd64 binary prints the
// VERSION and the revision.
func TestArchives(t *testing.T) {
	r := builtRelease(t)
	for _, tg := range r.targets {
		path := filepath.Join(r.dist, archiveName(r.info.Version, tg))
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("%s: gzip header has name %q, time %v: want neither", path, zr.Name, zr.ModTime)
		}
		dir := archiveBase(r.info.Version, tg) + "/"
		entries := readTar(t, path, true)
		var names []string
		for _, e := range entries {
			names = append(names, e.hdr.Name)
			if !e.hdr.ModTime.Equal(r.info.Epoch) || e.hdr.Uid != 0 || e.hdr.Gid != 0 || e.hdr.Uname != "" || e.hdr.Gname != "" {
				t.Errorf("%s: %s has time %v owner %d:%d (%q:%q), want %v 0:0", path, e.hdr.Name, e.hdr.ModTime, e.hdr.Uid, e.hdr.Gid, e.hdr.Uname, e.hdr.Gname, r.info.Epoch)
			}
			wantMode := int64(0o644)
			if strings.HasSuffix(e.hdr.Name, "/") || e.hdr.Name == dir+tg.exe() {
				wantMode = 0o755
			}
			if e.hdr.Mode != wantMode {
				t.Errorf("%s: %s mode %o, want %o", path, e.hdr.Name, e.hdr.Mode, wantMode)
			}
			if src, ok := map[string]string{"LICENSE": "LICENSE", "NOTICE": "NOTICE", "README.md": "README.md"}[strings.TrimPrefix(e.hdr.Name, dir)]; ok {
				want, err := os.ReadFile(filepath.Join(r.repo, src))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(e.data, want) {
					t.Errorf("%s: %s differs from the repository's", path, e.hdr.Name)
				}
			}
		}
		want := []string{dir, dir + tg.exe(), dir + "LICENSE", dir + "NOTICE", dir + "README.md"}
		if !slices.Equal(names, want) {
			t.Errorf("%s holds %v, want %v", path, names, want)
		}
		if tg != (target{OS: "linux", Arch: "amd64"}) {
			continue
		}
		tmp := t.TempDir()
		extractTar(t, entries, tmp)
		out := runOK(t, filepath.Join(tmp, dir, tg.exe()), "--version")
		for _, s := range []string{"version " + r.info.Version + " ", "revision: " + r.info.Revision, "build date:       " + r.info.Epoch.Format("20060102-15:04:05")} {
			if !strings.Contains(out, s) {
				t.Errorf("%s --version lacks %q:\n%s", tg.exe(), s, out)
			}
		}
	}
}

// TestChecksums: sha256sums.txt names every artifact in dist/ once, and sha256sum -c agrees.
func TestChecksums(t *testing.T) {
	r := builtRelease(t)
	b, err := os.ReadFile(filepath.Join(r.dist, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("sha256sums.txt line %q", line)
		}
		got, err := sha256File(filepath.Join(r.dist, name))
		if err != nil || got != sum {
			t.Errorf("%s: sha256 %s (%v), listed %s", name, got, err, sum)
		}
		listed = append(listed, name)
	}
	want := []string{
		"mattermost-exporter-" + r.info.Version + "-1.aarch64.rpm",
		"mattermost-exporter-" + r.info.Version + "-1.x86_64.rpm",
		"mattermost-exporter_" + r.info.Version + "-1_amd64.deb",
		"mattermost-exporter_" + r.info.Version + "-1_arm64.deb",
		"mattermost_exporter-" + r.info.Version + ".linux-amd64.tar.gz",
		"mattermost_exporter-" + r.info.Version + ".linux-arm64.tar.gz",
		"mattermost_exporter-" + r.info.Version + ".oci.tar",
	}
	if !slices.Equal(listed, want) {
		t.Errorf("sha256sums.txt lists\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	if p, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(p, "-c", "--strict", "sha256sums.txt")
		cmd.Dir = r.dist
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

// TestReproducible: a second release of the same commit, its linux/amd64 binary built with an
// empty build cache (RELEASE_CHECK_WARM=1: with the shared one), gives byte-identical archives,
// packages, image and sha256sums.txt.
func TestReproducible(t *testing.T) {
	r1 := builtRelease(t)
	r2, err := newRelease(r1.repo, filepath.Join(t.TempDir(), "dist"), r1.targets)
	if err != nil {
		t.Fatal(err)
	}
	// The other targets first, with the shared cache; then linux/amd64 with an empty one.
	cold := target{OS: "linux", Arch: "amd64"}
	if os.Getenv("RELEASE_CHECK_WARM") != "" {
		cold = target{}
	}
	for _, tg := range r2.targets {
		if tg == cold {
			continue
		}
		if err := r2.build(tg); err != nil {
			t.Fatal(err)
		}
	}
	if slices.Contains(r2.targets, cold) {
		t.Setenv("GOCACHE", t.TempDir()) // build() passes os.Environ() to go build
		if err := r2.build(cold); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []func() error{r2.archives, r2.packages, r2.image, r2.checksums} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	compared := 0
	for _, tg := range r1.targets {
		compareFiles(t, r1.binPath(tg), r2.binPath(tg))
	}
	des, err := os.ReadDir(r1.dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if de.Type().IsRegular() {
			compareFiles(t, filepath.Join(r1.dist, de.Name()), filepath.Join(r2.dist, de.Name()))
			compared++
		}
	}
	if compared != 8 {
		t.Errorf("compared %d artifacts, want 8 (2 archives, 2 .deb, 2 .rpm, the image, sha256sums.txt)", compared)
	}
}

func compareFiles(t *testing.T, a, b string) {
	t.Helper()
	ab, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, bb) {
		t.Errorf("%s differs between two releases of one commit (%d and %d bytes)", filepath.Base(a), len(ab), len(bb))
	}
}
