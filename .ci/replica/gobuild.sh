# shellcheck shell=bash disable=SC2154  # bins, work, replica_dir, ...: set by build.sh and lib.sh
# Sourced by .ci/replica/build.sh: the binaries of images.tsv, from the Go module proxy (static,
# -trimpath, stripped), Debian packages and the Kubernetes module zip. `binaries ID` builds what
# row ID needs into $bins/ID once per run; go's build cache (default `go env GOCACHE`, shared
# with .ci/apiserver/build.sh) makes a rebuild of unchanged sources a link step.
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
declare -A built=()

# `go_install ID [go flags...]`: `go install MODULE/PKG@VERSION` for every package of ID's
# build column (the modules have no replace directives, so no wrapper module is needed).
go_install() {
  local id="$1" module version pkgs=() pkg
  shift
  module="$(module_of "$id")"
  version="$(version_of "$id")"
  for pkg in $(col "$id" 6 | tr ',' ' '); do
    if [ "$pkg" = . ]; then pkgs+=("$module@$version"); else pkgs+=("$module/$pkg@$version"); fi
  done
  mkdir -p "$bins/$id"
  GOBIN="$bins/$id" go install -trimpath "$@" "${pkgs[@]}"
}

# `wrapper_check DIR MODULE VERSION`: the wrapper module DIR requires MODULE at VERSION.
wrapper_check() {
  local got
  got="$(cd "$1" && go list -m -f '{{.Version}}' "$2")"
  [ "$got" = "$3" ] || die "${1#"$repo_dir"/}/go.mod has $2 $got but images.tsv says $3"
}

k8s_ldflags() { # the version ldflags of Kubernetes' hack/lib/version.sh: kubeadm picks its image tags from them
  local v="$1" minor pkg out="-s -w"
  minor="${v#v1.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    out+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s\n' "$out"
}

build_kubernetes() {
  local v pkgs=() pkg
  v="$(version_of kubernetes)"
  wrapper_check "$replica_dir/k8s" k8s.io/kubernetes "$v"
  for pkg in $(col kubernetes 6 | tr ',' ' '); do pkgs+=("k8s.io/kubernetes/$pkg"); done
  mkdir -p "$bins/kubernetes"
  # one go build: the seven binaries share most packages
  (cd "$replica_dir/k8s" && go build -trimpath -ldflags "$(k8s_ldflags "$v")" -o "$bins/kubernetes/" "${pkgs[@]}")
  [ "$("$bins/kubernetes/kubeadm" version -o short)" = "$v" ] || die "kubeadm does not report $v"
}

build_etcd() {
  local dir="$repo_dir/.ci/apiserver/etcd"
  wrapper_check "$dir" "$(module_of etcd)" "$(version_of etcd)"
  mkdir -p "$bins/etcd"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$bins/etcd/etcd" "$(module_of etcd)")
}

build_traefik() {
  local dir="$replica_dir/traefik" v mod upstream ours
  v="$(version_of traefik)"
  mod="$(module_of traefik)"
  wrapper_check "$dir" "$mod" "$v"
  # the wrapper must repeat Traefik's own replace block
  upstream="$(go mod download -json "$mod@$v" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  ours="$(sed -n '/^replace (/,/^)/p' "$dir/go.mod")"
  [ "$ours" = "$(sed -n '/^replace (/,/^)/p' "$upstream")" ] ||
    die "traefik/go.mod's replace block differs from $mod@$v's go.mod: copy it"
  mkdir -p "$bins/traefik"
  (cd "$dir" && go build -trimpath -ldflags "-s -w -X $mod/pkg/version.Version=$v" \
    -o "$bins/traefik/traefik" "$mod/$(col traefik 6)")
}

build_kindnetd() {
  mkdir -p "$bins/kindnetd"
  (cd "$replica_dir/kindnetd" && go build -trimpath -ldflags "-s -w" -o "$bins/kindnetd/kindnetd" .)
}

# pause: kubeadm's and containerd's sandbox image, from the C source in the Kubernetes module zip
build_pause() {
  local tag src
  tag="$(ref_of pause)"
  tag="${tag##*:}"
  src="$(go mod download -json "k8s.io/kubernetes@$(version_of pause)" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$bins/pause"
  gcc -Os -Wall -Werror -static -DVERSION="v$tag" -o "$bins/pause/pause" "$src/$(col pause 6)"
  strip "$bins/pause/pause"
}

# busybox-static from the Debian mirror (the host's apt lists), unpacked, with its version
build_busybox() {
  local deb
  mkdir -p "$bins/busybox"
  (cd "$bins/busybox" && rm -f ./*.deb && apt-get -o APT::Sandbox::User=root download -q busybox-static >/dev/null)
  deb="$(ls "$bins/busybox"/busybox-static_*.deb)"
  dpkg-deb --field "$deb" Version > "$bins/busybox/version"
  dpkg-deb -x "$deb" "$bins/busybox/root"
}

build_one() {
  local id="$1"
  case "$id" in
    kubernetes | etcd | traefik | kindnetd | pause | busybox) "build_$id" ;;
    containerd)
      go_install containerd -tags "no_aufs no_zfs no_btrfs no_devmapper" \
        -ldflags "-s -w -X $(module_of containerd)/version.Version=$(version_of containerd)" ;;
    crictl) go_install crictl -ldflags "-s -w -X $(module_of crictl)/pkg/version.Version=$(version_of crictl)" ;;
    cni-plugins)
      go_install cni-plugins -ldflags "-s -w -X $(module_of cni-plugins)/pkg/utils/buildversion.BuildVersion=$(version_of cni-plugins)" ;;
    kind-local-path-provisioner | local-path-provisioner)
      go_install "$id" -ldflags "-s -w -X main.VERSION=$(version_of "$id")" ;;
    *) go_install "$id" -ldflags "-s -w" ;;
  esac
}

# `binaries ID`: build what row ID needs, once per run; go's output goes to a log that is
# shown if the build fails
binaries() {
  local id="$1" log="$work/logs/$1.log"
  [ -z "${built[$id]:-}" ] || return 0
  mkdir -p "$work/logs"
  # in the background so that errexit applies inside (it does not in a tested command)
  build_one "$id" >"$log" 2>&1 &
  wait $! || { tail -n 40 "$log" >&2; die "building $id failed; log: $log"; }
  built[$id]=1
  step "built $id"
}
