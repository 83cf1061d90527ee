#!/usr/bin/env bash
# Debian bookworm root filesystems for the replica's images, from the Debian mirror with
# debootstrap and apt in a chroot (no image registry is reachable):
#   WORK/rootfs   minbase (bash, coreutils): the kubectl image
#   WORK/nodefs   minbase + what kind's base image installs (systemd, iptables, ..., runc):
#                 the node image
#   WORK/proxyfs  minbase + iptables, nftables, conntrack, kmod, iproute2: the kube-proxy image
# Env: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default deb.debian.org). Must run as root.
# Usage: .ci/replica/rootfs.sh WORK
set -euo pipefail
work="${1:?usage: rootfs.sh WORK}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
suite=bookworm
# kind's images/base/Dockerfile package list, minus nfs-common, open-iscsi and e2fsprogs
# (storage drivers the replica does not use); runc and containerd's deps come from Debian.
node_packages=(systemd systemd-sysv dbus conntrack iptables nftables iproute2 ethtool
  util-linux mount kmod libseccomp2 pigz fuse-overlayfs bash ca-certificates curl jq procps runc)
proxy_packages=(iptables nftables conntrack kmod iproute2)

log="$work/rootfs.log"
mkdir -p "$work"
: > "$log"
fail() { echo "rootfs.sh: $1 failed; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }

rm -rf "$work/rootfs" "$work/nodefs" "$work/proxyfs"
debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >>"$log" 2>&1 || fail debootstrap
cat > "$work/rootfs/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
# no daemon may start inside the chroot
printf '#!/bin/sh\nexit 101\n' > "$work/rootfs/usr/sbin/policy-rc.d"
chmod 755 "$work/rootfs/usr/sbin/policy-rc.d"
chroot "$work/rootfs" apt-get update -qq >>"$log" 2>&1 || fail "apt-get update"

# `derive NAME PACKAGE...`: a copy of rootfs with PACKAGES installed
derive() {
  local dir="$work/$1"
  shift
  cp -a "$work/rootfs" "$dir"
  DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get install -y -qq --no-install-recommends "$@" \
    >>"$log" 2>&1 || fail "apt-get install in $dir"
  # shellcheck disable=SC2016  # dpkg-query's own ${field} syntax
  chroot "$dir" dpkg-query -W -f '${Package} ${Version}\n' "$@" > "$dir.versions"
}
derive nodefs "${node_packages[@]}"
derive proxyfs "${proxy_packages[@]}"

for dir in rootfs nodefs proxyfs; do
  rm -rf "$work/$dir"/var/lib/apt/lists/* "$work/$dir"/var/cache/apt/*.bin \
    "$work/$dir"/var/cache/apt/archives/*.deb "$work/$dir/usr/sbin/policy-rc.d"
done
