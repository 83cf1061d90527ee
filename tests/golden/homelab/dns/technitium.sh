#!/usr/bin/env bash
# Sets the records of zone dmz.home in Technitium DNS (seed 5.5) through its HTTP API.
# Generated from envs/homelab.yaml dns.records by `streamforge render`; the same records are in
# dmz.home.zone. Each record replaces the A records of its name (overwrite=true), so running it
# again changes nothing.
#   TECHNITIUM_URL    the server's web address, e.g. http://<dns server>:5380
#   TECHNITIUM_TOKEN  an API token (Technitium: Administration > Sessions > Create Token);
#                     read from the environment, never written anywhere
set -euo pipefail
: "${TECHNITIUM_URL:?set TECHNITIUM_URL to the DNS server, e.g. http://dns:5380}"
: "${TECHNITIUM_TOKEN:?set TECHNITIUM_TOKEN to a Technitium API token}"
zone=dmz.home
ttl=300

# POST form data (the API takes GET or POST); prints the JSON answer
api() {
  local path=$1 pair
  shift
  local args=(--silent --show-error --fail-with-body)
  args+=(--data-urlencode "token=$TECHNITIUM_TOKEN")
  for pair in "$@"; do args+=(--data-urlencode "$pair"); done
  curl "${args[@]}" "${TECHNITIUM_URL%/}$path"
}

ok() { grep -Eq '"status" *: *"ok"' <<<"$1"; }

create_zone() {
  local answer
  answer=$(api /api/zones/create "zone=$zone" type=Primary)
  if ok "$answer"; then echo "created zone $zone"; return; fi
  if grep -qi "already exists" <<<"$answer"; then return; fi
  echo "technitium: creating zone $zone failed: $answer" >&2
  exit 1
}

add_a() {
  local answer
  answer=$(api /api/zones/records/add "zone=$zone" "domain=$1" type=A "ttl=$ttl" \
    overwrite=true "ipAddress=$2")
  if ! ok "$answer"; then
    echo "technitium: record $1 A $2 failed: $answer" >&2
    exit 1
  fi
  echo "$1 A $2"
}

create_zone
add_a '*.dmz.home' 192.168.1.153
add_a k8s-api.dmz.home 192.168.1.140
add_a nfs.dmz.home 192.168.1.6
