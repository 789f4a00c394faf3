#!/usr/bin/env bash
# Installs the external tools the tests use, from Debian packages:
#   prometheus, promtool          package prometheus              e2e/prometheus_test.go, rules_test.go,
#                                                                 golden_test.go, prom_deploy_test.go
#   prometheus-alertmanager,      package prometheus-alertmanager e2e/prometheus_test.go (delivery),
#   amtool                                                        prom_deploy_test.go (check-config)
#   systemd-analyze               package systemd                 prom_deploy_test.go (verify the unit)
#   curl                          package curl                    demo_test.go (scripts/demo.sh)
#   dpkg, dpkg-deb                package dpkg                    tools/release (make release-check: the .deb)
#   rpm                           package rpm                     tools/release (the .rpm's header)
#   skopeo                        package skopeo                  tools/release (reads the OCI image tarball)
#
# Idempotent: installs only the packages whose tools are missing from PATH, with a single
# apt-get update; does nothing when every tool is there. Runs apt-get as root, or through sudo
# when not root and sudo is available.
#
# Usage: scripts/install-prometheus.sh
# Exit status: 0 when every tool is on PATH afterwards, 1 otherwise (the Makefile's `deps` turns
# that into a warning outside CI and a failure when CI is set to any non-empty value).
set -euo pipefail

# tool:package, one per tool the tests look up.
tools="prometheus:prometheus promtool:prometheus prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager systemd-analyze:systemd curl:curl"
# make release-check (tools/release)
# (The image's CA bundle comes from package ca-certificates, /usr/share/ca-certificates/mozilla:
# there wherever the go command fetched modules over HTTPS, so not listed; its tool is in sbin.)
tools="$tools dpkg:dpkg dpkg-deb:dpkg rpm:rpm skopeo:skopeo"

# missing_packages prints the packages (deduplicated, space-separated) of the tools not on PATH.
missing_packages() {
	local pair tool pkg out=""
	for pair in $tools; do
		tool=${pair%%:*}
		pkg=${pair#*:}
		if ! command -v "$tool" >/dev/null 2>&1; then
			case " $out " in
			*" $pkg "*) ;;
			*) out="$out $pkg" ;;
			esac
		fi
	done
	echo "${out# }"
}

missing_tools() {
	local pair tool out=""
	for pair in $tools; do
		tool=${pair%%:*}
		command -v "$tool" >/dev/null 2>&1 || out="$out $tool"
	done
	echo "${out# }"
}

packages=$(missing_packages)
if [ -z "$packages" ]; then
	echo "install-prometheus: every test tool is installed ($(prometheus --version 2>&1 | head -n1))"
	exit 0
fi
echo "install-prometheus: missing: $(missing_tools); installing Debian packages: $packages"

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-prometheus: apt-get not found; install $packages with your package manager" >&2
	exit 1
fi

# sudo resets the environment (env_reset), so DEBIAN_FRONTEND is passed on the command line.
# Without a terminal (CI), sudo must not wait for a password it cannot get: -n fails at once.
if [ "$(id -u)" -eq 0 ]; then
	run() { env DEBIAN_FRONTEND=noninteractive "$@"; }
elif command -v sudo >/dev/null 2>&1; then
	if [ -t 0 ]; then
		run() { sudo env DEBIAN_FRONTEND=noninteractive "$@"; }
	else
		run() { sudo -n env DEBIAN_FRONTEND=noninteractive "$@"; }
	fi
else
	echo "install-prometheus: not root and sudo is not available; install as root:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends $packages" >&2
	exit 1
fi

run apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
run apt-get install -y --no-install-recommends $packages

still=$(missing_tools)
if [ -n "$still" ]; then
	echo "install-prometheus: installed $packages but still not on PATH: $still" >&2
	exit 1
fi
echo "install-prometheus: installed: $(prometheus --version 2>&1 | head -n1)"
