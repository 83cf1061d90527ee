"""DNS records of an env (`dns.records` in envs/*.yaml), in three forms from one list:

- production: a zone file for Technitium DNS (seed 5.5; Technitium imports RFC 1035 zone text)
  and a script that puts the same records through Technitium's HTTP API
  (`/api/zones/create`, `/api/zones/records/add`, as documented in its APIDOCS.md);
- the replica: CoreDNS `rewrite` rules (plugin docs: coredns.io/plugins/rewrite) that send the
  same names to the in-cluster Services standing for those addresses.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from streamforge.model.schema.env import DnsRecord, Env

# What each model address is inside the replica's cluster. A record with a fixed LAN address
# has no stand-in there, so the replica leaves it out (the parity page lists it).
REPLICA_TARGETS = {
    "ingress": "traefik.traefik.svc.cluster.local.",
    "backup_ingress": "ingress-nginx-controller.ingress-nginx.svc.cluster.local.",
    "api_vip": "kubernetes.default.svc.cluster.local.",
}
SCRIPT = "dns/technitium.sh"


@dataclass(frozen=True)
class Resolved:
    name: str  # fully qualified, without the trailing dot
    address: str


def _address(env: Env, record: DnsRecord, ingress: str, backup: str) -> str:
    if record.address is not None:
        return record.address
    chosen = {"ingress": ingress, "backup_ingress": backup, "api_vip": env.network.api_vip}
    value = chosen[record.to or ""]
    assert value is not None  # load.py refuses a record whose address the env lacks
    return value


def resolve(env: Env, ingress: str, backup: str) -> list[Resolved]:
    """The env's records with their addresses; `ingress`/`backup` are the resolved ingress
    addresses (`render.context.addresses`)."""
    return [Resolved(r.name, _address(env, r, ingress, backup)) for r in env.dns.records]


def zone_file(env: Env, records: list[Resolved]) -> str:
    """The records as RFC 1035 zone text, relative to the domain. No SOA or NS: Technitium
    writes those itself when the zone is created, and imports records-only text."""
    origin = env.domain
    lines = [
        f"; Zone {origin}: the records Technitium DNS serves for the platform (seed 5.5).",
        f"; Generated from envs/{env.name}.yaml dns.records by `streamforge render`; do not edit.",
        f"$ORIGIN {origin}.",
        f"$TTL {env.dns.ttl}",
    ]
    width = max((len(_relative(r.name, origin)) for r in records), default=1)
    for record in records:
        lines.append(f"{_relative(record.name, origin):<{width}}  IN  A  {record.address}")
    return "\n".join(lines) + "\n"


def _relative(name: str, origin: str) -> str:
    return "@" if name == origin else name.removesuffix(f".{origin}")


# The fixed part of the Technitium script; `{zone}`, `{ttl}`, `{env}` and `{calls}` are filled in.
_SCRIPT = """\
#!/usr/bin/env bash
# Sets the records of zone {zone} in Technitium DNS (seed 5.5) through its HTTP API.
# Generated from envs/{env}.yaml dns.records by `streamforge render`; the same records are in
# {zone}.zone. Each record replaces the A records of its name (overwrite=true), so running it
# again changes nothing.
#   TECHNITIUM_URL    the server's web address, e.g. http://<dns server>:5380
#   TECHNITIUM_TOKEN  an API token (Technitium: Administration > Sessions > Create Token);
#                     read from the environment, never written anywhere
set -euo pipefail
: "${{TECHNITIUM_URL:?set TECHNITIUM_URL to the DNS server, e.g. http://dns:5380}}"
: "${{TECHNITIUM_TOKEN:?set TECHNITIUM_TOKEN to a Technitium API token}}"
zone={zone}
ttl={ttl}

# POST form data (the API takes GET or POST); prints the JSON answer
api() {{
  local path=$1 pair
  shift
  local args=(--silent --show-error --fail-with-body)
  args+=(--data-urlencode "token=$TECHNITIUM_TOKEN")
  for pair in "$@"; do args+=(--data-urlencode "$pair"); done
  curl "${{args[@]}}" "${{TECHNITIUM_URL%/}}$path"
}}

ok() {{ grep -Eq '"status" *: *"ok"' <<<"$1"; }}

create_zone() {{
  local answer
  answer=$(api /api/zones/create "zone=$zone" type=Primary)
  if ok "$answer"; then echo "created zone $zone"; return; fi
  if grep -qi "already exists" <<<"$answer"; then return; fi
  echo "technitium: creating zone $zone failed: $answer" >&2
  exit 1
}}

add_a() {{
  local answer
  answer=$(api /api/zones/records/add "zone=$zone" "domain=$1" type=A "ttl=$ttl" \\
    overwrite=true "ipAddress=$2")
  if ! ok "$answer"; then
    echo "technitium: record $1 A $2 failed: $answer" >&2
    exit 1
  fi
  echo "$1 A $2"
}}

create_zone
{calls}
"""


def technitium_script(env: Env, records: list[Resolved]) -> str:
    """A bash script that creates the zone (if missing) and sets every record through
    Technitium's HTTP API. Server and token come from the environment, never from here."""
    calls = "\n".join(f"add_a {shlex.quote(r.name)} {shlex.quote(r.address)}" for r in records)
    return _SCRIPT.format(zone=shlex.quote(env.domain), ttl=env.dns.ttl, env=env.name, calls=calls)


def coredns_rewrites(env: Env) -> list[str]:
    """CoreDNS `rewrite` lines for the replica: exact names first, wildcards last (the plugin
    stops at the first rule that matches). Records with a fixed address are left out."""
    exact, wildcard = [], []
    for record in env.dns.records:
        if record.to is None:
            continue
        target = REPLICA_TARGETS[record.to]
        if record.name.startswith("*."):
            pattern = "^(.+)\\." + record.name[2:].replace(".", "\\.") + "\\.?$"
            wildcard.append(f"rewrite name regex {pattern} {target} answer auto")
        else:
            exact.append(f"rewrite name exact {record.name}. {target}")
    return exact + wildcard


def replica_skipped(env: Env) -> list[DnsRecord]:
    """Records the replica cannot serve (fixed LAN addresses)."""
    return [r for r in env.dns.records if r.to is None]
