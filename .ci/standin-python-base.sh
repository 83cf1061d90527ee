#!/usr/bin/env bash
# Build a stand-in for the pinned python base image where no image registry is reachable:
# a Debian bookworm minbase root (its python3 is 3.11, like python:3.11-slim) made with
# debootstrap from Debian's mirror and imported into Docker.
# Usage: .ci/standin-python-base.sh [tag]   (default streamforge/python-base:3.11)
set -euo pipefail
tag="${1:-streamforge/python-base:3.11}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "stand-in base image $tag already present"
  exit 0
fi
root="$(mktemp -d /tmp/standin-root.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm into $root (a few minutes)"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 || {
  tail -n 30 "$root.log"; exit 1; }
# `python` as on the official images; no apt lists or caches in the image
ln -sf python3 "$root/usr/bin/python"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$tag"
rm -f "$root.log"
echo "built $tag"
