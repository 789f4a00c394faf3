package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestImage opens the OCI image tarball as a layout: index.json names one index (tagged with
// the version) of two platforms; every blob matches its digest; the amd64 image runs as
// 65534:65534 with the exporter as entrypoint, port 10065 and the OCI labels; its binary runs
// from the unpacked layers; skopeo reads the tarball as oci-archive.
func TestImage(t *testing.T) {
	r := builtRelease(t)
	tarPath := filepath.Join(r.dist, imageName(r.info.Version))
	entries := readTar(t, tarPath, false)
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
		if !e.hdr.ModTime.Equal(r.info.Epoch) || e.hdr.Uid != 0 {
			t.Errorf("%s: time %v uid %d", e.hdr.Name, e.hdr.ModTime, e.hdr.Uid)
		}
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/", "blobs/sha256/"} {
		if !slices.Contains(names, want) {
			t.Errorf("image tarball lacks %s at its root: %v", want, names)
		}
	}
	dir := t.TempDir()
	extractTar(t, entries, dir)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1 (the multi-platform index)", len(topManifest.Manifests))
	}
	desc := topManifest.Manifests[0]
	if desc.MediaType != types.OCIImageIndex || desc.Annotations[imageRefNameKey] != r.info.Version {
		t.Errorf("index.json names %s with annotations %v, want an OCI index tagged %s", desc.MediaType, desc.Annotations, r.info.Version)
	}
	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("image index does not validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
		if m.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s manifest media type %s", m.Platform, m.MediaType)
		}
	}
	if want := []string{"linux/amd64", "linux/arm64/v8"}; !slices.Equal(platforms, want) {
		t.Errorf("platforms %v, want %v", platforms, want)
	}

	for i, tg := range imagePlatforms {
		img, err := idx.Image(im.Manifests[i].Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.Architecture != tg.Arch || cf.OS != "linux" || c.User != "65534:65534" || !slices.Equal(c.Entrypoint, []string{"/bin/mattermost_exporter"}) ||
			!slices.Equal(slices.Collect(maps.Keys(c.ExposedPorts)), []string{"10065/tcp"}) {
			t.Errorf("%s config: arch %s/%s user %q entrypoint %q ports %v", tg.spec(), cf.OS, cf.Architecture, c.User, c.Entrypoint, c.ExposedPorts)
		}
		for k, want := range map[string]string{
			"org.opencontainers.image.version":  r.info.Version,
			"org.opencontainers.image.revision": r.info.Revision,
			"org.opencontainers.image.source":   imageSource,
		} {
			if c.Labels[k] != want {
				t.Errorf("%s label %s=%q, want %q", tg.spec(), k, c.Labels[k], want)
			}
		}
		if !cf.Created.Equal(r.info.Epoch) {
			t.Errorf("%s created %v, want the commit time %v", tg.spec(), cf.Created, r.info.Epoch)
		}
		if tg.Arch == "amd64" {
			checkRootfs(t, r, img)
		}
	}

	skopeo := needTool(t, "skopeo")
	ref := "oci-archive:" + tarPath + ":" + r.info.Version
	var raw v1.IndexManifest
	if err := json.Unmarshal([]byte(runOK(t, skopeo, "inspect", "--raw", ref)), &raw); err != nil || len(raw.Manifests) != 2 {
		t.Errorf("skopeo inspect --raw: %d manifests, %v", len(raw.Manifests), err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		var info struct {
			Architecture string
			Labels       map[string]string
		}
		out := runOK(t, skopeo, "inspect", "--override-os", "linux", "--override-arch", arch, ref)
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Architecture != arch || info.Labels["org.opencontainers.image.version"] != r.info.Version {
			t.Errorf("skopeo inspect (%s): %v\n%s", arch, err, out)
		}
	}
	// skopeo copies it (reading every blob of the amd64 image) into an OCI layout directory.
	runOK(t, skopeo, "--insecure-policy", "copy", "--quiet", ref, "oci:"+filepath.Join(t.TempDir(), "copy")+":"+r.info.Version)
}

// checkRootfs unpacks an image's layers and checks the files the exporter needs.
func checkRootfs(t *testing.T, r *release, img v1.Image) {
	t.Helper()
	var flat bytes.Buffer
	rc := mutate.Extract(img)
	if _, err := flat.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	rootfs := t.TempDir()
	tmpTar := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(tmpTar, flat.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, tmpTar, false)
	var files []string
	for _, e := range entries {
		files = append(files, e.hdr.Name)
		if e.hdr.Uid != 0 || e.hdr.Gid != 0 {
			t.Errorf("rootfs %s owned by %d:%d", e.hdr.Name, e.hdr.Uid, e.hdr.Gid)
		}
	}
	slices.Sort(files)
	want := []string{"bin", "bin/mattermost_exporter", "etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt"}
	if !slices.Equal(files, want) {
		t.Errorf("rootfs holds %v, want %v", files, want)
	}
	extractTar(t, entries, rootfs)

	out := runOK(t, filepath.Join(rootfs, "bin", "mattermost_exporter"), "--version")
	if !strings.Contains(out, "version "+r.info.Version+" ") || !strings.Contains(out, r.info.Revision) {
		t.Errorf("the image's binary --version:\n%s", out)
	}
	passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	if !regexp.MustCompile(`(?m)^nobody:x:65534:65534:`).Match(passwd) {
		t.Errorf("etc/passwd has no user 65534:\n%s", passwd)
	}
	bundle, _ := os.ReadFile(filepath.Join(rootfs, "etc", "ssl", "certs", "ca-certificates.crt"))
	n := 0
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("CA bundle certificate %d: %v", n, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("CA bundle holds %d certificates, want Mozilla's (over 100)", n)
	}
}

// dockerfileStage is the final stage of the Dockerfile, as far as the image's contents go.
type dockerfileStage struct {
	from, user, expose string
	entrypoint         []string
	labels             map[string]string
	copies             map[string]string // destination -> source ("build:" prefix for --from=build)
}

func parseDockerfile(t *testing.T, df string) (build string, final dockerfileStage) {
	t.Helper()
	df = strings.ReplaceAll(df, "\\\n", " ")
	i := strings.LastIndex(df, "\nFROM ")
	if i < 0 {
		t.Fatal("Dockerfile has no stage")
	}
	build = df[:i]
	final = dockerfileStage{labels: map[string]string{}, copies: map[string]string{}}
	labelRE := regexp.MustCompile(`(\S+?)="([^"]*)"`)
	for _, line := range strings.Split(df[i+1:], "\n") {
		line = strings.TrimSpace(line)
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch instr {
		case "FROM":
			final.from = rest
		case "USER":
			final.user = rest
		case "EXPOSE":
			final.expose = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &final.entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s: %v", rest, err)
			}
		case "LABEL":
			for _, m := range labelRE.FindAllStringSubmatch(rest, -1) {
				final.labels[m[1]] = m[2]
			}
		case "COPY":
			f := strings.Fields(rest)
			if len(f) == 3 && f[0] == "--from=build" {
				final.copies[f[2]] = "build:" + f[1]
			} else if len(f) == 2 {
				final.copies[f[1]] = f[0]
			} else {
				t.Errorf("COPY %s: not understood", rest)
			}
		}
	}
	return build, final
}

// TestDockerfileMatchesImage: the Dockerfile that `make docker` builds with an engine and the
// image `make release` assembles without one agree on the files and their paths, the files
// copied from the repository, the user, port, entrypoint and labels (with the build arguments
// `make docker` passes from scripts/buildinfo.sh), the binary's ldflags and the CA bundle's
// source.
func TestDockerfileMatchesImage(t *testing.T) {
	repo := repoRoot(t)
	r, err := newRelease(repo, t.TempDir(), imagePlatforms)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	build, st := parseDockerfile(t, string(b))
	if st.from != "scratch" {
		t.Errorf("final stage FROM %s, want scratch (the image holds nothing else)", st.from)
	}
	if st.user != imageUser || st.expose+"/tcp" != imagePort || !slices.Equal(st.entrypoint, []string{imageBinary}) {
		t.Errorf("Dockerfile USER %q EXPOSE %q ENTRYPOINT %q, image %q %q %q", st.user, st.expose, st.entrypoint, imageUser, imagePort, imageBinary)
	}
	// make docker's build arguments substitute into the labels.
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`--build-arg (\w+)=(\S*)`).FindAllStringSubmatch(runOK(t, "sh", filepath.Join(repo, "scripts", "buildinfo.sh"), "docker-args"), -1) {
		args[m[1]] = m[2]
	}
	labels := map[string]string{}
	for k, v := range st.labels {
		labels[k] = os.Expand(v, func(name string) string { return args[name] })
	}
	if want := r.imageLabels(); !maps.Equal(labels, want) {
		t.Errorf("Dockerfile labels (with make docker's arguments)\n%v\nimage labels\n%v", labels, want)
	}
	var imageFiles []string
	for _, e := range r.imageRootfs(imagePlatforms[0], nil) {
		if e.isDir() {
			continue
		}
		dst := "/" + e.Name
		imageFiles = append(imageFiles, dst)
		src, ok := st.copies[dst]
		switch {
		case !ok:
			continue
		case strings.HasPrefix(src, "build:"):
			// what the build stage makes: the binary and the CA bundle
			if want := map[string]string{imageBinary: "build:/out/" + binaryName, imageCABundle: "build:/out/ca-certificates.crt"}[dst]; src != want {
				t.Errorf("%s: the Dockerfile copies %s, want %s", dst, src, want)
			}
		default:
			want, err := os.ReadFile(e.Src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(repo, src))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: the Dockerfile copies %s, the image %s (%v)", dst, src, e.Src, err)
			}
		}
	}
	if got := slices.Sorted(maps.Keys(st.copies)); !slices.Equal(got, slices.Sorted(slices.Values(imageFiles))) {
		t.Errorf("Dockerfile copies into %v, the image holds %v", got, imageFiles)
	}
	for _, want := range []string{
		`-ldflags "$(sh scripts/buildinfo.sh ldflags)"`,
		"cat $(LC_ALL=C ls " + caCertDir + "/*.crt) > /out/ca-certificates.crt",
		"CGO_ENABLED=0 go build -trimpath -buildvcs=false",
	} {
		if !strings.Contains(build, want) {
			t.Errorf("the Dockerfile's build stage lacks %q", want)
		}
	}
}
