# syntax=docker/dockerfile:1
# Meridian's image, for those who build with Docker or BuildKit:
#   docker build -t meridian:dev --build-arg VERSION=$(git describe --tags --always) .
# scripts/build-image.sh builds the same layout with no daemon
# (docs/deploy.md compares the two).

ARG GO_VERSION=1.26.8
ARG DEBIAN=bookworm

# 1. A static meridian: CGO_ENABLED=0, so that it needs no libc.
FROM golang:${GO_VERSION}-${DEBIAN} AS meridian
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/meridian ./cmd/meridian

# 2. Terraform v1.5.7, the last MPL release, built from its Go module as
#    scripts/install-terraform.sh does (static here too).
FROM golang:${GO_VERSION}-${DEBIAN} AS terraform
ARG TERRAFORM_VERSION=v1.5.7
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOBIN=/out GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@${TERRAFORM_VERSION}"

# 3. The runtime: Debian slim with git (Terraform's git:: module sources)
#    and CA certificates, and one unprivileged user (65532, as in the
#    daemonless image and the Helm chart).
FROM debian:${DEBIAN}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 meridian \
 && useradd --uid 65532 --gid 65532 --home-dir /home/meridian --create-home --shell /usr/sbin/nologin meridian \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/meridian
COPY --from=terraform /out/terraform /usr/local/bin/terraform
COPY --from=meridian /out/meridian /usr/local/bin/meridian
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.title="meridian" \
      org.opencontainers.image.description="GitOps control plane and policy engine for hybrid clouds" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/meridianhq/meridian"
ENV HOME=/home/meridian \
    MERIDIAN_STATE_DIR=/var/lib/meridian \
    MERIDIAN_TERRAFORM=/usr/local/bin/terraform \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/meridian
VOLUME /var/lib/meridian
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/meridian", "healthcheck", "--url=http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/meridian"]
CMD ["serve", "--listen=:8080"]
