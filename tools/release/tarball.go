package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// entry is one file or directory of a deterministic tar stream.
type entry struct {
	Name string      // slash-separated, relative; a directory's name ends in "/"
	Mode os.FileMode // permission bits
	Src  string      // file to copy, or
	Data []byte      // the contents
}

func (e entry) isDir() bool { return strings.HasSuffix(e.Name, "/") }

// writeTar writes entries in the given order with one mtime, owner 0:0 and no user or group
// names, so that the stream depends only on the names, modes and contents: the property that
// makes archives, the image layer and the image layout tarball reproducible.
func writeTar(w io.Writer, mtime time.Time, entries []entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.Name,
			Mode:    int64(e.Mode.Perm()),
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.isDir() {
			hdr.Typeflag = tar.TypeDir
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		data := e.Data
		if e.Src != "" {
			var err error
			if data, err = os.ReadFile(e.Src); err != nil {
				return err
			}
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeTarGz is writeTar through gzip with an empty header (no name, no time).
func writeTarGz(w io.Writer, mtime time.Time, entries []entry) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := writeTar(zw, mtime, entries); err != nil {
		return err
	}
	return zw.Close()
}

// withParents adds the missing parent directories of entries (0755) and sorts by name.
func withParents(entries []entry) []entry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name] = true
	}
	out := slices.Clone(entries)
	for _, e := range entries {
		for dir := path.Dir(strings.TrimSuffix(e.Name, "/")); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if !have[dir+"/"] {
				have[dir+"/"] = true
				out = append(out, entry{Name: dir + "/", Mode: 0o755})
			}
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// writeFileAtomic writes through fn into path.tmp and renames it into place.
func writeFileAtomic(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone already after the rename
	if err := fn(f); err != nil {
		_ = f.Close() // the write failed already
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
