# shellcheck shell=bash
# Sourced by the CI build scripts: `pin NAME` prints the version pinned for tool NAME in
# platform/pins.yaml (a two-space-indented entry under tools: or test_tools:).
pins_file="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/platform/pins.yaml"
pin() {
  awk -v tool="$1" '
    $0 ~ "^  "tool":" {inside=1; next}
    inside && /^  [a-z]/ {inside=0}
    inside && $1 == "version:" {print $2; exit}' "$pins_file"
}
