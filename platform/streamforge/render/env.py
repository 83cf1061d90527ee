"""Render: a pure function from the checked model to files.

Same model and facts in, byte-identical files out, so renders can be golden-tested and
diffed between envs. Nothing here talks to Docker or a cluster.
"""

from __future__ import annotations

from streamforge.model.load import Platform
from streamforge.render import argocd, dns, kind, kubespray, mirrors, releases, services
from streamforge.render.context import Addresses, Facts, Rendered


def render(platform: Platform, facts: Facts | None = None) -> Rendered:
    """Every artefact of the platform's env as {relative path: text}."""
    facts = facts or Facts()
    out = releases.render(platform, facts)  # resolves the env's addresses with the facts
    services.check_hosts(platform, out.objects)
    out.files.update(services.render_files(platform))
    if platform.env.provider.type == "kind":
        out.files["kind-config.yaml"] = kind.render(platform, facts)
        out.files.update(mirrors.render(platform))
    else:
        out.files.update(argocd.render(platform, out))
        out.files.update(kubespray.render(platform))
        out.files.update(_dns(platform, out.addresses))
    return out


def _dns(platform: Platform, net: Addresses | None) -> dict[str, str]:
    """The records Technitium serves, as a zone file and as API calls (seed 5.5)."""
    env = platform.env
    if not env.dns.records or net is None:
        return {}
    records = dns.resolve(env, net.ingress_address, net.backup_ingress_address)
    return {
        f"dns/{env.domain}.zone": dns.zone_file(env, records),
        dns.SCRIPT: dns.technitium_script(env, records),
    }
