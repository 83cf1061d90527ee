"""The flow model -> render -> plan -> execute -> commands, as the imports show it: a graph
built from every import in platform/streamforge (function-level ones included) has no cycle,
and no arrow runs from a layer up into a later one."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "platform" / "streamforge"
# a layer may import the ones before it (and the shared modules at the top of the package)
LAYERS = ("model", "render", "plan", "execute", "validate", "commands")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_graph() -> dict[str, set[str]]:
    """{module: the modules of the package it imports}."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # `from pkg import module` imports the module; `from module import name` not
                targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = targets or [base]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def layer(module: str) -> int | None:
    part = module.split(".")[1] if module.count(".") else ""
    return LAYERS.index(part) if part in LAYERS else None


def test_the_graph_sees_the_imports() -> None:
    graph = imports_graph()
    assert "streamforge.plan.up" in graph["streamforge.commands.up"]
    assert "streamforge.render.kind" in graph["streamforge.render.env"]


def test_imports_have_no_cycle() -> None:
    try:
        graphlib.TopologicalSorter(imports_graph()).prepare()
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


@pytest.mark.parametrize("lower", ["model", "render", "plan", "execute"])
def test_no_arrow_runs_up_from(lower: str) -> None:
    graph = imports_graph()
    rank = LAYERS.index(lower)
    upward = sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        for b in targets
        if layer(a) == rank and (layer(b) or 0) > rank
    )
    assert not upward, upward


def test_shared_modules_import_no_layer() -> None:
    """console, errors and run sit below every layer."""
    graph = imports_graph()
    shared = [m for m in graph if m.count(".") == 1 and layer(m) is None]
    assert {"streamforge.console", "streamforge.errors", "streamforge.run"} <= set(shared)
    offending = sorted(f"{a} -> {b}" for a in shared for b in graph[a] if layer(b) is not None)
    assert not offending, offending


MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small() -> None:
    """Small modules with names that say what they do: none over 300 lines, no function over
    60 (the limits docs/architecture.md states)."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(REPO)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    assert not too_long, too_long
