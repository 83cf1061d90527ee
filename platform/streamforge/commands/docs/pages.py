"""Every generated page of the site by its docs URI, and the chapters marker of written pages:
`<!-- streamforge:chapters DIR -->` is replaced with a list of the pages under `DIR/`, so
chapters other people are still writing show up as soon as their file exists."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamforge.commands.docs.page_parts import title
from streamforge.commands.docs.reference_pages import (
    bom_page,
    components_page,
    nodes_page,
    parity_page,
)
from streamforge.commands.docs.services_page import services_page
from streamforge.commands.docs.sessions_page import sessions_page

CHAPTERS_MARKER = re.compile(r"<!--\s*streamforge:chapters\s+([\w./-]+)\s*-->")


def generated_pages(
    root: Path, existing: Callable[[str], bool] = lambda _: False
) -> dict[str, str]:
    """docs URI -> markdown of every generated page of the repository at `root`; `existing(uri)`
    says whether a written page exists (the service catalog links to those). Raises
    DocsGenerationError when the data cannot be turned into a page."""
    return {
        "reference/components.md": components_page(root),
        "reference/bom.md": bom_page(root),
        "reference/nodes.md": nodes_page(root),
        "reference/parity.md": parity_page(root),
        "reference/sessions.md": sessions_page(root),
        "services/index.md": services_page(root, existing),
    }


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
        items.append(f"- [{title(pages[uri], Path(uri).stem)}]({link})")
    return "\n".join(items) if items else "*(no pages yet)*"
