#!/usr/bin/env bash
# Build, from source, every image the CI's kind replica needs (no image registry is reachable):
# the kind node image and the component images listed in .ci/replica/images.tsv, each under
# its exact upstream reference in the local Docker engine. See .ci/replica/README.md.
#
# Idempotent and cached: each image's key is a hash of its images.tsv row, these scripts (and
# the wrapper modules or sources it is built from) and the Go version. An image already in the
# engine with its key (label org.streamforge.ci-replica.key) is kept; else a `docker save`d
# tar in the cache is loaded; else it is built and saved there.
# Env: STREAMFORGE_CI_REPLICA_CACHE (default ~/.cache/streamforge/ci-replica); the Debian mirror
# variables of rootfs.sh. Needs root (debootstrap, chroot), docker, go, gcc, apt-get.
# Usage: .ci/replica/build.sh [ID...]   (default: every row whose dest is engine)
set -euo pipefail
# shellcheck disable=SC2034  # used by lib.sh's progress lines
started=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=.ci/replica/lib.sh
source "$here/lib.sh"
# shellcheck source=.ci/pins.sh
source "$here/../pins.sh"
# shellcheck source=.ci/replica/gobuild.sh
source "$here/gobuild.sh"
# shellcheck source=.ci/replica/images.sh
source "$here/images.sh"

cache="${STREAMFORGE_CI_REPLICA_CACHE:-$HOME/.cache/streamforge/ci-replica}"
work="$cache/work"
# shellcheck disable=SC2034  # used by gobuild.sh and images.sh
bins="$work/bin"
mkdir -p "$cache/images"

# one place per fact: the versions platform/pins.yaml also names must agree
check_pin() { # id pin-name
  [ "$(version_of "$1")" = "$(pin "$2")" ] ||
    die "images.tsv row $1 has $(version_of "$1") but platform/pins.yaml pins $2 $(pin "$2")"
}
check_pin node kind
check_pin kubernetes kube_apiserver
check_pin etcd etcd
check_pin registry registry

# `inputs ID`: the files besides images.tsv whose contents decide ID's image
inputs() {
  local common=("$here/build.sh" "$here/lib.sh" "$here/gobuild.sh" "$here/images.sh")
  case "$1" in
    node) printf '%s\n' "${common[@]}" "$here/rootfs.sh" "$here"/node/* "$here"/kindnetd/* \
      "$here"/kindfiles/* "$here"/k8s/go.* "$repo_dir"/.ci/apiserver/etcd/go.* ;;
    kubectl) printf '%s\n' "${common[@]}" "$here/rootfs.sh" "$here"/k8s/go.* ;;
    traefik) printf '%s\n' "${common[@]}" "$here"/traefik/go.* ;;
    *) printf '%s\n' "${common[@]}" ;;
  esac
}
# `key ID`: the cache key of ID's image; the node's covers every row it holds
key() {
  local rows files
  if [ "$1" = node ]; then
    rows="$(for id in node $(ids nodefs node); do row "$id"; done)"
  else
    rows="$(row "$1")"
  fi
  mapfile -t files < <(inputs "$1")
  { printf '%s\n%s\n' "$rows" "$(go env GOVERSION)"; hash_inputs "${files[@]}"; } | sha256sum | cut -c1-16
}

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(ids engine); fi
todo=()
for id in "${targets[@]}"; do
  [ "$(col "$id" 3)" = engine ] || die "$id: only rows with dest engine are built on their own (node rows go into the node image)"
  k="$(key "$id")"
  ref="$(ref_of "$id")"
  tar="$cache/images/$id-$k.tar"
  if have_image "$ref" "$k"; then
    say "$ref: up to date"
  elif [ -s "$tar" ]; then
    docker load -q -i "$tar" >/dev/null
    step "$ref: loaded from the cache"
  else
    todo+=("$id")
  fi
done
if [ ${#todo[@]} -eq 0 ]; then
  say "all ${#targets[@]} images present"
  exit 0
fi
say "to build: ${todo[*]}"

# what the images to build need: Debian trees, binaries
need_rootfs=""
needs=()
for id in "${todo[@]}"; do
  case "$id" in
    node)
      need_rootfs=1
      needs+=(kubernetes containerd crictl cni-plugins etcd coredns pause kindnetd
        kind-local-path-provisioner busybox) ;;
    kubectl) need_rootfs=1; needs+=(kubernetes) ;;
    kind-local-path-helper | busybox) needs+=(busybox) ;;
    local-path-provisioner | mc) needs+=(busybox "$id") ;;
    *) needs+=("$id") ;;
  esac
done

# debootstrap and apt mostly wait on the network: run them beside the compiles
rootfs_pid=""
if [ -n "$need_rootfs" ]; then
  say "Debian trees (rootfs.sh) in the background, log $work/rootfs.log"
  bash "$here/rootfs.sh" "$work" &
  rootfs_pid=$!
fi
declare -A seen=()
for b in "${needs[@]}"; do
  [ -z "${seen[$b]:-}" ] || continue
  seen[$b]=1
  binaries "$b"
done
if [ -n "$rootfs_pid" ]; then
  wait "$rootfs_pid" || die "rootfs.sh failed"
  step "Debian trees ready"
fi

for id in "${todo[@]}"; do
  k="$(key "$id")"
  if [ "$id" = node ]; then
    for n in $(ids node); do image "$n" "$k"; done
    step "node's preloaded images assembled"
  fi
  image "$id" "$k"
  rm -f "$cache/images/$id"-*.tar
  docker save -o "$cache/images/$id-$k.tar.part" "$(ref_of "$id")"
  mv "$cache/images/$id-$k.tar.part" "$cache/images/$id-$k.tar"
  step "$(ref_of "$id"): built and cached"
done
rm -rf "$work/rootfs" "$work/nodefs" "$work/proxyfs" "$work/img"
say "done"
