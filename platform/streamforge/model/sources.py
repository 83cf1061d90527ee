"""Load YAML model files keeping, for every key and item, the file and line it came from.

The data is returned as plain dicts and lists; `Origins` maps a path such as
("nodes", 2, "labels") to the (file, line) it was read from, so that any later error about
that path (a pydantic error or a cross-reference check) can be reported as `file:line`.
Merging an override file onto a base keeps the origin of whichever file supplied each value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from streamforge.errors import ModelError, Problem

Loc = tuple[str | int, ...]


class Origins(dict[Loc, tuple[str, int]]):
    """Path in the data -> (file, 1-based line)."""

    def locate(self, loc: Loc) -> tuple[str, int]:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self:
                return self[loc[:end]]
        return next(iter(self.values()), ("<unknown>", 0))

    def problem(self, loc: Loc, problem: str, fix: str) -> Problem:
        file, line = self.locate(loc)
        return Problem(file, line, problem, fix)


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load(path: Path) -> tuple[Any, Origins]:
    """Read one YAML file into plain data and its origins; syntax errors become ModelError."""
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(
            [
                Problem(
                    name,
                    0,
                    f"cannot read the file ({exc.strerror})",
                    "check that it exists and is readable",
                )
            ]
        ) from exc
    try:
        raw = YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ModelError(
            [
                Problem(
                    name,
                    line,
                    _duplicate(exc.problem or ""),
                    "keep one of the two entries",
                )
            ]
        ) from exc
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ModelError(
            [
                Problem(
                    name, line, f"not valid YAML: {exc.problem}", "fix the YAML syntax at that line"
                )
            ]
        ) from exc
    origins = Origins()
    origins[()] = (name, 1)
    return _plain(raw, (), name, origins), origins


def _plain(node: Any, loc: Loc, name: str, origins: Origins) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            line, _ = node.lc.key(key)
            origins[(*loc, key)] = (name, line + 1)
            out[key] = _plain(value, (*loc, key), name, origins)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, _ = node.lc.item(index)
            origins[(*loc, index)] = (name, line + 1)
            items.append(_plain(value, (*loc, index), name, origins))
        return items
    if isinstance(node, str):
        return str(node)
    return node


def merge(
    base: Any, base_origins: Origins, override: Any, override_origins: Origins, loc: Loc = ()
) -> Any:
    """Deep-merge `override` onto `base`: maps merge key by key, anything else is replaced.

    `base_origins` is updated in place so that every merged value points at its own file.
    """
    # a map whose `type` changes is a different thing (e.g. provider kind vs existing): replace
    if (
        isinstance(base, Mapping)
        and isinstance(override, Mapping)
        and base.get("type", override.get("type")) == override.get("type", base.get("type"))
    ):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base.get(key), base_origins, value, override_origins, (*loc, key))
        return merged
    for path in [p for p in base_origins if p[: len(loc)] == loc and len(p) > len(loc)]:
        del base_origins[path]
    for path, where in override_origins.items():
        if path[: len(loc)] == loc:
            base_origins[path] = where
    return override


def deep_merge(base: Any, override: Any) -> Any:
    """Deep-merge plain data (maps merge, anything else is replaced); no origins kept."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        return {**base, **{k: deep_merge(base.get(k), v) for k, v in override.items()}}
    return override


def _duplicate(problem: str) -> str:
    """ruamel's duplicate-key text without the two values (a whole section can be one)."""
    found = re.search(r'found duplicate key "(.*?)" with value', problem)
    return f"duplicate key '{found.group(1)}'" if found else f"duplicate key ({problem.strip()})"
