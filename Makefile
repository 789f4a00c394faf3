# mattermost_exporter
# Every go command here, and those the tests run, use the toolchain go.mod names (see
# scripts/goenv.sh): a machine's own Go may be older and ignore go.mod's toolchain line.
GOTOOLCHAIN ?= $(shell sed -n 's/^toolchain //p' go.mod)
export GOTOOLCHAIN
GO        ?= go
BIN       ?= mattermost_exporter
# Version, revision, branch and build date (the commit time, SOURCE_DATE_EPOCH) come from
# scripts/buildinfo.sh, for build, release, docker and the Dockerfile alike; VERSION=...,
# REVISION=..., BRANCH=... or SOURCE_DATE_EPOCH=... in the environment or on make's command line
# override them.
export VERSION REVISION BRANCH SOURCE_DATE_EPOCH BUILD_USER
LDFLAGS    = $(shell ./scripts/buildinfo.sh ldflags)
IMAGE     ?= mattermost_exporter:$(shell ./scripts/buildinfo.sh version)
# installed by scripts/install-golangci-lint.sh (pinned version)
GOLANGCI_LINT := .build/bin/golangci-lint

.PHONY: all build test docs-check demo lint vuln bench hostile soak docker deps rules mixin kube helm clean release release-check

all: lint test build

## build: static binary with version information
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

## deps: what the tests need besides Go (Debian packages: prometheus for prometheus + promtool,
## prometheus-alertmanager for alertmanager + amtool, systemd for systemd-analyze). Outside CI a
## failed install is a warning and the tests that need a tool skip or check less; with CI set to
## any non-empty value it fails the run, and so do those tests.
deps:
	@./scripts/install-prometheus.sh || { \
	  if [ -n "$$CI" ]; then echo "error: test tools not installed and CI is set" >&2; exit 1; fi; \
	  echo "warning: test tools not installed; the tests that need them will skip (CI=1 makes them fail)"; }

## test: every test: unit, fake-server, end-to-end with the real binary and a real Prometheus,
## and the docs checks (docs-check runs them alone); e2e alone takes about 9 minutes on 2 cores,
## past go test's default 10-minute timeout under load
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

## docs-check: the docs against the code: flags, config keys, metrics, dashboard table, links,
## README size, and the code blocks of README.md, CONTRIBUTING.md and docs/ (run, or marked why
## not); the example PromQL is evaluated by TestPrometheusEndToEnd (make test)
docs-check: deps
	$(GO) test -count=1 -run '^TestDocs' . ./internal/docscheck/ ./e2e/

## demo: the exporter against the built-in simulated Mattermost
demo:
	./scripts/demo.sh

## lint: gofmt, then golangci-lint (pinned, see .golangci.yml; its govet covers go vet) on the
## exporter's module and on the tools modules (tools/release, tools/kube).
## promlint/promtool checks of the exporter's output run inside the tests.
lint:
	@./scripts/install-golangci-lint.sh
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt -s needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...
	cd tools/release && $(CURDIR)/$(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...
	cd tools/kube && $(CURDIR)/$(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...

## vuln: govulncheck (pinned) with a database built offline from the pinned golang.org/x/vulndb;
## fails on any vulnerability the code reaches (scripts/vuln.sh says how to bump the database)
vuln:
	./scripts/vuln.sh

## bench: scale benchmarks (issue 3) against the fake server with the real latency model.
## With 2 or more CPUs and taskset, the fake Mattermost runs on the last CPU and the benchmark
## on the others, so that the two do not compete for a core (Mattermost has its own machine in
## production); BENCH_PIN=0 runs them unpinned.
BENCH_PIN ?= 1
BENCH_FLAGS = -run '^$$' -bench . -benchtime 5x -timeout 30m ./collector/
bench:
	@n=$$(nproc 2>/dev/null || echo 1); \
	if [ "$(BENCH_PIN)" = 1 ] && [ "$$n" -ge 2 ] && command -v taskset >/dev/null; then \
		echo "bench: fake Mattermost on CPU $$((n-1)), the benchmark on CPUs 0-$$((n-2)) (BENCH_PIN=0: unpinned)"; \
		MMEXP_BENCH_FAKE_CPUS=$$((n-1)) $(GO) test -exec "taskset -c 0-$$((n-2))" $(BENCH_FLAGS); \
	else \
		$(GO) test $(BENCH_FLAGS); \
	fi

## hostile: issue 7's tests against a hostile Mattermost (memory, deadlines, leaks, signals); prints a summary table
hostile:
	$(GO) test -run TestHostile -v -count=1 -parallel 4 -timeout 15m ./e2e/

## soak: issue 28's churn test for SOAK_DURATION (default 30m) against the real binary: exact
## counts at every quiet checkpoint, RSS/heap/goroutines/fds flat (a slope test); prints a summary.
## `make test` runs the same test for 60 s.
SOAK_DURATION ?= 30m
soak:
	MMEXP_SOAK_DURATION=$(SOAK_DURATION) $(GO) test -run '^TestSoakChurn$$' -v -count=1 -timeout 0 ./e2e/

## docker: container image (needs a Docker engine); `make release` builds the same image without one
docker:
	docker build $$(./scripts/buildinfo.sh docker-args) -t $(IMAGE) .

## release: everything in dist/ (docs/install.md): static binaries for RELEASE_TARGETS (all 9 by
## default), promu-named archives, .deb and .rpm (linux), the OCI image tarball (linux amd64 and
## arm64), sha256sums.txt; reproducible from the commit (tools/release, its own Go module)
RELEASE_TARGETS ?= all
RELEASE_TOOL    := .build/bin/release
release:
	$(GO) -C tools/release build -o $(CURDIR)/$(RELEASE_TOOL) .
	$(RELEASE_TOOL) -repo . -dist dist -targets $(RELEASE_TARGETS)
	cd dist && sha256sum -c --quiet sha256sums.txt

## release-check: the release tool's tests (CI): builds linux amd64 and arm64 twice (the second
## time with an empty build cache) and checks archives, reproducibility, the .deb installed into
## a scratch root (dpkg, systemd-analyze), the .rpm's header, and the OCI image (skopeo)
release-check: deps
	cd tools/release && $(GO) vet ./... && $(GO) test -count=1 -timeout 30m ./...

## rules: check the alert rules and run their unit tests with promtool
rules: deps
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

## mixin: render the monitoring mixin (mixin/) into deploy/prometheus/alerts.yml, the
## PrometheusRule deploy/kubernetes/prometheusrule.yaml, dashboards/mattermost.json and the Helm
## chart's files/ (go-jsonnet, pinned in tools/kube); `make kube` fails when they differ
mixin:
	cd tools/kube && $(GO) run ./cmd/mixin -root ../..

## helm: build the pinned Helm (tools/kube/go.mod) into .build/bin/helm-<version>, once per
## version (a cached .build/ skips the minutes the build takes)
HELM_VERSION := $(shell sed -n 's/^\thelm.sh\/helm\/v4 //p' tools/kube/go.mod)
HELM := .build/bin/helm-$(HELM_VERSION)
helm: $(HELM)
$(HELM):
	@mkdir -p .build/bin
	cd tools/kube && CGO_ENABLED=0 $(GO) build -trimpath \
	  -ldflags "-X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)" -o ../../$(HELM) helm.sh/helm/v4/cmd/helm

## kube: the Kubernetes kit (tools/kube): the mixin renders byte for byte what is committed and
## follows the alert and dashboard conventions; helm lint --strict and helm template of the
## chart for every values file in deploy/helm/ci; every rendered object and every kustomize
## manifest decodes strictly into the Kubernetes and prometheus-operator Go types
kube: deps $(HELM)
	cd tools/kube && HELM=$(CURDIR)/$(HELM) $(GO) test -count=1 ./...

clean:
	rm -rf $(BIN) .build dist
