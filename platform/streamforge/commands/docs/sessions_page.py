"""`reference/sessions.md`: the nox sessions, read from noxfile.py's docstrings with `ast`
(nox itself is not imported)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from streamforge.commands.docs.env_models import DocsGenerationError
from streamforge.commands.docs.page_parts import GENERATED_NOTE, table


def _literal(node: ast.expr | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _default_sessions(tree: ast.Module) -> list[str]:
    defaults: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(ast.unparse(t) == "nox.options.sessions" for t in targets):
                defaults = list(_literal(stmt.value) or [])
    return defaults


def nox_sessions(noxfile: Path) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(module docstring, default sessions, sessions) read from noxfile.py without importing
    nox. A session is a function decorated with `nox.session` / `session`, with or without
    arguments; `name=` renames it. Each session is {name, doc, python, default}."""
    tree = ast.parse(noxfile.read_text(encoding="utf-8"), filename=str(noxfile))
    defaults = _default_sessions(tree)
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
    """`reference/sessions.md` from `root/noxfile.py`; DocsGenerationError when it is missing."""
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
    out.append(table(["Session", "What it does"], rows))
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
