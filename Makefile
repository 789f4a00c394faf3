# mattermost_exporter
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

.PHONY: all build test demo lint bench hostile docker deps rules prometheusrule clean

all: lint test build

## build: static binary with version information
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

## deps: what the tests need besides Go (Debian's prometheus package: prometheus + promtool)
deps:
	@./scripts/install-prometheus.sh || { \
	  if [ "$$CI" = "true" ]; then exit 1; fi; \
	  echo "warning: Prometheus not installed; the tests that need it will skip (CI=true makes them fail)"; }

## test: every test: unit, fake-server, end-to-end with the real binary and a real Prometheus
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## demo: the exporter against the built-in simulated Mattermost
demo:
	./scripts/demo.sh

## lint: formatting, vet, and promlint/promtool on the exporter's output (inside the tests)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: scale benchmarks (issue 3) against the fake server with the real latency model
bench:
	$(GO) test -run '^$$' -bench . -benchtime 5x -timeout 30m ./collector/

## hostile: issue 7's tests against a hostile Mattermost (memory, deadlines, leaks, signals); prints a summary table
hostile:
	$(GO) test -run TestHostile -v -count=1 -parallel 4 -timeout 15m ./e2e/

## docker: container image (needs a Docker engine)
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) \
	  --build-arg BUILD_USER=$(shell whoami)@$(shell hostname) --build-arg BUILD_DATE=$(shell date -u +%Y%m%d-%H:%M:%S) \
	  -t $(IMAGE) .

## rules: check the alert rules and run their unit tests with promtool
rules:
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

## prometheusrule: regenerate the Kubernetes PrometheusRule from alerts.yml
prometheusrule:
	./scripts/gen-prometheusrule.sh

clean:
	rm -rf $(BIN) .build
