# mattermost_exporter
# Every go command here, and those the tests run, use the toolchain go.mod names (see
# scripts/goenv.sh): a machine's own Go may be older and ignore go.mod's toolchain line.
GOTOOLCHAIN ?= $(shell sed -n 's/^toolchain //p' go.mod)
export GOTOOLCHAIN
GO        ?= go
BIN       ?= mattermost_exporter
PKG       := github.com/prometheus/common/version
VERSION   ?= $(shell cat VERSION)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w \
	-X $(PKG).Version=$(VERSION) \
	-X $(PKG).Revision=$(REVISION) \
	-X $(PKG).Branch=$(BRANCH) \
	-X $(PKG).BuildUser=$(shell whoami)@$(shell hostname) \
	-X $(PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)
IMAGE     ?= mattermost_exporter:$(VERSION)
# installed by scripts/install-golangci-lint.sh (pinned version)
GOLANGCI_LINT := .build/bin/golangci-lint

.PHONY: all build test docs-check demo lint vuln bench hostile docker deps rules prometheusrule clean

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
## and the docs checks (docs-check runs them alone)
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## docs-check: the docs against the code: flags, config keys, metrics, dashboard table, links,
## README size, and the code blocks of README.md, CONTRIBUTING.md and docs/ (run, or marked why
## not); the example PromQL is evaluated by TestPrometheusEndToEnd (make test)
docs-check: deps
	$(GO) test -count=1 -run '^TestDocs' . ./internal/docscheck/ ./e2e/

## demo: the exporter against the built-in simulated Mattermost
demo:
	./scripts/demo.sh

## lint: gofmt, then golangci-lint (pinned, see .golangci.yml; its govet covers go vet).
## promlint/promtool checks of the exporter's output run inside the tests.
lint:
	@./scripts/install-golangci-lint.sh
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt -s needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...

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

## docker: container image (needs a Docker engine)
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) \
	  --build-arg BUILD_USER=$(shell whoami)@$(shell hostname) --build-arg BUILD_DATE=$(shell date -u +%Y%m%d-%H:%M:%S) \
	  -t $(IMAGE) .

## rules: check the alert rules and run their unit tests with promtool
rules: deps
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

## prometheusrule: regenerate the Kubernetes PrometheusRule from alerts.yml
prometheusrule:
	./scripts/gen-prometheusrule.sh

clean:
	rm -rf $(BIN) .build
