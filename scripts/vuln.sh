#!/usr/bin/env bash
# make vuln: fails when the exporter's code reaches a known vulnerability (standard library or
# module). govulncheck (pinned) runs against a database built offline from the pinned
# golang.org/x/vulndb module, so nothing beyond the Go module proxy is needed: the module holds
# every OSV entry (data/osv), and its indexdb command writes them as the database govulncheck reads.
# Both tools and the database are cached under .build/.
#
# Findings in packages the code imports, or in modules it requires, that it does not call are
# printed too (-show verbose) but do not fail the run; govulncheck exits 3 only for reachable ones.
#
# To bump the database: take the newest pseudo-version the proxy serves,
#   go list -m -json golang.org/x/vulndb@master   (or @latest; prints the Version)
# set VULNDB_VERSION below to it, and run make vuln (the new database is built on first use).
# Bump GOVULNCHECK_VERSION the same way (golang.org/x/vuln releases).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh

GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}

root=$(pwd)
bin="$root/.build/vuln/bin"
db="$root/.build/vuln/db-$VULNDB_VERSION"
stamp="$bin/versions"
want="govulncheck $GOVULNCHECK_VERSION indexdb $VULNDB_VERSION toolchain $(go env GOVERSION)"

if [ ! -x "$bin/govulncheck" ] || [ ! -x "$bin/indexdb" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "vuln: building govulncheck $GOVULNCHECK_VERSION and indexdb ($VULNDB_VERSION) into $bin"
	mkdir -p "$bin"
	GOBIN="$bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	GOBIN="$bin" go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION"
	echo "$want" >"$stamp"
fi

if [ ! -f "$db/index/db.json" ]; then
	echo "vuln: building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
	src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
		echo "vuln: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv directory" >&2
		exit 1
	fi
	rm -rf "$db.tmp"
	"$bin/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
	mv "$db.tmp" "$db"
fi

echo "vuln: $(go env GOVERSION), govulncheck $GOVULNCHECK_VERSION, database golang.org/x/vulndb@$VULNDB_VERSION ($(ls "$db/ID" | grep -c "\.json$") entries)"
"$bin/govulncheck" -db "file://$db" -show verbose ./...
