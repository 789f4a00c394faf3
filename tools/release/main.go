// Command release builds mattermost_exporter's release artifacts into dist/: static binaries,
// promu-named archives, .deb and .rpm packages (nfpm) and a multi-platform OCI image layout
// (go-containerregistry), without Docker, then sha256sums.txt. `make release` runs every step
// for every target; `make release-check` runs this module's tests, which run the same steps on
// a subset and check what they produce.
//
// Usage (from the repository root, see the Makefile):
//
//	release [-repo .] [-dist dist] [-targets linux/amd64,...] [steps...]
//
// Steps: build, archives, packages, image, checksums; none means all of them in that order.
// Version, revision, branch and the build date (from SOURCE_DATE_EPOCH, the commit time) come
// from scripts/buildinfo.sh, the one place the Makefile and the Dockerfile ask too.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	repo := flag.String("repo", ".", "repository root")
	dist := flag.String("dist", "dist", "output directory")
	targets := flag.String("targets", "all", "comma-separated os/arch targets (arm as linux/armv7), or all: "+targetList(allTargets))
	flag.Parse()
	if err := run(*repo, *dist, *targets, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(repo, dist, targetSpec string, steps []string) error {
	ts, err := parseTargets(targetSpec)
	if err != nil {
		return err
	}
	r, err := newRelease(repo, dist, ts)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		steps = []string{"build", "archives", "packages", "image", "checksums"}
	}
	for _, s := range steps {
		var err error
		switch s {
		case "build":
			err = r.buildAll()
		case "archives":
			err = r.archives()
		case "packages":
			err = r.packages()
		case "image":
			err = r.image()
		case "checksums":
			err = r.checksums()
		default:
			return fmt.Errorf("unknown step %q (want build, archives, packages, image, checksums)", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func targetList(ts []target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.spec()
	}
	return strings.Join(names, ",")
}
