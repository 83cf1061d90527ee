#!/usr/bin/env bash
# Build etcd and kube-apiserver at the versions pinned in platform/pins.yaml (test_tools) from
# the Go module proxy, for the API-tier tests (tests/api). Neither can be `go install`ed
# (etcd's server module and k8s.io/kubernetes have replace directives), so each is built from a
# wrapper module next to this script; its go.sum and the checksum database verify the sources.
# A binary already in BIN_DIR that reports the pinned version is kept.
# Usage: .ci/apiserver/build.sh BIN_DIR
#
# To move a pin: edit platform/pins.yaml, then in the wrapper module set the same version
# (for kube-apiserver: k8s.io/kubernetes v1.X.Y and every staging replace to v0.X.Y; the list
# of staging modules is the replace block of k8s.io/kubernetes' own go.mod) and run
# `go mod tidy` there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:?usage: build.sh BIN_DIR}"
# shellcheck source=.ci/pins.sh
source "$here/../pins.sh"
etcd_version="$(pin etcd)"
apiserver_version="$(pin kube_apiserver)"
mkdir -p "$bin"
bin="$(cd "$bin" && pwd)"
# the wrapper modules' go.sum are complete: never rewrite them, never use a workspace
export GOFLAGS=-mod=readonly GOWORK=off CGO_ENABLED=0

# The wrapper module must require exactly the pinned version (and, for k8s.io/kubernetes
# v1.X.Y, replace every staging module with v0.X.Y).
check_wrapper() { # dir module version
  local got
  got="$(cd "$here/$1" && go list -m -f '{{.Version}}' "$2")"
  if [ "$got" != "$3" ]; then
    echo "build.sh: $1/go.mod has $2 $got but platform/pins.yaml pins $3" >&2
    exit 1
  fi
}

if [ "$("$bin/etcd" --version 2>/dev/null | awk '/^etcd Version:/ {print "v"$3}')" != "$etcd_version" ]; then
  check_wrapper etcd go.etcd.io/etcd/server/v3 "$etcd_version"
  echo "building etcd $etcd_version"
  (cd "$here/etcd" && go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3)
fi

if [ "$("$bin/kube-apiserver" --version 2>/dev/null | awk '{print $2}')" != "$apiserver_version" ]; then
  check_wrapper kube-apiserver k8s.io/kubernetes "$apiserver_version"
  staging="v0.${apiserver_version#v1.}"
  stale="$(cd "$here/kube-apiserver" && go list -m -f '{{if .Replace}}{{.Path}} {{.Replace.Version}}{{end}}' all |
    awk -v want="$staging" '$1 ~ /^k8s\.io\// && $2 != want')"
  if [ -n "$stale" ]; then
    printf 'build.sh: staging replaces in kube-apiserver/go.mod not at %s:\n%s\n' "$staging" "$stale" >&2
    exit 1
  fi
  echo "building kube-apiserver $apiserver_version"
  # what the Kubernetes release build sets (hack/lib/version.sh), so the server reports its
  # real version (kubectl's skew check, helm's .Capabilities.KubeVersion)
  minor="${apiserver_version#v1.}"
  minor="${minor%%.*}"
  ldflags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$apiserver_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  (cd "$here/kube-apiserver" &&
    go build -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
fi
