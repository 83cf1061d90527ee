#!/usr/bin/env bash
# Build the kaniko executor pinned in platform/pins.yaml (test_tools.kaniko) from the Go module
# proxy, through the wrapper module next to this script (see its go.mod for why not `go
# install`; its go.sum and the checksum database verify the sources), and package it as a local image, `docker import` of a folder holding
# only /kaniko/executor, for the docker-tier test that builds the project's Dockerfiles with it.
# Cached under $HOME/.cache/streamforge/kaniko/<version>/.
# Usage: .ci/kaniko/build.sh   (prints the image reference)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=.ci/pins.sh
source "$here/../pins.sh"
version="$(pin kaniko)"
image="streamforge-test/kaniko-executor:$version"
cache="$HOME/.cache/streamforge/kaniko/$version"
if [ ! -x "$cache/executor" ]; then
  module=github.com/GoogleContainerTools/kaniko
  got="$(cd "$here" && GOFLAGS=-mod=readonly GOWORK=off go list -m -f '{{.Version}}' "$module")"
  if [ "$got" != "$version" ]; then
    echo "build.sh: .ci/kaniko/go.mod has $module $got but platform/pins.yaml pins $version" >&2
    exit 1
  fi
  echo "building kaniko $version" >&2
  mkdir -p "$cache"
  # static, as upstream's Makefile builds it (the image has no libc); the version is what
  # upstream's ldflags stamp into `executor version`
  (cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOWORK=off go build -trimpath \
    -ldflags "-X $module/pkg/version.version=$version" -o "$cache/executor.tmp" "$module/cmd/executor")
  mv "$cache/executor.tmp" "$cache/executor"
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/kaniko/.docker" "$root/kaniko/ssl/certs" "$root/workspace"
  cp "$cache/executor" "$root/kaniko/executor"
  # upstream's image sets these; DOCKER_CONFIG and SSL_CERT_DIR are where kaniko reads its
  # registry credentials and CAs
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/kaniko' \
    --change 'ENV HOME=/root' \
    --change 'ENV USER=root' \
    --change 'ENV DOCKER_CONFIG=/kaniko/.docker/' \
    --change 'ENV SSL_CERT_DIR=/kaniko/ssl/certs' \
    --change 'WORKDIR /workspace' \
    --change 'ENTRYPOINT ["/kaniko/executor"]' \
    - "$image" >/dev/null
fi
echo "$image"
