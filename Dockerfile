# syntax=docker/dockerfile:1
# mattermost_exporter container image: a static binary on distroless, running as non-root.
#   make docker        (or: docker build -t mattermost_exporter .)
#   docker run -p 10065:10065 -e MATTERMOST_URL=https://chat.example.com \
#     -v /path/to/token:/etc/mattermost-exporter/token:ro mattermost_exporter \
#     --mattermost.token-file=/etc/mattermost-exporter/token

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
# The image's own Go may be older than the toolchain go.mod names (it carries the security fixes);
# the go command fetches that one from the module proxy.
RUN export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"; go mod download && go version
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE
RUN set -eu; \
    export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"; \
    build_date="${BUILD_DATE:-$(date -u +%Y%m%d-%H:%M:%S)}"; \
    pkg=github.com/prometheus/common/version; \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X ${pkg}.Version=${VERSION} \
        -X ${pkg}.Revision=${REVISION} \
        -X ${pkg}.Branch=${BRANCH} \
        -X ${pkg}.BuildUser=${BUILD_USER} \
        -X ${pkg}.BuildDate=${build_date}" \
      -o /out/mattermost_exporter . ; \
    /out/mattermost_exporter --version

FROM gcr.io/distroless/static-debian12:nonroot
# Build arguments are per stage: declared again to label the image with what the binary says.
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mattermost_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Mattermost" \
      org.opencontainers.image.source="https://github.com/mmexporter/mattermost_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/mattermost_exporter /bin/mattermost_exporter
USER 65532:65532
EXPOSE 10065
ENTRYPOINT ["/bin/mattermost_exporter"]
