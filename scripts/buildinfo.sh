#!/bin/sh
# The one place the build's version information comes from: `make build`, `make release`, the
# release tool (tools/release), `make docker` and the Dockerfile all ask this script.
#
#   VERSION            the VERSION file
#   REVISION           git rev-parse HEAD
#   BRANCH             git rev-parse --abbrev-ref HEAD
#   SOURCE_DATE_EPOCH  the commit time of HEAD (git log -1 --format=%ct), so that two builds of
#                      one commit get the same build date (https://reproducible-builds.org/specs/source-date-epoch/)
#   BUILD_DATE         SOURCE_DATE_EPOCH as 20060102-15:04:05 UTC (promu's format)
#   CREATED            SOURCE_DATE_EPOCH as RFC 3339 UTC (the image's org.opencontainers.image.created)
#   BUILD_USER         fixed, not user@host, so that builds on two machines are identical
# A variable already set in the environment wins (the Dockerfile's build arguments, CI, `make
# VERSION=...`); without git (a source tarball) REVISION and BRANCH are "unknown" and the epoch
# is 0 unless SOURCE_DATE_EPOCH is set.
#
# Usage: scripts/buildinfo.sh [env|ldflags|version|docker-args]
#   env      VAR=value lines (default)
#   docker-args  the --build-arg options for the Dockerfile (make docker)
#   ldflags  the -ldflags value for go build (github.com/prometheus/common/version)
#   version  the version alone
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

git_or() {
	# git_or DEFAULT ARGS...: git's answer in the repository, or DEFAULT without git or a commit.
	def=$1
	shift
	if out=$(git -C "$root" "$@" 2>/dev/null) && [ -n "$out" ]; then
		echo "$out"
	else
		echo "$def"
	fi
}

: "${VERSION:=$(cat "$root/VERSION")}"
: "${REVISION:=$(git_or unknown rev-parse HEAD)}"
: "${BRANCH:=$(git_or unknown rev-parse --abbrev-ref HEAD)}"
: "${SOURCE_DATE_EPOCH:=$(git_or 0 log -1 --format=%ct HEAD)}"
: "${BUILD_USER:=unknown}"
case $SOURCE_DATE_EPOCH in
'' | *[!0-9]*)
	echo "buildinfo: SOURCE_DATE_EPOCH must be seconds since 1970, got '$SOURCE_DATE_EPOCH'" >&2
	exit 1
	;;
esac
# GNU date takes -d @N, BSD date (macOS) -r N.
epoch_date() {
	date -u -d "@$SOURCE_DATE_EPOCH" "$1" 2>/dev/null || date -u -r "$SOURCE_DATE_EPOCH" "$1"
}
BUILD_DATE=$(epoch_date +%Y%m%d-%H:%M:%S)
CREATED=$(epoch_date +%Y-%m-%dT%H:%M:%SZ)

case ${1:-env} in
env)
	printf 'VERSION=%s\nREVISION=%s\nBRANCH=%s\nSOURCE_DATE_EPOCH=%s\nBUILD_DATE=%s\nCREATED=%s\nBUILD_USER=%s\n' \
		"$VERSION" "$REVISION" "$BRANCH" "$SOURCE_DATE_EPOCH" "$BUILD_DATE" "$CREATED" "$BUILD_USER"
	;;
ldflags)
	pkg=github.com/prometheus/common/version
	printf '%s\n' "-s -w -X $pkg.Version=$VERSION -X $pkg.Revision=$REVISION -X $pkg.Branch=$BRANCH -X $pkg.BuildUser=$BUILD_USER -X $pkg.BuildDate=$BUILD_DATE"
	;;
version)
	echo "$VERSION"
	;;
docker-args)
	for v in VERSION REVISION BRANCH SOURCE_DATE_EPOCH BUILD_USER CREATED; do
		eval "printf -- '--build-arg %s=%s ' $v \"\$$v\""
	done
	echo
	;;
*)
	echo "usage: $0 [env|ldflags|version|docker-args]" >&2
	exit 2
	;;
esac
