#!/usr/bin/env bash
# Installs Debian's Prometheus server (which brings promtool) and Alertmanager, used by the
# rule unit tests (e2e/rules_test.go) and the end-to-end test with a real Prometheus
# (e2e/prometheus_test.go).
#
# Idempotent: does nothing when prometheus, promtool and prometheus-alertmanager are already
# on PATH. Runs apt-get as root, or through sudo when not root and sudo is available.
#
# Usage: scripts/install-prometheus.sh
# Environment:
#   PROMETHEUS_PACKAGES  packages to install (default: "prometheus prometheus-alertmanager")
set -euo pipefail

packages=${PROMETHEUS_PACKAGES:-"prometheus prometheus-alertmanager"}

have_all() {
	command -v prometheus >/dev/null 2>&1 || return 1
	command -v promtool >/dev/null 2>&1 || return 1
	case " ${packages} " in
	*" prometheus-alertmanager "*) command -v prometheus-alertmanager >/dev/null 2>&1 || return 1 ;;
	esac
	return 0
}

if have_all; then
	echo "install-prometheus: already installed: $(prometheus --version 2>&1 | head -n1)"
	exit 0
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
	echo "  apt-get update && apt-get install -y --no-install-recommends ${packages}" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-prometheus: apt-get not found; install ${packages} with your package manager" >&2
	exit 1
fi

run apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
run apt-get install -y --no-install-recommends ${packages}

if ! have_all; then
	echo "install-prometheus: installed ${packages} but prometheus/promtool are still not on PATH" >&2
	exit 1
fi
echo "install-prometheus: installed: $(prometheus --version 2>&1 | head -n1)"
