#!/usr/bin/env bash
# Build kind and helm at the versions pinned in platform/pins.yaml with `go install` from the
# Go module proxy (go.sum and the checksum database verify the sources). helm gets the
# ldflags its Makefile sets, so it reports its real version and Kubernetes minor.
# Usage: .ci/go-tools.sh BIN_DIR
set -euo pipefail
bin="${1:?usage: go-tools.sh BIN_DIR}"
# shellcheck source=.ci/pins.sh
source "$(dirname "$0")/pins.sh"
kind_version="$(pin kind)"
helm_version="$(pin helm)"
mkdir -p "$bin"
export GOBIN="$bin" GOFLAGS=-mod=mod

if [ "$("$bin/kind" version 2>/dev/null | awk '{print $2}')" != "$kind_version" ]; then
  echo "building kind $kind_version"
  go install "sigs.k8s.io/kind@$kind_version"
fi
if [ "$("$bin/helm" version --template '{{.Version}}' 2>/dev/null)" != "$helm_version" ]; then
  echo "building helm $helm_version"
  # the Kubernetes minor helm assumes by default comes from its client-go version
  go mod download -json "helm.sh/helm/v3@$helm_version" >/dev/null
  gomod="$(go env GOMODCACHE)/helm.sh/helm/v3@$helm_version/go.mod"
  k8s_minor="$(awk '$1 == "k8s.io/client-go" {split($2, v, "."); print v[2]}' "$gomod")"
  go install -ldflags "\
    -X helm.sh/helm/v3/internal/version.version=$helm_version \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor" \
    "helm.sh/helm/v3/cmd/helm@$helm_version"
fi
# the docker-tier tests package a registry built from source (no registry image can be pulled)
registry_version="$(pin registry)"
if [ ! -x "$bin/registry" ] || [ "$(cat "$bin/.registry-version" 2>/dev/null)" != "$registry_version" ]; then
  echo "building registry $registry_version"
  go install "github.com/distribution/distribution/v3/cmd/registry@$registry_version"
  echo "$registry_version" > "$bin/.registry-version"
fi
