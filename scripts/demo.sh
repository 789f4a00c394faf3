#!/usr/bin/env bash
# Runs mattermost_exporter against the built-in simulated Mattermost (cmd/fake-mattermost),
# so the exporter can be tried with no Mattermost server at hand. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh

FAKE_ADDR=${FAKE_ADDR:-127.0.0.1:18065}
EXPORTER_ADDR=${EXPORTER_ADDR:-127.0.0.1:10065}
USERS=${USERS:-2000}
ERA=${ERA:-5.37}   # Mattermost version the fake reproduces: 5.37 or 11
BIN=${BIN:-.build}

mkdir -p "$BIN"
echo "building into $BIN/ ..."
make --no-print-directory build BIN="$BIN/mattermost_exporter"   # with version information
go build -o "$BIN/fake-mattermost" ./cmd/fake-mattermost

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The fake's rate limiter is on with Mattermost's own settings when enabled (10/s, burst 100),
# so the demo also shows mattermost_exporter_ratelimit_remaining. A license, jobs, plugins and
# SAML certificates (SP and IdP) valid for a year give the health, license, jobs, plugins and
# SAML expiry metrics something to show (see fake-mattermost --help to demo a fault).
"$BIN/fake-mattermost" --listen "$FAKE_ADDR" --users "$USERS" --era "$ERA" --rate-limit 10:100 \
  --license-expires-in 8760h --jobs ok --plugins ok \
  --saml-certificate-expires-in 8760h --saml-idp-certificate-expires-in 8760h &
pids+=($!)

# Wait for the simulated server to answer before starting the exporter.
for _ in $(seq 1 50); do
  if curl -fsS "http://$FAKE_ADDR/api/v4/system/ping" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

# The demo token is the fake's well-known admin token; a real deployment reads it from
# --mattermost.token-file or MATTERMOST_TOKEN, never from a flag.
MATTERMOST_TOKEN=fake-admin-token "$BIN/mattermost_exporter" \
  --mattermost.url "http://$FAKE_ADDR" \
  --web.listen-address "$EXPORTER_ADDR" \
  --collector.cluster.expected-nodes 3 &
pids+=($!)

for _ in $(seq 1 50); do
  if curl -fsS "http://$EXPORTER_ADDR/" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

cat <<MSG

  Simulated Mattermost:  http://$FAKE_ADDR  ($USERS users, 3-node cluster, SAML configured, rate limit 10/s burst 100)
  Exporter:              http://$EXPORTER_ADDR/
  Metrics:               http://$EXPORTER_ADDR/metrics
  Try:                   curl -s http://$EXPORTER_ADDR/metrics | grep '^mattermost_'

  The first scrape reports users success 0 until the user id cache is built (a second or two).
  Press Ctrl-C to stop.
MSG
wait
