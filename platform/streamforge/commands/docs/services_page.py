"""`services/index.md`: the service catalog, from `services/*/service.yaml` as loaded into the
main env's model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streamforge.commands.docs.env_models import load_env, main_env
from streamforge.commands.docs.page_parts import GENERATED_NOTE, count, table
from streamforge.model.facts import kafka
from streamforge.model.load import Platform
from streamforge.model.schema.service import Service


def _catalog_row(name: str, svc: Service, domain: str, linked: bool) -> list[str]:
    return [
        f"**[{name}]({name}.md)**" if linked else f"**{name}**",
        svc.description,
        svc.owner,
        f"`https://{svc.hostname}.{domain}`",
        f"`{svc.kafka.user}`" if svc.kafka.user else "",
        "<br>".join(f"`{t.name}`" for t in svc.kafka.topics),
        str(svc.gpus) if svc.gpus else "",
    ]


def _facts(svc: Service, platform: Platform) -> str:
    domain = platform.env.domain
    facts = [
        f"- **Owner:** {svc.owner}",
        f"- **Address:** `https://{svc.hostname}.{domain}` (port {svc.port} in the pod)",
    ]
    if svc.kafka.user:
        facts.append(
            f"- **Kafka user:** `{svc.kafka.user}` "
            f"(SCRAM-SHA-512 on cluster `{kafka(platform).name}`)"
        )
    if svc.kafka.topics:
        topics = (
            f"`{t.name}` ({count(t.partitions, 'partition')}, {count(t.replicas, 'replica')})"
            for t in svc.kafka.topics
        )
        facts.append("- **Topics:** " + ", ".join(topics))
    if svc.kafka.consumes:
        facts.append("- **Consumes:** " + ", ".join(f"`{t}`" for t in svc.kafka.consumes))
    if svc.gpus:
        facts.append(f"- **GPUs:** {svc.gpus} `nvidia.com/gpu` (time-sliced)")
    for volume in svc.volumes:
        facts.append(f"- **Volume** `{volume.name}`: {volume.size} {volume.class_.upper()}")
    if svc.node:
        facts.append(f"- **Pinned to node:** `{svc.node}`")
    return "\n".join(facts) + "\n"


def services_page(root: Path, existing: Callable[[str], bool] = lambda _: False) -> str:
    """The service catalog: a table of every service, then one section of facts per service.
    `existing(uri)` says whether a written per-service page exists to link to. Raises
    DocsGenerationError when the main env does not load."""
    platform = load_env(root, main_env(root))
    domain = platform.env.domain
    out = ["# Services\n", GENERATED_NOTE.format(sources="`services/*/service.yaml`")]
    if not platform.services:
        out.append(
            "No services yet. Start one with `nox -s new_service -- --name <name>`; it "
            "appears here on the next build.\n"
        )
        return "\n".join(out)
    services = sorted(platform.services.items())
    rows = [
        _catalog_row(name, svc, domain, existing(f"services/{name}.md")) for name, svc in services
    ]
    header = ["Service", "What it does", "Owner", "Address", "Kafka user", "Topics", "GPUs"]
    out += [table(header, rows), ""]
    for name, svc in services:
        out += [f"## {name}\n", f"{svc.description}\n", _facts(svc, platform)]
    return "\n".join(out)
