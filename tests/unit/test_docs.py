"""The docs site: the strict build passes, generated pages follow the repository's data, and
every internal link of the built HTML points at a file that exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from streamforge.render.image_refs import SITE_INPUTS
from tests.conftest import MODEL_INPUTS, REPO, missing

# What a build of the site reads: copied as a set when a test changes the data.
# the site's inputs, and the base image's the site image is built FROM
DOCS_INPUTS = list(dict.fromkeys([*SITE_INPUTS, *MODEL_INPUTS]))
_BUILT: dict[str, Path] = {}


def mkdocs_available() -> None:
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
    except ImportError:
        missing("mkdocs-material is not installed (pip install -e '.[docs]')")


def mkdocs_build(root: Path, site: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the repository (or a copy) at `root` into `site`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            "mkdocs.yml",
            "-d",
            str(site),
            *extra,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def built_repo_site(factory: pytest.TempPathFactory) -> Path:
    """The repository's own site, built once per test session (shared by the docs tests)."""
    mkdocs_available()
    if "repo" not in _BUILT:
        site = factory.mktemp("site")
        result = mkdocs_build(REPO, site)
        assert result.returncode == 0, f"strict build failed:\n{result.stderr[-4000:]}"
        _BUILT["repo"] = site
    return _BUILT["repo"]


def copy_docs_inputs(dest: Path) -> Path:
    for rel in DOCS_INPUTS:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
        else:
            (dest / rel).mkdir(parents=True)
    return dest


def page_text(site: Path, page: str) -> str:
    """The visible text of a built page (tags stripped), e.g. page='reference/components'."""
    html = (site / page / "index.html").read_text(encoding="utf-8")
    main = html.split('<article class="md-content__inner', 1)[-1].split("</article>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_repo_site(tmp_path_factory)


# -- the strict build of the repository ---------------------------------------------------
def test_strict_build_makes_every_section(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "<title>StreamForge</title>" in home
    for page in (
        "getting-started",
        "architecture",
        "platform",
        "platform/virtualisation",
        "platform/cluster",
        "platform/data-platform",
        "platform/security",
        "services",
        "runbooks/troubleshooting",
        "runbooks/kafka-users-and-topics",
        "runbooks/gpu-time-slicing",
        "reference/components",
        "reference/parity",
        "reference/nodes",
        "reference/sessions",
    ):
        assert (site / page / "index.html").is_file(), f"{page} was not built"
    # the navigation tabs a reader sees on every page
    for tab in ("Getting started", "Architecture", "Platform", "Services", "Runbooks", "Reference"):
        assert re.search(rf'class="md-tabs__link[^"]*"[^>]*>\s*{tab}\s*<', home), tab


def test_architecture_diagrams_are_mermaid_blocks(site: Path) -> None:
    html = (site / "architecture" / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<pre class="mermaid"><code>(.*?)</code></pre>', html, re.S)
    assert len(blocks) == 3
    assert "flowchart" in blocks[0] and "k2w-8" in blocks[2]
    assert "plan.up.plan_host" in blocks[1]  # what `up` does, with the real module names


def test_component_matrix_lists_every_component_and_version(site: Path) -> None:
    from streamforge.model.load import load_platform

    platform = load_platform(REPO, "homelab")
    text = page_text(site, "reference/components")
    for name, comp in platform.components.items():
        assert name in text
        if comp.chart:
            assert comp.chart.version in text, f"{name} {comp.chart.version}"
    for column in ("local: minimal", "homelab: full"):
        assert column in text


def test_session_reference_has_every_session_docstring(site: Path) -> None:
    text = page_text(site, "reference/sessions")
    for name in ("up", "down", "doctor", "tests", "docs", "docs_serve"):
        assert f"nox -s {name}" in text
    assert "bring up (or converge) the local kind replica" in text


def test_parity_page_is_the_parity_report_of_the_rendered_envs(site: Path) -> None:
    from streamforge.render.parity import parity_markdown

    text = page_text(site, "reference/parity")
    assert "Local replica vs homelab" in text
    # every section of the report, under the page's own title
    sections = re.findall(r"^##+ (.+)$", parity_markdown(REPO), re.MULTILINE)
    assert len(sections) > 5
    for heading in sections:
        assert heading.strip() in text, heading


# -- links --------------------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.links.append(value)


def broken_links(site: Path) -> list[str]:
    broken = []
    for html in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(html.read_text(encoding="utf-8"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "data:")):
                continue
            path = unquote(parts.path)
            # 404.html links from the site root (site_url's path is /)
            base = site if path.startswith("/") else html.parent
            target = (base / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{html.relative_to(site)}: {link}")
    return broken


def test_every_internal_link_resolves(site: Path) -> None:
    assert len(list(site.rglob("*.html"))) > 10
    assert broken_links(site) == []


def test_link_check_catches_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text('<a href="gone/">x</a><a href="here.html">y</a>')
    (tmp_path / "here.html").write_text("ok")
    assert broken_links(tmp_path) == ["index.html: gone/"]


# -- generated pages follow the data --------------------------------------------------------
PROBE_COMPONENT = """\
name: zz-probe
description: Probe component added by the docs test
namespace: probe
chart: {repo: https://charts.example.org, name: probe-chart, version: 9.8.7}
profile: full
"""
PROBE_SERVICE = """\
name: probe-svc
description: Probe service added by the docs test
owner: team-probe
host: probe-ui
kafka:
  user: probe-svc
  topics:
    - {name: probe.events, partitions: 3}
"""
PROBE_SESSION = '''

@nox.session(python=PYTHON)
def probe_session(session: nox.Session) -> None:
    """Probe session added by the docs test."""
'''


@pytest.fixture(scope="module")
def changed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mkdocs_available()
    root = copy_docs_inputs(tmp_path_factory.mktemp("repo"))
    (root / "platform/components/zz-probe").mkdir()
    (root / "platform/components/zz-probe/component.yaml").write_text(PROBE_COMPONENT)
    (root / "services/probe-svc").mkdir(parents=True)
    (root / "services/probe-svc/service.yaml").write_text(PROBE_SERVICE)
    with (root / "noxfile.py").open("a") as noxfile:
        noxfile.write(PROBE_SESSION)
    site = root / "site-out"
    result = mkdocs_build(root, site)
    assert result.returncode == 0, result.stderr[-4000:]
    return site


def test_new_component_appears_in_the_matrix(changed_site: Path) -> None:
    html = (changed_site / "reference/components/index.html").read_text(encoding="utf-8")
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
        if "zz-probe" in row
    ]
    versions, where = rows
    assert versions[2:5] == ["probe-chart (https://charts.example.org)", "9.8.7", "probe"]
    # columns: ci, homelab, then local, each minimal/default/full
    assert where[1:] == ["full", "replica, production", *(["—", "—", "✅"] * 3)]


def test_new_service_appears_in_the_catalog(changed_site: Path) -> None:
    text = page_text(changed_site, "services")
    assert "probe-svc" in text
    assert "https://probe-ui.dmz.home" in text
    assert "probe.events" in text and "team-probe" in text


def test_new_session_appears_in_the_session_reference(changed_site: Path) -> None:
    text = page_text(changed_site, "reference/sessions")
    assert "nox -s probe_session" in text and "Probe session added by the docs test." in text


def test_hand_written_copy_of_a_generated_page_fails_the_build(tmp_path: Path) -> None:
    mkdocs_available()
    root = copy_docs_inputs(tmp_path / "repo")
    (root / "docs/services").mkdir(exist_ok=True)
    (root / "docs/services/index.md").write_text("# Services\n\nstale copy\n")
    result = mkdocs_build(root, tmp_path / "out")
    assert result.returncode != 0
    assert "docs/services/index.md is generated" in result.stderr


@pytest.mark.parametrize("flags", [(), ("-v",)], ids=["quiet", "verbose"])
def test_a_dead_anchor_fails_the_build_at_any_log_level(
    tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """mkdocs itself skips anchor checks under -v; the docs hook keeps them on."""
    mkdocs_available()
    root = copy_docs_inputs(tmp_path / "repo")
    index = root / "docs/index.md"
    index.write_text(index.read_text() + "\nSee [nowhere](architecture.md#no-such-heading).\n")
    result = mkdocs_build(root, tmp_path / "out", *flags)
    assert result.returncode != 0
    assert "does not contain an anchor '#no-such-heading'" in result.stderr


def test_broken_model_fails_the_build_with_file_and_line(tmp_path: Path) -> None:
    mkdocs_available()
    root = copy_docs_inputs(tmp_path / "repo")
    path = root / "platform/components/metallb/component.yaml"
    path.write_text(path.read_text() + "versoin: 1\n")
    result = mkdocs_build(root, tmp_path / "out")
    assert result.returncode != 0
    assert re.search(r"metallb/component\.yaml:\d+: unknown key 'versoin'", result.stderr)


# -- the docs-site image tag ----------------------------------------------------------------
def test_site_hash_changes_with_docs_and_data_only(tmp_path: Path) -> None:
    from streamforge.render.image_refs import site_inputs_hash

    root = copy_docs_inputs(tmp_path / "repo")
    first = site_inputs_hash(root)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    (root / "docs/__pycache__").mkdir()
    (root / "docs/__pycache__/x.pyc").write_bytes(b"cache")
    (root / "unrelated.txt").write_text("not part of the site")
    assert site_inputs_hash(root) == first
    (root / "docs/index.md").write_text((root / "docs/index.md").read_text() + "\nmore\n")
    second = site_inputs_hash(root)
    assert second != first
    comp = root / "platform/components/metallb/component.yaml"
    comp.write_text(comp.read_text().replace("0.14.9", "0.15.0"))
    assert site_inputs_hash(root) != second


def test_up_takes_the_built_site_only_while_its_stamp_matches_the_inputs(tmp_path: Path) -> None:
    """The docs hook stamps a built site; `up` (execute.images.built_site) refuses a missing or
    stale one, so the docs-site image never packages an older site."""
    mkdocs_available()
    from mkdocs.config import load_config

    from streamforge.commands.docs import hooks
    from streamforge.errors import StreamforgeError
    from streamforge.execute.images import SITE_DIR, built_site

    root = copy_docs_inputs(tmp_path / "repo")
    with pytest.raises(StreamforgeError, match=r"no built docs site .*run `nox -s docs` first"):
        built_site(root)
    config = load_config(str(root / "mkdocs.yml"))
    assert Path(config.site_dir) == root / SITE_DIR
    (root / SITE_DIR).mkdir(parents=True)
    hooks.on_post_build(config)
    assert built_site(root) == root / SITE_DIR
    (root / "docs/index.md").write_text((root / "docs/index.md").read_text() + "\nmore\n")
    with pytest.raises(StreamforgeError, match="older than docs/ or the data; run `nox -s docs`"):
        built_site(root)
