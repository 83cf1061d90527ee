"""The generated pages under `reference/`: components and versions, nodes, local vs homelab
parity, and the bill of materials (the nox sessions page is `sessions_page`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from streamforge.commands.docs.env_models import load_env, main_env
from streamforge.commands.docs.page_parts import GENERATED_NOTE, cell, table
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform, env_names
from streamforge.model.schema.base import PROFILES
from streamforge.model.schema.nodes import Node
from streamforge.model.schema.provider import KindProvider
from streamforge.render.parity import parity_markdown

if TYPE_CHECKING:
    from streamforge.execute.tools import Resolved


# -- reference/components.md ---------------------------------------------------------------
def _versions(platform: Platform) -> str:
    rows = []
    for name, comp in sorted(platform.components.items()):
        chart = f"`{comp.chart.name}` ({comp.chart.repo})" if comp.chart else "own manifests"
        version = f"`{comp.chart.version}`" if comp.chart else "—"
        node = f"`{comp.node}`" if comp.node else ""
        rows.append([f"**{name}**", comp.description, chart, version, f"`{comp.namespace}`", node])
    return table(["Component", "What it is", "Chart", "Version", "Namespace", "Node"], rows)


def _where_each_runs(root: Path, platform: Platform, base: dict[str, Platform]) -> str:
    envs = list(base)
    enabled = {(e, p): set(load_env(root, e, p).enabled) for e in envs for p in PROFILES}
    header = ["Component", "Profile", "Runs in"] + [f"{e}: {p}" for e in envs for p in PROFILES]
    rows = []
    for name, comp in sorted(platform.components.items()):
        marks = [
            "⛔" if name in base[e].left_out else "✅" if name in enabled[(e, p)] else "—"
            for e in envs
            for p in PROFILES
        ]
        rows.append([f"**{name}**", comp.profile, ", ".join(comp.runs_in), *marks])
    return table(header, rows)


def components_page(root: Path) -> str:
    """`reference/components.md`: every component's chart and version, and where it runs per
    env and profile. Raises DocsGenerationError when an env does not load."""
    base = {e: load_env(root, e) for e in env_names(root)}
    platform = base[main_env(root)]
    defaults = ", ".join(f"`{e}` runs `{p.env.profile}`" for e, p in base.items())
    out = [
        "# Components and versions\n",
        GENERATED_NOTE.format(sources="`platform/components/*/component.yaml` and `envs/*.yaml`"),
        "Every component is defined once, with one pinned chart version, for every env. "
        "`nox -s up -- --profile minimal|default|full` picks how many of them the replica "
        "runs; the homelab runs its env file's profile.\n",
        "## Versions\n",
        _versions(platform),
        "\n## Where each component runs\n",
        "✅ enabled, — not enabled, ⛔ left out by the env (reasons below). "
        "A component's own profile is the smallest profile that "
        f"includes it; an env can still switch it on or off. By default {defaults}.\n",
        _where_each_runs(root, platform, base),
    ]
    left_out = [(e, n, why) for e, p in base.items() for n, why in p.left_out.items()]
    if left_out:
        out.append("\n## Left out by an env\n")
        out.append(table(["Env", "Component", "Why"], [[f"`{e}`", n, w] for e, n, w in left_out]))
    notes = [(n, c.docs) for n, c in sorted(platform.components.items()) if c.docs]
    if notes:
        out.append("\n## Notes\n")
        out += [f"- **{name}**: {cell(text)}" for name, text in notes]
        out.append("")
    return "\n".join(out)


# -- reference/nodes.md ----------------------------------------------------------------------
def _node_table(platform: Platform) -> str:
    provider = platform.env.provider
    kind = isinstance(provider, KindProvider)
    header = ["Node", "Role", "Labels", "Taints", "GPUs", "Runs (seed)"]
    rows = []
    for node in platform.env.nodes:
        labels = platform.node_labels(node.name)
        row = [
            f"`{node.name}`",
            node.role,
            "<br>".join(f"`{k}={v}`" for k, v in labels.items()),
            "<br>".join(f"`{t.key}={t.value}:{t.effect}`" for t in node.taints),
            f"{node.gpus.count} x {node.gpus.product}" if node.gpus else "",
            ", ".join(node.runs),
        ]
        if isinstance(provider, KindProvider):
            row.append("a kind worker" if node.name in provider.mirror_nodes else "not replicated")
        rows.append(row)
    return table([*header, "In this env"] if kind else header, rows)


def _vm_section(env_name: str, nodes: list[Node]) -> str:
    vms = [(n, n.vm) for n in nodes if n.vm]
    if not vms:
        return ""
    rows = [
        [f"`{n.name}`", n.role, str(vm.cores), f"{vm.memory_gib} GiB", f"{vm.disk_gib} GiB"]
        for n, vm in vms
    ]
    rows.append(
        [
            "**total**",
            "",
            str(sum(vm.cores for _, vm in vms)),
            f"{sum(vm.memory_gib for _, vm in vms)} GiB",
            f"{sum(vm.disk_gib for _, vm in vms)} GiB",
        ]
    )
    return (
        f"\n### Proxmox VE VMs ({env_name})\n\n"
        "The VM behind each node (seed 5.1), from `nodes[].vm` in the env file. "
        "Kubespray's inventory (`kubespray/inventory/hosts.yaml` of "
        f"`nox -s render -- --env {env_name}`) lists the same hosts.\n\n"
        + table(["VM", "Role", "vCPUs", "Memory", "Disk"], rows)
    )


def nodes_page(root: Path) -> str:
    """`reference/nodes.md`: every env's nodes with their labels, taints and GPUs, the kind
    worker that stands for each homelab node, and the homelab's Proxmox VMs. Raises
    DocsGenerationError when an env does not load."""
    out = [
        "# Nodes\n",
        GENERATED_NOTE.format(sources="`envs/*.yaml`"),
        "kind cannot name its nodes, so every kind worker carries the labels of the homelab "
        f"node it stands for, including `{HOMELAB_NODE_LABEL}=<name>`. A workload pinned to a "
        "homelab node by that label lands on the matching kind worker.\n",
    ]
    for env_name in env_names(root):
        platform = load_env(root, env_name)
        env, provider = platform.env, platform.env.provider
        out.append(f"## {env.name}\n")
        out.append(f"{env.description}. Kubernetes `{env.kubernetes_version}`.\n")
        out.append(_node_table(platform))
        if isinstance(provider, KindProvider):
            out.append(
                f"\nkind cluster `{provider.cluster_name}`: one control-plane node of its own "
                f"and {len(provider.mirror_nodes)} workers "
                f"({', '.join(f'`{n}`' for n in provider.mirror_nodes)}).\n"
            )
        elif vms := _vm_section(env.name, env.nodes):
            out.append(vms)
    return "\n".join(out)


# -- reference/parity.md ---------------------------------------------------------------------
def parity_page(root: Path) -> str:
    """`reference/parity.md`: `render.parity.parity_markdown` under the page's own title."""
    head = "# Local replica vs homelab\n\n" + GENERATED_NOTE.format(
        sources="the rendered `local` and `homelab` envs (`streamforge.render.parity`)"
    )
    body = parity_markdown(root).strip()
    body = body.split("\n", 1)[1] if "\n" in body else ""  # drop the report's own title
    return head + "\n" + body + "\n"


# -- reference/bom.md ------------------------------------------------------------------------
def _hashless(ref: str) -> str:
    return ref.rsplit(":", 1)[0] + ":<content hash>"


def _local_helm() -> Resolved | None:
    """The pinned helm binary if this machine has it (never downloaded, never the container:
    too slow for every site build)."""
    from streamforge.execute.tools import ToolError, resolve

    try:
        helm = resolve("helm", allow_download=False)
    except ToolError:
        return None
    return None if helm.source == "container" else helm


def bom_page(root: Path) -> str:
    """`reference/bom.md`: the replica's bill of materials (env `local`, profile `full`, the
    superset). The images of a chart are listed when the pinned helm binary and the chart are
    on this machine (charts are never fetched while the site builds); `nox -s bom` always
    lists them all."""
    from streamforge.commands.bom import build
    from streamforge.model.pins import pins
    from streamforge.render.context import Facts

    platform = load_env(root, "local", "full")
    helm = _local_helm()
    bom, unlisted = build(
        platform, Facts(), helm, fetch=False, python_base=pins().images["python_base"]
    )
    out = [
        "# Bill of materials\n",
        GENERATED_NOTE.format(
            sources="`platform/pins.yaml`, `platform/components/*` and the charts they pin, "
            "templated with the `local` env's values (`streamforge.commands.bom`)"
        ),
        "Everything the replica (env `local`, profile `full`) needs from the internet. "
        "`nox -s prefetch` fetches it into the caches, after which `nox -s up -- --offline` "
        "needs no network; `nox -s bom -- --profile P --json` prints it for any profile. "
        "See [Offline work, mirrors and caches](../guides/offline.md).\n",
        "## Charts\n",
        table(
            ["Component", "Chart", "Version", "Repository", "Cached as"],
            [
                [c.component, f"`{c.name}`", f"`{c.version}`", c.repo, f"`{Path(c.file).name}`"]
                for c in bom.charts
            ],
        ),
        "\n## Images\n",
        "**docker**: run by the local Docker engine; **cache**: pulled by the nodes through "
        "the image cache; **project**: built from this repository by `up` (tags are content "
        "hashes).\n",
    ]
    # a project image's tag is the hash of its sources, which this site does not depend on
    rows = [
        [i.where, f"`{_hashless(i.ref) if i.where == 'project' else i.ref}`", ", ".join(i.used_by)]
        for i in bom.images
    ]
    out.append(table(["Where", "Image", "Used by"], rows))
    if unlisted:
        names = ", ".join(f"`{c.name}`" for c in unlisted)
        out.append(
            f'\n!!! note "Images of {len(unlisted)} chart(s) not listed here"\n'
            f"    The site was built without the pinned helm binary or these charts in the "
            f"chart cache: {names}. `nox -s bom` lists their images.\n"
        )
    return "\n".join(out)
