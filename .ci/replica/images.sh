# shellcheck shell=bash disable=SC2154  # bins, work, replica_dir, ...: set by build.sh and lib.sh
# Sourced by .ci/replica/build.sh: `image ID KEY` assembles row ID's image in the Docker engine,
# under its exact upstream reference, labelled with KEY. Each is one `docker import`ed layer:
# static binaries on a minimal root (lib.sh's minimal_root), busybox where a shell is needed,
# Debian bookworm trees (rootfs.sh) where the image needs Debian's tools.

# `with_busybox DIR`: Debian's busybox-static at /bin/busybox with a link per applet
with_busybox() {
  local applet
  mkdir -p "$1/bin"
  install -m 0755 "$bins/busybox/root/bin/busybox" "$1/bin/busybox"
  for applet in $("$1/bin/busybox" --list); do
    [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"
  done
}

# `built_from ID`: what the image was made of, for its label
built_from() {
  local origin version
  origin="$(col "$1" 4)"
  version="$(version_of "$1")"
  case "$origin" in
    deb:busybox-static) printf '%s %s\n' "$origin" "$(cat "$bins/busybox/version")" ;;
    *) printf '%s %s\n' "$origin" "$version" ;;
  esac
}

# `image ID KEY`
image() {
  local id="$1" key="$2" ref root entry=() b
  ref="$(ref_of "$id")"
  root="$work/img/$id"
  rm -rf "$root"
  case "$id" in
    node) node_image "$key"; return ;;
    kube-proxy) cp -a "$work/proxyfs" "$root" ;;
    kubectl) cp -a "$work/rootfs" "$root" ;;
    *) mkdir -p "$root" && minimal_root "$root" ;;
  esac
  case "$id" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy)
      install -m 0755 "$bins/kubernetes/$id" "$root/usr/local/bin/"
      entry=(--change "ENTRYPOINT [\"/usr/local/bin/$id\"]") ;;
    kubectl)
      install -m 0755 "$bins/kubernetes/kubectl" "$root/usr/bin/"
      entry=(--change 'ENTRYPOINT ["/bin/kubectl"]') ;;
    etcd)
      install -m 0755 "$bins/etcd/etcd" "$root/usr/local/bin/"
      entry=(--change 'CMD ["/usr/local/bin/etcd"]') ;;
    coredns)
      install -m 0755 "$bins/coredns/coredns" "$root/coredns"
      entry=(--change 'ENTRYPOINT ["/coredns"]' --change 'EXPOSE 53 53/udp') ;;
    pause | pause-sandbox)
      install -m 0755 "$bins/pause/pause" "$root/pause"
      entry=(--change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535') ;;
    kindnetd)
      with_busybox "$root" # its `ip route replace`
      install -m 0755 "$bins/kindnetd/kindnetd" "$root/bin/kindnetd"
      entry=(--change 'ENTRYPOINT ["/bin/kindnetd"]') ;;
    kind-local-path-provisioner | local-path-provisioner)
      with_busybox "$root"
      install -m 0755 "$bins/$id/local-path-provisioner" "$root/usr/local/bin/"
      entry=(--change 'CMD ["local-path-provisioner"]') ;;
    kind-local-path-helper | busybox)
      with_busybox "$root"
      entry=(--change 'CMD ["sh"]') ;;
    metallb-controller | metallb-speaker)
      b="${id#metallb-}"
      install -m 0755 "$bins/$id/$b" "$root/$b"
      entry=(--change "ENTRYPOINT [\"/$b\"]") ;;
    traefik)
      install -m 0755 "$bins/traefik/traefik" "$root/usr/local/bin/"
      entry=(--change 'ENTRYPOINT ["/usr/local/bin/traefik"]' --change 'EXPOSE 80') ;;
    minio)
      install -m 0755 "$bins/minio/minio" "$root/usr/bin/minio"
      entry=(--change 'ENTRYPOINT ["/usr/bin/minio"]' --change 'EXPOSE 9000') ;;
    mc)
      with_busybox "$root" # the product runs mc from /bin/sh -c
      install -m 0755 "$bins/mc/mc" "$root/usr/bin/mc"
      entry=(--change 'ENTRYPOINT ["/usr/bin/mc"]') ;;
    registry)
      install -m 0755 "$bins/registry/registry" "$root/bin/registry"
      mkdir -p "$root/etc/docker/registry" "$root/var/lib/registry"
      # the configuration the upstream registry:2 image ships, in substance
      cat > "$root/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
      entry=(--change 'ENTRYPOINT ["/bin/registry", "serve"]'
        --change 'CMD ["/etc/docker/registry/config.yml"]'
        --change 'VOLUME ["/var/lib/registry"]' --change 'EXPOSE 5000') ;;
    *) die "images.sh has no recipe for $id" ;;
  esac
  pack "$root" "$ref" "$key" "${entry[@]}" \
    --change "LABEL org.streamforge.ci-replica.built-from=\"$(built_from "$id")\""
  rm -rf "$root"
}

# `node_image KEY`: what kind's images/base Dockerfile and `kind build node-image` do, from
# $work/nodefs, kind's module, the built binaries and the node rows' images.
node_image() {
  local key="$1" root="$work/nodefs" kind_dir files v ref base cid id entrypoint
  ref="$(ref_of node)"
  v="$(version_of kubernetes)"
  kind_dir="$(go mod download -json "$(module_of node)@$(version_of node)" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  files="$kind_dir/images/base/files"
  # kind's base files, with the modes its Dockerfile gives them
  cp -r "$files/usr" "$files/etc" "$files/kind" "$files/LICENSES" "$root/"
  chmod -R u+w "$root/usr/local/bin" "$root/etc" "$root/kind" "$root/LICENSES"
  chmod 0755 "$root"/usr/local/bin/* "$root/kind" "$root/kind/bin" "$root"/kind/bin/*
  find "$root/etc/containerd" "$root/etc/default" "$root/etc/sysctl.d" "$root/etc/systemd/system" \
    "$root/etc/crictl.yaml" -type f -exec chmod 0644 {} +
  # the Dockerfile's systemd trimming
  find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
    "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
    "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
  echo ReadKMsg=no >> "$root/etc/systemd/journald.conf"
  ln -sf /usr/lib/systemd/systemd "$root/sbin/init"
  chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "$root" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  mkdir -p "$root/etc/kubernetes/manifests" "$root/opt/cni/bin" "$root/kind/manifests"
  # runtime: containerd and crictl built here, runc from Debian (in nodefs), CNI plugins
  install -m 0755 "$bins"/containerd/* "$bins/crictl/crictl" "$root/usr/local/bin/"
  install -m 0755 "$bins"/cni-plugins/* "$root/opt/cni/bin/"
  # shellcheck disable=SC2016  # jq's own $ syntax, evaluated in the chroot
  chroot "$root" sh -c 'ctr oci spec | jq ".hooks.createContainer[.hooks.createContainer | length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" | jq "del(.process.rlimits)"' \
    > "$root/etc/containerd/cri-base.json"
  # without CAP_SYS_RESOURCE in the node, containerd must clamp negative oom_score_adj (kind
  # sets this only for rootless nodes)
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$root/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "$root/etc/containerd/config.toml" ||
    die "kind's containerd config.toml no longer sets restrict_oom_score_adj = false"
  # what `kind build node-image` adds
  install -m 0755 "$bins/kubernetes/kubeadm" "$bins/kubernetes/kubelet" "$bins/kubernetes/kubectl" "$root/usr/bin/"
  printf '%s' "$v" > "$root/kind/version"
  (cd "$replica_dir/kindfiles" && go run . "$kind_dir" "$root/kind/manifests")
  install -m 0755 "$replica_dir/node/pre-entrypoint" "$root/usr/local/bin/streamforge-pre-entrypoint"
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
  entrypoint='ENTRYPOINT ["/usr/local/bin/streamforge-pre-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]'
  base="streamforge-ci/node-base:$key"
  # shellcheck disable=SC2064  # base is fixed now
  trap "docker rmi $base >/dev/null 2>&1 || true" EXIT
  tar -C "$root" --numeric-owner -c . | docker import --change 'ENV container=docker' \
    --change "$entrypoint" - "$base" >/dev/null
  step "node image: root filesystem imported"

  # kubeadm's image list must be among the node rows (a Kubernetes bump changes it)
  local missing
  missing="$("$bins/kubernetes/kubeadm" config images list --kubernetes-version "$v" 2>/dev/null |
    while read -r want; do for id in $(ids node); do [ "$(ref_of "$id")" = "$want" ] && continue 2; done; echo "$want"; done)"
  [ -z "$missing" ] || die "images.tsv has no node row for kubeadm's $(echo "$missing" | tr '\n' ' ')"

  # preload the node rows' images into containerd's k8s.io namespace, as kind's
  # containerdImporter does; containerd runs in a non-privileged container, so no unpacking
  cid="$(docker run -d --entrypoint sleep --security-opt seccomp=unconfined "$base" infinity)"
  # shellcheck disable=SC2064  # cid is fixed now
  trap "docker rm -f -v $cid >/dev/null 2>&1; docker rmi $base >/dev/null 2>&1 || true" EXIT
  docker exec "$cid" sh -c 'containerd >/run/containerd-preload.log 2>&1 &'
  docker exec "$cid" sh -c 'for _ in $(seq 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; cat /run/containerd-preload.log; exit 1'
  for id in $(ids node); do
    # (ctr warns on every call that cgroup v1 is deprecated: keep its output for failures only)
    docker save "$(ref_of "$id")" | docker exec -i "$cid" ctr --namespace=k8s.io images import \
      --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - \
      >"$work/ctr-import.log" 2>&1 || { cat "$work/ctr-import.log" >&2; die "ctr import of $(ref_of "$id") failed"; }
  done
  docker exec "$cid" sh -c 'pkill containerd; for _ in $(seq 20); do pgrep containerd >/dev/null || exit 0; sleep 0.5; done'
  docker commit --change "$entrypoint" --change 'CMD []' \
    --change "LABEL $key_label=$key" \
    --change "LABEL org.streamforge.ci-replica.built-from=\"kind $(version_of node), Kubernetes $v\"" \
    "$cid" "$ref" >/dev/null
  docker rm -f -v "$cid" >/dev/null
  trap - EXIT
  docker rmi "$base" >/dev/null
}
