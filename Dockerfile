# syntax=docker/dockerfile:1
# mattermost_exporter container image: a static binary, CA certificates and passwd/group on an
# empty base, running as nobody (65534). `make release` assembles the same image without a
# container engine (tools/release/image.go: dist/mattermost_exporter-<version>.oci.tar, amd64 and
# arm64); TestDockerfileMatchesImage (tools/release) checks that the two agree on files, user,
# port, entrypoint and labels.
#   make docker        (passes the build arguments from scripts/buildinfo.sh)
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
# Version information, as scripts/buildinfo.sh prints it outside (the build context has no .git);
# unset ones fall back to the VERSION file, "unknown" and the epoch 0.
ARG VERSION
ARG REVISION
ARG BRANCH
ARG SOURCE_DATE_EPOCH
ARG BUILD_USER
RUN set -eu; \
    export GOTOOLCHAIN="$(sed -n 's/^toolchain //p' go.mod)"; \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$(sh scripts/buildinfo.sh ldflags)" \
      -o /out/mattermost_exporter . ; \
    /out/mattermost_exporter --version
# The CA bundle as tools/release makes it: Debian's ca-certificates (in the golang image), one
# file per Mozilla CA, concatenated in byte order of the names, no local additions.
RUN cat $(LC_ALL=C ls /usr/share/ca-certificates/mozilla/*.crt) > /out/ca-certificates.crt

FROM scratch
# Build arguments are per stage: declared again to label the image with what the binary says.
ARG VERSION
ARG REVISION
ARG CREATED
LABEL org.opencontainers.image.title="mattermost_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Mattermost" \
      org.opencontainers.image.source="https://github.com/mmexporter/mattermost_exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY deploy/image/passwd /etc/passwd
COPY deploy/image/group /etc/group
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/mattermost_exporter /bin/mattermost_exporter
USER 65534:65534
EXPOSE 10065
ENTRYPOINT ["/bin/mattermost_exporter"]
