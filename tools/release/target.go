package main

import (
	"fmt"
	"slices"
	"strings"
)

// binaryName is the exporter's file name in archives, packages and the image.
const binaryName = "mattermost_exporter"

// target is one platform of the release.
type target struct {
	OS, Arch string
	ARM      string // GOARM for Arch "arm"
}

// allTargets are the platforms `make release` builds (issue 27).
var allTargets = []target{
	{OS: "linux", Arch: "amd64"},
	{OS: "linux", Arch: "arm64"},
	{OS: "linux", Arch: "arm", ARM: "7"},
	{OS: "linux", Arch: "ppc64le"},
	{OS: "linux", Arch: "s390x"},
	{OS: "darwin", Arch: "amd64"},
	{OS: "darwin", Arch: "arm64"},
	{OS: "windows", Arch: "amd64"},
	{OS: "freebsd", Arch: "amd64"},
}

// platform is promu's name of the platform: os-arch, arm with its version (linux-armv7).
func (t target) platform() string {
	return t.OS + "-" + t.Arch + t.armSuffix()
}

// spec is the -targets spelling: os/arch (linux/armv7).
func (t target) spec() string {
	return t.OS + "/" + t.Arch + t.armSuffix()
}

func (t target) armSuffix() string {
	if t.ARM != "" {
		return "v" + t.ARM
	}
	return ""
}

// exe is the binary's file name on the platform.
func (t target) exe() string {
	if t.OS == "windows" {
		return binaryName + ".exe"
	}
	return binaryName
}

// archiveBase is promu's archive name without extension, also the directory inside it:
// mattermost_exporter-0.1.0.linux-amd64.
func archiveBase(version string, t target) string {
	return fmt.Sprintf("%s-%s.%s", binaryName, version, t.platform())
}

// nfpmArch is the architecture as nfpm takes it (GOARCH, arm7 for GOARM=7).
func (t target) nfpmArch() string {
	if t.Arch == "arm" {
		return "arm" + t.ARM
	}
	return t.Arch
}

func parseTargets(spec string) ([]target, error) {
	if spec == "all" || spec == "" {
		return allTargets, nil
	}
	var out []target
	for _, s := range strings.Split(spec, ",") {
		i := slices.IndexFunc(allTargets, func(t target) bool { return t.spec() == strings.TrimSpace(s) })
		if i < 0 {
			return nil, fmt.Errorf("unknown target %q (known: %s)", s, targetList(allTargets))
		}
		if !slices.Contains(out, allTargets[i]) {
			out = append(out, allTargets[i])
		}
	}
	return out, nil
}
