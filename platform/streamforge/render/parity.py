"""The parity report: where the local replica differs from production, component by
component, rendered from the same model both envs are built from.

Pure and deterministic (no timestamps, sorted rows), so it can be committed, diffed and
generated into the docs site (`parity_markdown(root)`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamforge.model.load import Platform, load_platform
from streamforge.model.schema.component import Component
from streamforge.render.context import Facts, Rendered, addresses
from streamforge.render.env import render

MAX_CELL = 90


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}; empty maps and lists stay as leaves."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data:
        out = {}
        for index, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix: data}


def cell(value: Any) -> str:
    if value is _ABSENT:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("|", "\\|").replace("\n", " ")
    text = text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
    return f"`{text}`" if text else '`""`'


_ABSENT = object()


def diff(left: Any, right: Any) -> list[tuple[str, Any, Any]]:
    a, b = flatten(left), flatten(right)
    return [
        (path, a.get(path, _ABSENT), b.get(path, _ABSENT))
        for path in sorted(set(a) | set(b))
        if a.get(path, _ABSENT) != b.get(path, _ABSENT)
    ]


def object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _nodes(prod: Platform, replica: Platform) -> list[str]:
    provider = replica.env.provider
    mirrored = set(getattr(provider, "mirror_nodes", []))
    rows = []
    for node in prod.env.nodes:
        if node.role == "control-plane":
            there = "not created: kind runs one control plane of its own"
        elif node.name in mirrored:
            there = "kind worker labelled `streamforge.io/homelab-node=" + node.name + "`"
        else:
            there = "not created: workloads pinned here cannot run in the replica"
        rows.append((node.name, node.role, ", ".join(node.runs) or "—", there))
    prod_cp = sum(n.role == "control-plane" for n in prod.env.nodes)
    lines = [
        "## Nodes",
        "",
        f"Production has {prod_cp} control plane(s) and "
        f"{len(prod.env.nodes) - prod_cp} workers; the replica has 1 kind control plane and "
        f"{len(mirrored)} workers (only the mirrored nodes).",
        "",
    ]
    return lines + table(("homelab node", "role", "runs", f"in {replica.env.name}"), rows)


def _environment(prod: Platform, replica: Platform, facts: Facts) -> list[str]:
    pa, ra = addresses(prod, Facts()), addresses(replica, facts)
    pe, re_ = prod.env, replica.env

    def auto(configured: str, resolved: str) -> str:
        return f"{resolved} (auto, from the kind network)" if configured == "auto" else resolved

    rows = [
        ("provider", pe.provider.type, re_.provider.type),
        ("Kubernetes", pe.kubernetes_version, re_.kubernetes_version),
        ("profile", pe.profile, re_.profile),
        ("LB pool", pa.lb_pool, auto(re_.network.lb_pool, ra.lb_pool)),
        ("ingress address (Traefik)", pa.ingress_address,
         auto(re_.network.ingress_address, ra.ingress_address)),
        ("backup ingress address (ingress-nginx)", pa.backup_ingress_address,
         auto(re_.network.backup_ingress_address, ra.backup_ingress_address)),
        ("RWO class", pe.storage.rwo_class, re_.storage.rwo_class),
        ("RWX class", pe.storage.rwx_class, re_.storage.rwx_class),
        ("NFS export", f"{pe.storage.nfs.server}:{pe.storage.nfs.path}" if pe.storage.nfs else "—",
         f"{re_.storage.nfs.server}:{re_.storage.nfs.path}" if re_.storage.nfs else "—"),
        ("S3 endpoint", pe.storage.s3.endpoint, re_.storage.s3.endpoint),
        ("image registry", pe.image_registry, re_.image_registry),
        ("GitOps", "ArgoCD" if pe.gitops else "—", "ArgoCD" if re_.gitops else "`nox -s up`"),
    ]  # fmt: skip
    rows = [(what, f"`{a}`", f"`{b}`" + ("" if a != b else " (same)")) for what, a, b in rows]
    return ["## Environment", "", *table(("setting", pe.name, re_.name), rows)]


def treatment(comp: Component) -> str:
    """How the replica treats a component: the profile it runs in, its stand-in, or why it is
    left out (component.yaml `runs_in`, `profile` and `replica`)."""
    if "replica" in comp.runs_in:
        text = f"runs in profile `{comp.profile}`"
        return f"{text}: {comp.replica.reason}" if comp.replica else text
    if comp.replica is None:
        return "left out"
    if comp.replica.stand_in:
        return f"stand-in `{comp.replica.stand_in}`: {comp.replica.reason}"
    return f"left out: {comp.replica.reason}"


def _lifecycle(prod: Platform, replica: Platform) -> list[str]:
    """The systems that make and name the cluster (seed 5.1-5.5), which are not components."""
    from streamforge.render import dns

    pe, re_ = prod.env, replica.env
    vms = [n.vm for n in pe.nodes if n.vm]
    hosts = (
        f"{len(vms)} VMs, {sum(v.cores for v in vms)} cores, "
        f"{sum(v.memory_gib for v in vms)} GiB memory, {sum(v.disk_gib for v in vms)} GiB disk"
        if vms
        else "not in the model"
    )
    vip = pe.network.api_vip
    rows = [
        ("Proxmox VE", hosts, "one Docker container per kind node"),
        (
            "Kubespray",
            f"`kubespray/inventory/` ({len(pe.nodes)} hosts, Kubernetes {pe.kubernetes_version})",
            "`kind create cluster` from `kind-config.yaml`",
        ),
        (
            "kube-vip",
            f"API at `{vip}` (static pod on each control plane)" if vip else "not set",
            "none: kind's single API server",
        ),
    ]
    net = addresses(prod, Facts())
    resolved = dns.resolve(pe, net.ingress_address, net.backup_ingress_address)
    theirs = {r.name: r for r in re_.dns.records}
    for record, answer in zip(pe.dns.records, resolved, strict=True):
        mirror = theirs.get(record.name)
        if mirror is None:
            there = f"not in {re_.name}'s dns.records"
        elif mirror.to:
            there = f"CoreDNS rewrite to `{dns.REPLICA_TARGETS[mirror.to].rstrip('.')}`"
        else:
            there = "not served: a fixed LAN address has no stand-in in the replica"
        rows.append((f"Technitium `{record.name}`", f"A `{answer.address}`", there))
    lines = [
        "## Cluster lifecycle and DNS",
        "",
        "What makes and names the cluster; not components, so not in the table below. "
        f"DNS records come from one list (`dns.records`), served by Technitium in {pe.name} "
        f"and by CoreDNS rewrites in {re_.name}.",
        "",
    ]
    return lines + table(("system", pe.name, re_.name), rows)


def _components(prod: Platform, replica: Platform) -> list[str]:
    rows = []
    for name in sorted(prod.components):
        comp = prod.components[name]
        in_p, in_r = name in prod.enabled, name in replica.enabled
        if in_p and in_r:
            status = "both"
        elif in_p or in_r:
            status = f"{prod.env.name} only" if in_p else f"{replica.env.name} only"
        else:
            status = f"neither (profile {comp.profile})"
        rows.append((name, status, comp.description, treatment(comp)))
    header = ("component", "enabled in", "what it is", "in the replica")
    return ["## Components", "", *table(header, rows)]


def _component(name: str, prod: Rendered, replica: Rendered, envs: tuple[str, str]) -> list[str]:
    rows: list[tuple[str, ...]] = []
    for path, a, b in diff(prod.values.get(name, {}), replica.values.get(name, {})):
        rows.append(("values", path, cell(a), cell(b)))
    p_objs = {object_key(o): o for o in prod.objects.get(name, [])}
    r_objs = {object_key(o): o for o in replica.objects.get(name, [])}
    for key in sorted(set(p_objs) | set(r_objs)):
        if key not in r_objs:
            rows.append((key, "(whole object)", "present", f"only in {envs[0]}"))
        elif key not in p_objs:
            rows.append((key, "(whole object)", f"only in {envs[1]}", "present"))
        else:
            for path, a, b in diff(p_objs[key], r_objs[key]):
                rows.append((key, path, cell(a), cell(b)))
    if not rows:
        return [f"### {name}", "", "Identical in both envs.", ""]
    return [f"### {name}", "", *table(("what", "field", envs[0], envs[1]), rows)]


def parity_markdown(
    root: Path, replica: str = "local", production: str = "homelab", facts: Facts | None = None
) -> str:
    """The parity report of env `replica` against env `production`, as markdown."""
    facts = facts or Facts()
    prod_p, rep_p = load_platform(root, production), load_platform(root, replica)
    prod_r, rep_r = render(prod_p, Facts()), render(rep_p, facts)
    envs = (production, replica)
    lines = [
        f"# Parity: {replica} against {production}",
        "",
        f"Generated from the model by `streamforge render --env {replica}`; every difference "
        f"between the {replica} env and {production} is listed here. Do not edit by hand.",
        "",
        *_environment(prod_p, rep_p, facts),
        *_nodes(prod_p, rep_p),
        *_lifecycle(prod_p, rep_p),
        *_components(prod_p, rep_p),
        "## Differences per component",
        "",
    ]
    for name in sorted(set(prod_p.enabled) | set(rep_p.enabled)):
        if name in prod_p.enabled and name in rep_p.enabled:
            lines += _component(name, prod_r, rep_r, envs)
        else:
            only = production if name in prod_p.enabled else replica
            comp = prod_p.components[name]
            lines += [f"### {name}", "", f"Only in {only}: {comp.description}.", ""]
            if comp.docs:
                lines += [comp.docs.strip(), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
