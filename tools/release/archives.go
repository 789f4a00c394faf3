package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// archiveName is promu's archive file name: mattermost_exporter-0.1.0.linux-amd64.tar.gz.
func archiveName(version string, t target) string {
	return archiveBase(version, t) + ".tar.gz"
}

// archiveEntries lists an archive's contents: a directory named as the archive holding the
// binary, LICENSE, NOTICE and README.md.
func (r *release) archiveEntries(t target) []entry {
	dir := archiveBase(r.info.Version, t) + "/"
	return []entry{
		{Name: dir, Mode: 0o755},
		{Name: dir + t.exe(), Mode: 0o755, Src: r.binPath(t)},
		{Name: dir + "LICENSE", Mode: 0o644, Src: filepath.Join(r.repo, "LICENSE")},
		{Name: dir + "NOTICE", Mode: 0o644, Src: filepath.Join(r.repo, "NOTICE")},
		{Name: dir + "README.md", Mode: 0o644, Src: filepath.Join(r.repo, "README.md")},
	}
}

func (r *release) archives() error {
	for _, t := range r.targets {
		dst := filepath.Join(r.dist, archiveName(r.info.Version, t))
		err := writeFileAtomic(dst, func(w io.Writer) error {
			return writeTarGz(w, r.info.Epoch, r.archiveEntries(t))
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.spec(), err)
		}
		logArtifact(r.repo, dst)
	}
	return nil
}

// releaseSuffixes are the artifacts sha256sums.txt covers.
var releaseSuffixes = []string{".tar.gz", ".deb", ".rpm", ".oci.tar"}

// checksums writes dist/sha256sums.txt in sha256sum's format over every artifact in dist/
// (not only this run's), sorted by name: `sha256sum -c sha256sums.txt` checks them.
func (r *release) checksums() error {
	des, err := os.ReadDir(r.dist)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !slices.ContainsFunc(releaseSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
			continue
		}
		sum, err := sha256File(filepath.Join(r.dist, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	dst := filepath.Join(r.dist, "sha256sums.txt")
	if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logArtifact(r.repo, dst)
	return nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // read-only
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func logArtifact(repo, path string) {
	size := int64(-1)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(os.Stderr, "release: wrote %s (%d bytes)\n", rel(repo, path), size)
}
