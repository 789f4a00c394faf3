package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image the Dockerfile describes (TestDockerfileMatchesImage compares the two): a static
// binary on an empty base, CA certificates, passwd/group naming the user it runs as.
const (
	imageUser       = "65534:65534" // nobody:nogroup
	imagePort       = "10065/tcp"
	imageBinary     = "/bin/" + binaryName
	imageCABundle   = "/etc/ssl/certs/ca-certificates.crt"
	imageSource     = "https://github.com/mmexporter/mattermost_exporter"
	imageRefNameKey = "org.opencontainers.image.ref.name"
)

// imageEnv is the environment `docker build` gives an image FROM scratch.
var imageEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// imagePlatforms are the platforms of the image index.
var imagePlatforms = []target{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}

// caCertDir is where Debian's ca-certificates package keeps Mozilla's CA certificates, one
// file each. The image's bundle is their concatenation in byte order of the names (as the
// Dockerfile does with cat): unlike /etc/ssl/certs/ca-certificates.crt it has no local
// additions of the build machine, and it changes only with the package's version.
var caCertDir = "/usr/share/ca-certificates/mozilla"

// imageName is the image layout tarball's file name.
func imageName(version string) string {
	return fmt.Sprintf("%s-%s.oci.tar", binaryName, version)
}

// imageLabels are the image's OCI annotations as labels, as the Dockerfile's LABEL sets them.
func (r *release) imageLabels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       binaryName,
		"org.opencontainers.image.description": "Prometheus exporter for Mattermost",
		"org.opencontainers.image.source":      imageSource,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     r.info.Version,
		"org.opencontainers.image.revision":    r.info.Revision,
		"org.opencontainers.image.created":     r.info.Created,
	}
}

// caBundle concatenates dir's *.crt files in byte order of their names, each checked to be a
// PEM certificate.
func caBundle(dir string) ([]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.crt"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no CA certificates in %s (Debian package ca-certificates; make deps installs it)", dir)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(b)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: not a PEM certificate", n)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// imageRootfs lists the image's one layer. Paths as the Dockerfile's COPY lines.
func (r *release) imageRootfs(t target, certs []byte) []entry {
	return withParents([]entry{
		{Name: "etc/passwd", Mode: 0o644, Src: filepath.Join(r.repo, "deploy", "image", "passwd")},
		{Name: "etc/group", Mode: 0o644, Src: filepath.Join(r.repo, "deploy", "image", "group")},
		{Name: strings.TrimPrefix(imageCABundle, "/"), Mode: 0o644, Data: certs},
		{Name: strings.TrimPrefix(imageBinary, "/"), Mode: 0o755, Src: r.binPath(t)},
	})
}

// platformImage assembles one platform's image.
func (r *release) platformImage(t target, certs []byte) (v1.Image, error) {
	var layerTar bytes.Buffer
	if err := writeTar(&layerTar, r.info.Epoch, r.imageRootfs(t, certs)); err != nil {
		return nil, err
	}
	data := layerTar.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Variant = t.Arch, t.OS, imageVariant(t)
	cf.Created = v1.Time{Time: r.info.Epoch}
	cf.Author = ""
	cf.History = []v1.History{{Created: v1.Time{Time: r.info.Epoch}, CreatedBy: "tools/release (make release)", Comment: "static binary, CA certificates, passwd/group"}}
	cf.Config = v1.Config{
		User:         imageUser,
		Entrypoint:   []string{imageBinary},
		ExposedPorts: map[string]struct{}{imagePort: {}},
		Env:          imageEnv,
		WorkingDir:   "/",
		Labels:       r.imageLabels(),
	}
	return mutate.ConfigFile(img, cf)
}

func imageVariant(t target) string {
	if t.Arch == "arm64" {
		return "v8"
	}
	return ""
}

// imageIndex is the multi-platform index of the image.
func (r *release) imageIndex() (v1.ImageIndex, error) {
	certs, err := caBundle(caCertDir)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, t := range imagePlatforms {
		if _, err := os.Stat(r.binPath(t)); err != nil {
			return nil, fmt.Errorf("the image needs the %s binary: %w", t.spec(), err)
		}
		img, err := r.platformImage(t, certs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.spec(), err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: t.OS, Architecture: t.Arch, Variant: imageVariant(t)},
			},
		})
	}
	idx = mutate.Annotations(idx, r.imageLabels()).(v1.ImageIndex)
	return idx, nil
}

// image writes dist/mattermost_exporter-<version>.oci.tar: an OCI image layout (oci-layout,
// index.json, blobs/) in a tarball, its index.json naming the multi-platform index with the
// version as org.opencontainers.image.ref.name (the tag `podman load` and skopeo's
// oci-archive:FILE:VERSION find it by).
func (r *release) image() error {
	idx, err := r.imageIndex()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(r.dist, ".oci-layout-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary copy, the tarball is what counts
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{imageRefNameKey: r.info.Version})); err != nil {
		return err
	}
	entries, err := dirEntries(dir)
	if err != nil {
		return err
	}
	dst := filepath.Join(r.dist, imageName(r.info.Version))
	if err := writeFileAtomic(dst, func(w io.Writer) error { return writeTar(w, r.info.Epoch, entries) }); err != nil {
		return err
	}
	logArtifact(r.repo, dst)
	return nil
}

// dirEntries lists a directory tree as tar entries sorted by name (oci-layout, index.json first
// is not required by the layout specification; sorted order makes the tarball reproducible).
func dirEntries(root string) ([]entry, error) {
	var out []entry
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		name, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name = filepath.ToSlash(name)
		if d.IsDir() {
			out = append(out, entry{Name: name + "/", Mode: 0o755})
			return nil
		}
		out = append(out, entry{Name: name, Mode: 0o644, Src: path})
		return nil
	})
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}
