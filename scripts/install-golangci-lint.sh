#!/usr/bin/env bash
# Installs the pinned golangci-lint into the project-local bin directory (.build/bin, ignored by
# git), so that `make lint` runs the same linter version everywhere. Builds it from source with
# `go install` through the Go module proxy; does nothing when the pinned version is already there.
#
# Usage: scripts/install-golangci-lint.sh
# Environment:
#   GOLANGCI_LINT_VERSION  version to install (default below; keep it in sync with .golangci.yml)
#   BIN_DIR                where to install (default: <repo>/.build/bin)
set -euo pipefail
. "$(dirname "$0")/goenv.sh"

version=${GOLANGCI_LINT_VERSION:-v2.15.0}
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${BIN_DIR:-"$root/.build/bin"}
bin="$bin_dir/golangci-lint"

# `golangci-lint version --short` prints e.g. "2.15.0".
if [ -x "$bin" ] && [ "$("$bin" version --short 2>/dev/null)" = "${version#v}" ]; then
	echo "install-golangci-lint: golangci-lint ${version} already in ${bin_dir}"
	exit 0
fi

mkdir -p "$bin_dir"
echo "install-golangci-lint: building golangci-lint ${version} into ${bin_dir} (takes a few minutes)"
GOBIN="$bin_dir" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${version}"

got=$("$bin" version --short 2>/dev/null || true)
if [ "$got" != "${version#v}" ]; then
	echo "install-golangci-lint: installed ${bin} reports version '${got}', want ${version#v}" >&2
	exit 1
fi
echo "install-golangci-lint: installed golangci-lint ${got}"
