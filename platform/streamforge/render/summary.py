"""What `up` tells the user at the end: the names the replica serves and where everything is."""

from __future__ import annotations

from streamforge.model.load import Platform, load_platform
from streamforge.render.context import Rendered


def hostnames(platform: Platform, rendered: Rendered) -> list[str]:
    """Every host name the replica serves: routes, services, the Traefik dashboard (an
    IngressRoute from the chart's values, so not among the rendered routes)."""
    domain = platform.env.domain
    names = {f"traefik.{domain}"}
    for objects in rendered.objects.values():
        for obj in objects:
            if obj.get("kind") == "HTTPRoute":
                names.update(h for h in obj.get("spec", {}).get("hostnames", []) if "*" not in h)
    names.update(f"{svc.hostname}.{domain}" for svc in platform.services.values())
    return sorted(names)


def summary_lines(platform: Platform, rendered: Rendered) -> tuple[str, ...]:
    """The lines `up` ends with: cluster, registry, the ingress addresses beside the homelab
    ones they stand for, every URL, and what to run next. Reads envs/homelab.yaml."""
    provider = platform.env.provider
    name = getattr(provider, "cluster_name", "")
    homelab = load_platform(platform.root, "homelab").env.network
    found = rendered.addresses
    lines = [
        f"cluster: kind-{name} (kubectl --context kind-{name} get nodes)",
        f"registry: localhost:{getattr(provider, 'registry_port', '')}",
    ]
    if found is not None:
        lines.append(
            f"Traefik: {found.ingress_address} (stands for {homelab.ingress_address}); "
            f"ingress-nginx: {found.backup_ingress_address} "
            f"(stands for {homelab.backup_ingress_address})"
        )
    lines += [f"https://{host}" for host in hostnames(platform, rendered)]
    lines += [
        "names: `nox -s hosts` (add -- --apply to write /etc/hosts); CA for your "
        "browser: `nox -s ca`",
        "next: `nox -s status`, `nox -s new_service -- --name <name>`, `nox -s deploy -- <name>`",
    ]
    return tuple(lines)
