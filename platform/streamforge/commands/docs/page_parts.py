"""Markdown building blocks of the generated pages: the generated-page note, table cells,
tables, counted nouns and a page's title."""

from __future__ import annotations

import re

GENERATED_NOTE = (
    '!!! info "Generated page"\n'
    "    This page is generated when the site is built, from {sources}. "
    "Edit those files, not this page.\n"
)


def cell(text: object) -> str:
    """`text` made safe inside a markdown table cell (pipes escaped, one line)."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def count(number: int, noun: str) -> str:
    """`1 partition`, `3 partitions`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table of `rows` under `header`, every cell passed through `cell`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def title(markdown: str, fallback: str) -> str:
    """The text of the first `# ` heading of `markdown`, else `fallback`."""
    match = re.search(r"^#\s+(.+?)\s*$", markdown, re.MULTILINE)
    return match.group(1) if match else fallback
