# shellcheck shell=bash
# Sourced by .ci/replica/build.sh: reading images.tsv, progress lines, cache keys, and packing a
# directory into an image with `docker import`.

replica_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$replica_dir/../.." && pwd)"
images_tsv="$replica_dir/images.tsv"
key_label=org.streamforge.ci-replica.key
started="${started:-$(date +%s)}"
step_started=$started

# `say TEXT`: one progress line with the seconds since build.sh started.
say() { printf '==> [%5ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
# `step TEXT` ends a step: TEXT plus how long the step took.
step() {
  local now
  now=$(date +%s)
  printf '==> [%5ss] %s (%ss)\n' "$(( now - started ))" "$*" "$(( now - step_started ))"
  step_started=$now
}
die() { echo "build.sh: $*" >&2; exit 1; }

# `row ID` prints the images.tsv line of ID (tab-separated), failing if there is none.
row() {
  local line
  line="$(awk -F'\t' -v id="$1" '$1 == id' "$images_tsv")"
  [ -n "$line" ] || die "images.tsv has no row with id $1"
  printf '%s\n' "$line"
}
# `col ID N` prints column N of ID's row (1 id, 2 ref, 3 dest, 4 origin, 5 version, 6 build, 7 note).
col() { row "$1" | cut -f "$2"; }
ref_of() { col "$1" 2; }
version_of() { col "$1" 5; }
# `module_of ID`: the Go module of a go:MODULE origin.
module_of() { local o; o="$(col "$1" 4)"; printf '%s\n' "${o#go:}"; }
# `ids DEST...`: the ids whose dest is one of DEST, in file order.
ids() {
  awk -F'\t' -v want=" $* " '!/^#/ && NF >= 3 && index(want, " "$3" ")' "$images_tsv" | cut -f1
}

# `hash_inputs FILE...` prints one sha256 over the named files' contents and names.
hash_inputs() {
  local f
  for f in "$@"; do
    printf '%s\n' "${f#"$repo_dir"/}"
    cat "$f"
  done | sha256sum | cut -c1-16
}

# `have_image REF KEY`: the engine holds REF with label KEY.
have_image() {
  [ "$(docker image inspect -f "{{index .Config.Labels \"$key_label\"}}" "$1" 2>/dev/null)" = "$2" ]
}

# `minimal_root DIR`: the files a static binary's image needs besides the binary: passwd and
# group (root and nobody, 65534 as in distroless), CA certificates from the host, /tmp.
minimal_root() {
  mkdir -p "$1/etc/ssl/certs" "$1/tmp" "$1/bin" "$1/usr/bin" "$1/usr/local/bin"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
    > "$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$1/etc/group"
  printf 'hosts: files dns\n' > "$1/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/"
}

# `pack DIR REF KEY [--change ...]...`: `docker import` DIR as REF, labelled with KEY.
pack() {
  local dir="$1" ref="$2" key="$3"
  shift 3
  tar -C "$dir" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL $key_label=$key" "$@" - "$ref" >/dev/null
}
