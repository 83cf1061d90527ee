#!/bin/sh
# The tag of a project image built from FOLDER: the first 12 hex digits of the SHA-256 of, for
# each file under FOLDER in the order of its path's components, "<path relative to FOLDER>\0"
# "<content>\0". The same rule as the render's (streamforge.render.image_refs.tree_hash), so the
# image a GitLab job pushes is the image the rendered ArgoCD Application names; a unit test
# runs both on every service. Run it on a clean checkout, as CI has: every file but .git
# counts (the render counts the files git tracks or would track). POSIX sh and busybox, for
# kaniko's debug image.
# Usage: sh .gitlab/tree-hash.sh FOLDER
set -eu
cd "${1:?usage: tree-hash.sh FOLDER}"
# sorting with "/" mapped to \001 (below every other byte) orders paths by their components,
# as Python orders pathlib paths
find . -type f ! -path './.git/*' | sed 's|^\./||' | tr '/' '\001' | LC_ALL=C sort |
  tr '\001' '/' | while IFS= read -r file; do
    printf '%s\000' "$file"
    cat "$file"
    printf '\000'
  done | sha256sum | cut -c1-12
