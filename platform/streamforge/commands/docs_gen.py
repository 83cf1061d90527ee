"""Pages of the docs site that are generated from the repository's own data at build time.

`mkdocs.yml` lists this file under `hooks:`; mkdocs then calls `on_files`, which adds the pages
below as in-memory files, so there is no committed copy that could drift from the data:

- `reference/components.md`  component/version matrix per env and profile (component.yaml files)
- `reference/bom.md`         the replica's bill of materials (`streamforge.commands.bom`)
- `reference/nodes.md`       homelab nodes and the kind nodes that stand for them (envs/*.yaml)
- `reference/parity.md`      local vs homelab differences (`render.parity.parity_markdown`)
- `reference/sessions.md`    the nox sessions, read from noxfile.py's docstrings with `ast`
- `services/index.md`        the service catalog (services/*/service.yaml)

A written page may also carry the marker `<!-- streamforge:chapters DIR -->`, which is replaced
with a list of the pages that exist under `DIR/` (chapters other people are still writing show
up as soon as their file exists). The functions that make pages do not import mkdocs, so they
can be tested and reused (`site_inputs_hash` tags the docs-site image) without it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamforge.errors import ModelError
from streamforge.model.facts import kafka
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform, env_names, load_platform
from streamforge.model.schema.base import PROFILES
from streamforge.model.schema.provider import KindProvider
from streamforge.render.image_refs import SITE_INPUTS, site_inputs_hash

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

GENERATED_NOTE = (
    '!!! info "Generated page"\n'
    "    This page is generated when the site is built, from {sources}. "
    "Edit those files, not this page.\n"
)
# Everything a built site depends on: the docs-site image tag hashes these (see
# `site_inputs_hash`), and `mkdocs serve` rebuilds when one of them changes.
CHAPTERS_MARKER = re.compile(r"<!--\s*streamforge:chapters\s+([\w./-]+)\s*-->")


class DocsGenerationError(Exception):
    """The repository's data could not be turned into a page; the message says why and how."""


# -- helpers ---------------------------------------------------------------------------------
def _cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _load(root: Path, env: str, profile: str | None = None) -> Platform:
    try:
        return load_platform(root, env, profile)
    except ModelError as exc:
        raise DocsGenerationError(
            f"the model of env '{env}' does not load, so the reference pages cannot be "
            f"generated:\n{exc}"
        ) from exc


def _main_env(root: Path) -> str:
    names = env_names(root)
    if not names:
        raise DocsGenerationError(f"no env files in {root / 'envs'}; add envs/<name>.yaml")
    return "homelab" if "homelab" in names else names[0]


# -- reference/components.md ---------------------------------------------------------------
def components_page(root: Path) -> str:
    envs = env_names(root)
    enabled = {(e, p): set(_load(root, e, p).enabled) for e in envs for p in PROFILES}
    base = {e: _load(root, e) for e in envs}
    platform = base[_main_env(root)]
    out = [
        "# Components and versions\n",
        GENERATED_NOTE.format(sources="`platform/components/*/component.yaml` and `envs/*.yaml`"),
        "Every component is defined once, with one pinned chart version, for every env. "
        "`nox -s up -- --profile minimal|default|full` picks how many of them the replica "
        "runs; the homelab runs its env file's profile.\n",
        "## Versions\n",
    ]
    rows = []
    for name, comp in sorted(platform.components.items()):
        chart = f"`{comp.chart.name}` ({comp.chart.repo})" if comp.chart else "own manifests"
        version = f"`{comp.chart.version}`" if comp.chart else "—"
        node = f"`{comp.node}`" if comp.node else ""
        rows.append([f"**{name}**", comp.description, chart, version, f"`{comp.namespace}`", node])
    out.append(_table(["Component", "What it is", "Chart", "Version", "Namespace", "Node"], rows))
    out.append("\n## Where each component runs\n")
    defaults = ", ".join(f"`{e}` runs `{base[e].env.profile}`" for e in envs)
    out.append(
        "✅ enabled, — not enabled, ⛔ left out by the env (reasons below). "
        "A component's own profile is the smallest profile that "
        f"includes it; an env can still switch it on or off. By default {defaults}.\n"
    )
    header = ["Component", "Profile", "Runs in"] + [f"{e}: {p}" for e in envs for p in PROFILES]
    rows = []
    for name, comp in sorted(platform.components.items()):
        marks = [
            "⛔" if name in base[e].left_out else "✅" if name in enabled[(e, p)] else "—"
            for e in envs
            for p in PROFILES
        ]
        rows.append([f"**{name}**", comp.profile, ", ".join(comp.runs_in), *marks])
    out.append(_table(header, rows))
    left_out = [(e, n, why) for e in envs for n, why in base[e].left_out.items()]
    if left_out:
        out.append("\n## Left out by an env\n")
        out.append(_table(["Env", "Component", "Why"], [[f"`{e}`", n, w] for e, n, w in left_out]))
    notes = [(n, c.docs) for n, c in sorted(platform.components.items()) if c.docs]
    if notes:
        out.append("\n## Notes\n")
        out += [f"- **{name}**: {_cell(text)}" for name, text in notes]
        out.append("")
    return "\n".join(out)


# -- reference/nodes.md ----------------------------------------------------------------------
def nodes_page(root: Path) -> str:
    out = [
        "# Nodes\n",
        GENERATED_NOTE.format(sources="`envs/*.yaml`"),
        "kind cannot name its nodes, so every kind worker carries the labels of the homelab "
        f"node it stands for, including `{HOMELAB_NODE_LABEL}=<name>`. A workload pinned to a "
        "homelab node by that label lands on the matching kind worker.\n",
    ]
    for env_name in env_names(root):
        platform = _load(root, env_name)
        env = platform.env
        provider = env.provider
        out.append(f"## {env.name}\n")
        out.append(f"{env.description}. Kubernetes `{env.kubernetes_version}`.\n")
        header = ["Node", "Role", "Labels", "Taints", "GPUs", "Runs (seed)"]
        if isinstance(provider, KindProvider):
            header.append("In this env")
        rows = []
        for node in env.nodes:
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
                row.append(
                    "a kind worker" if node.name in provider.mirror_nodes else "not replicated"
                )
            rows.append(row)
        out.append(_table(header, rows))
        vms = [(n, n.vm) for n in env.nodes if n.vm]
        if vms and not isinstance(provider, KindProvider):
            out.append(f"\n### Proxmox VE VMs ({env.name})\n")
            out.append(
                "The VM behind each node (seed 5.1), from `nodes[].vm` in the env file. "
                "Kubespray's inventory (`kubespray/inventory/hosts.yaml` of "
                f"`nox -s render -- --env {env.name}`) lists the same hosts.\n"
            )
            vm_rows = [
                [f"`{n.name}`", n.role, str(vm.cores), f"{vm.memory_gib} GiB", f"{vm.disk_gib} GiB"]
                for n, vm in vms
            ]
            vm_rows.append(
                [
                    "**total**",
                    "",
                    str(sum(vm.cores for _, vm in vms)),
                    f"{sum(vm.memory_gib for _, vm in vms)} GiB",
                    f"{sum(vm.disk_gib for _, vm in vms)} GiB",
                ]
            )
            out.append(_table(["VM", "Role", "vCPUs", "Memory", "Disk"], vm_rows))
        if isinstance(provider, KindProvider):
            out.append(
                f"\nkind cluster `{provider.cluster_name}`: one control-plane node of its own "
                f"and {len(provider.mirror_nodes)} workers "
                f"({', '.join(f'`{n}`' for n in provider.mirror_nodes)}).\n"
            )
    return "\n".join(out)


# -- services/index.md -----------------------------------------------------------------------
def services_page(root: Path, existing: Callable[[str], bool] = lambda _: False) -> str:
    """The service catalog; `existing(uri)` says whether a per-service page exists to link."""
    platform = _load(root, _main_env(root))
    domain = platform.env.domain
    out = [
        "# Services\n",
        GENERATED_NOTE.format(sources="`services/*/service.yaml`"),
    ]
    if not platform.services:
        out.append(
            "No services yet. Start one with `nox -s new_service -- --name <name>`; it "
            "appears here on the next build.\n"
        )
        return "\n".join(out)
    rows = []
    for name, svc in sorted(platform.services.items()):
        title = f"[{name}]({name}.md)" if existing(f"services/{name}.md") else name
        topics = "<br>".join(f"`{t.name}`" for t in svc.kafka.topics)
        rows.append(
            [
                f"**{title}**",
                svc.description,
                svc.owner,
                f"`https://{svc.hostname}.{domain}`",
                f"`{svc.kafka.user}`" if svc.kafka.user else "",
                topics,
                str(svc.gpus) if svc.gpus else "",
            ]
        )
    out.append(
        _table(
            ["Service", "What it does", "Owner", "Address", "Kafka user", "Topics", "GPUs"], rows
        )
    )
    out.append("")
    for name, svc in sorted(platform.services.items()):
        out.append(f"## {name}\n")
        out.append(f"{svc.description}\n")
        facts = [
            f"- **Owner:** {svc.owner}",
            f"- **Address:** `https://{svc.hostname}.{domain}` (port {svc.port} in the pod)",
        ]
        if svc.kafka.user:
            cluster = kafka(platform).name
            facts.append(
                f"- **Kafka user:** `{svc.kafka.user}` (SCRAM-SHA-512 on cluster `{cluster}`)"
            )
        if svc.kafka.topics:
            facts.append(
                "- **Topics:** "
                + ", ".join(
                    f"`{t.name}` ({_count(t.partitions, 'partition')}, "
                    f"{_count(t.replicas, 'replica')})"
                    for t in svc.kafka.topics
                )
            )
        if svc.kafka.consumes:
            facts.append("- **Consumes:** " + ", ".join(f"`{t}`" for t in svc.kafka.consumes))
        if svc.gpus:
            facts.append(f"- **GPUs:** {svc.gpus} `nvidia.com/gpu` (time-sliced)")
        for volume in svc.volumes:
            facts.append(f"- **Volume** `{volume.name}`: {volume.size} {volume.class_.upper()}")
        if svc.node:
            facts.append(f"- **Pinned to node:** `{svc.node}`")
        out.append("\n".join(facts) + "\n")
    return "\n".join(out)


# -- reference/parity.md ---------------------------------------------------------------------
def parity_page(root: Path) -> str:
    head = "# Local replica vs homelab\n\n" + GENERATED_NOTE.format(
        sources="the rendered `local` and `homelab` envs (`streamforge.render.parity`)"
    )
    try:
        from streamforge.render.parity import parity_markdown
    except ImportError as exc:
        return (
            head + '\n!!! failure "parity module missing"\n'
            "    `streamforge.render.parity.parity_markdown` could not be imported "
            f"(`{_cell(exc)}`), so this page has no parity table. It is not filled in by "
            "hand on purpose: the table must come from the rendered envs.\n"
        )
    body = parity_markdown(root).strip()
    if body.startswith("# "):  # the module wrote its own title
        body = body.split("\n", 1)[1] if "\n" in body else ""
    return head + "\n" + body + "\n"


# -- reference/bom.md ------------------------------------------------------------------------
def _hashless(ref: str) -> str:
    return ref.rsplit(":", 1)[0] + ":<content hash>"


def bom_page(root: Path) -> str:
    """The replica's bill of materials (env `local`, profile `full`, the superset). The images
    of a chart are listed when the pinned helm binary and the chart are on this machine
    (charts are never fetched while the site builds); `nox -s bom` always lists them all."""
    from streamforge.commands.bom import build
    from streamforge.execute.tools import ToolError, resolve
    from streamforge.model.pins import pins
    from streamforge.render.context import Facts

    platform = _load(root, "local", "full")
    try:
        helm = resolve("helm", allow_download=False)
    except ToolError:
        helm = None
    if helm is not None and helm.source == "container":
        helm = None  # too slow for every site build
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
    ]
    rows = [
        [c.component, f"`{c.name}`", f"`{c.version}`", c.repo, f"`{Path(c.file).name}`"]
        for c in bom.charts
    ]
    out.append(_table(["Component", "Chart", "Version", "Repository", "Cached as"], rows))
    out.append("\n## Images\n")
    out.append(
        "**docker**: run by the local Docker engine; **cache**: pulled by the nodes through "
        "the image cache; **project**: built from this repository by `up` (tags are content "
        "hashes).\n"
    )
    # a project image's tag is the hash of its sources, which this site does not depend on
    rows = [
        [i.where, f"`{_hashless(i.ref) if i.where == 'project' else i.ref}`", ", ".join(i.used_by)]
        for i in bom.images
    ]
    out.append(_table(["Where", "Image", "Used by"], rows))
    if unlisted:
        names = ", ".join(f"`{c.name}`" for c in unlisted)
        out.append(
            f'\n!!! note "Images of {len(unlisted)} chart(s) not listed here"\n'
            f"    The site was built without the pinned helm binary or these charts in the "
            f"chart cache: {names}. `nox -s bom` lists their images.\n"
        )
    return "\n".join(out)


# -- reference/sessions.md -------------------------------------------------------------------
def _literal(node: ast.expr | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def nox_sessions(noxfile: Path) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(module docstring, default sessions, sessions) read from noxfile.py without importing
    nox. A session is a function decorated with `nox.session` / `session`, with or without
    arguments; `name=` renames it."""
    tree = ast.parse(noxfile.read_text(encoding="utf-8"), filename=str(noxfile))
    defaults: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(ast.unparse(t) == "nox.options.sessions" for t in targets):
                defaults = list(_literal(stmt.value) or [])
    sessions = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.FunctionDef):
            continue
        for deco in stmt.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            func = call.func if call else deco
            if ast.unparse(func) not in ("nox.session", "session"):
                continue
            kwargs = {k.arg: _literal(k.value) for k in (call.keywords if call else []) if k.arg}
            sessions.append(
                {
                    "name": kwargs.get("name") or stmt.name,
                    "doc": ast.get_docstring(stmt) or "",
                    "python": kwargs.get("python"),
                    "default": (kwargs.get("name") or stmt.name) in defaults,
                }
            )
    return ast.get_docstring(tree) or "", defaults, sessions


def sessions_page(root: Path) -> str:
    noxfile = root / "noxfile.py"
    if not noxfile.is_file():
        raise DocsGenerationError(f"{noxfile} is missing; the session reference is read from it")
    module_doc, defaults, sessions = nox_sessions(noxfile)
    out = [
        "# nox sessions\n",
        GENERATED_NOTE.format(sources="the docstrings in `noxfile.py`"),
        module_doc + "\n" if module_doc else "",
        "Run one with `nox -s <session>` (or `pipx run nox -s <session>`); arguments after "
        "`--` go to the session, e.g. `nox -s up -- --dry-run`. "
        + (f"Plain `nox` runs {', '.join(f'`{d}`' for d in defaults)}.\n" if defaults else "\n"),
    ]
    rows = [[f"[`{s['name']}`](#{s['name'].lower()})", s["doc"].split("\n\n")[0]] for s in sessions]
    out.append(_table(["Session", "What it does"], rows))
    for s in sessions:
        out.append(f"\n## {s['name']}\n")
        out.append(f"```sh\nnox -s {s['name']}\n```\n")
        out.append((s["doc"] or "No docstring yet.") + "\n")
        extra = []
        if s["python"]:
            extra.append(f"Python {s['python']}")
        if s["default"]:
            extra.append("runs with a plain `nox`")
        if extra:
            out.append(f"*{'; '.join(extra)}.*\n")
    return "\n".join(out)


# -- all pages, and the markers in written pages ---------------------------------------------
def generated_pages(
    root: Path, existing: Callable[[str], bool] = lambda _: False
) -> dict[str, str]:
    """docs URI -> markdown of every generated page."""
    return {
        "reference/components.md": components_page(root),
        "reference/bom.md": bom_page(root),
        "reference/nodes.md": nodes_page(root),
        "reference/parity.md": parity_page(root),
        "reference/sessions.md": sessions_page(root),
        "services/index.md": services_page(root, existing),
    }


def _title(markdown: str, fallback: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*$", markdown, re.MULTILINE)
    return match.group(1) if match else fallback


def _nav_uris(nav: Any) -> list[str]:
    """Page URIs of a nav config (mkdocs.yml's `nav:`), in their order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [uri for value in nav.values() for uri in _nav_uris(value)]
    if isinstance(nav, list):
        return [uri for item in nav for uri in _nav_uris(item)]
    return []


def chapter_list(folder: str, pages: dict[str, str], here: str, nav: Any = None) -> str:
    """A markdown list linking the pages under `folder/` (uri -> markdown), from page `here`,
    in nav order (pages not in the nav last, by name)."""
    prefix = folder.strip("/") + "/"
    base = Path(here).parent
    order = {uri: index for index, uri in enumerate(_nav_uris(nav))}
    items = []
    for uri in sorted(pages, key=lambda u: (order.get(u, len(order)), u)):
        if not uri.startswith(prefix) or uri == here or not uri.endswith(".md"):
            continue
        link = Path(uri).relative_to(base).as_posix() if base != Path(".") else uri
        items.append(f"- [{_title(pages[uri], Path(uri).stem)}]({link})")
    return "\n".join(items) if items else "*(no pages yet)*"


SITE_DIR = "build/site"  # mkdocs.yml's site_dir
STAMP = ".site-inputs"  # written into the built site: the inputs hash it was built from


def built_site(root: Path) -> Path:
    """The site `nox -s docs` built, checked to be built from the current inputs."""
    from streamforge.errors import StreamforgeError

    site = root / SITE_DIR
    stamp = site / STAMP
    if not stamp.is_file():
        raise StreamforgeError(f"no built docs site in {site}; run `nox -s docs` first")
    if stamp.read_text().strip() != site_inputs_hash(root):
        raise StreamforgeError(
            f"the docs site in {site} is older than docs/ or the data; run `nox -s docs` again"
        )
    return site


# -- mkdocs hooks ----------------------------------------------------------------------------
def _root(config: MkDocsConfig) -> Path:
    return Path(str(config.config_file_path)).resolve().parent


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Keep anchor validation on whatever the log level: mkdocs collects a page's links to
    anchors only while its `mkdocs.structure.pages` logger is above DEBUG (structure/pages.py,
    Page.render), so `mkdocs build -v` silently passed dead anchors that the plain build
    refuses. Holding that one logger at INFO costs its debug lines, not the check."""
    import logging

    pages_log = logging.getLogger("mkdocs.structure.pages")
    if pages_log.getEffectiveLevel() <= logging.DEBUG:
        pages_log.setLevel(logging.INFO)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    root = _root(config)
    try:
        pages = generated_pages(root, lambda uri: files.get_file_from_path(uri) is not None)
    except DocsGenerationError as exc:
        raise PluginError(str(exc)) from exc
    for uri, content in pages.items():
        if files.get_file_from_path(uri) is not None:
            raise PluginError(
                f"docs/{uri} is generated by platform/streamforge/docs_gen.py; "
                "remove the hand-written file (edit the data it is generated from instead)"
            )
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def chapters(match: re.Match[str]) -> str:
        pages = {
            f.src_uri: (f.content_string if f.is_documentation_page() else "")
            for f in files
            if f.is_documentation_page()
        }
        return chapter_list(match.group(1), pages, page.file.src_uri, config.nav)

    return CHAPTERS_MARKER.sub(chapters, markdown)


def on_post_build(config: MkDocsConfig) -> None:
    """Stamp the built site with the hash of its inputs (see `built_site`)."""
    site = Path(str(config.site_dir))
    (site / STAMP).write_text(site_inputs_hash(_root(config)) + "\n")


def on_serve(server: LiveReloadServer, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
    """`mkdocs serve` rebuilds when the data behind the generated pages changes."""
    root = _root(config)
    for rel in SITE_INPUTS:
        if (root / rel).exists() and rel not in ("mkdocs.yml", "docs"):
            server.watch(str(root / rel))
    return server
