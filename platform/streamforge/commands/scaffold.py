"""`streamforge new-service`: generate a service from scaffolds/python-service and register it.

Generation is cookiecutter's; the scaffold's pre-generation hook is the one definition of a valid
service name, and this module imports it to refuse a bad name before anything is written.
Registration edits three repository files with ruamel.yaml round trips (comments, order and
tags are kept): the `Services` section of mkdocs.yml's nav, the root .gitlab-ci.yml's
`include:` list, and a docs page docs/services/<name>.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from streamforge import console
from streamforge.errors import StreamforgeError

SCAFFOLD = Path("scaffolds") / "python-service"
DOCS_PAGE_TEMPLATE = "docs-page.md.j2"
# The files of a generated service that are its own code: a regenerated service may differ
# from the committed one only here (tests/unit/test_scaffold.py checks the rest byte for byte).
OWN_CODE = ("src", "tests")


class ScaffoldError(StreamforgeError):
    pass


def _hook(root: Path) -> ModuleType:
    """The scaffold's pre-generation hook as a module (its checks run at import-free call)."""
    path = root / SCAFFOLD / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("_streamforge_scaffold_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def name_problem(root: Path, name: str, services_dir: Path | None = None) -> str | None:
    """One line saying why `name` cannot be a new service here, or None."""
    problem: str | None = _hook(root).name_problem(name)
    if problem:
        return problem
    if (root / "platform" / "components" / name).is_dir():
        return f"service name '{name}' is the name of a platform component; pick another name"
    target = (services_dir or root / "services") / name
    if target.exists():
        return f"a service named '{name}' already exists ({target}); pick another name"
    return None


def generate(
    root: Path,
    name: str,
    *,
    description: str = "A StreamForge service",
    owner: str = "platform",
    port: int = 8080,
    output_dir: Path | None = None,
    no_input: bool = True,
) -> Path:
    """Generate services/<name> (or <output_dir>/<name>) from the scaffold; return its folder."""
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    output = output_dir or root / "services"
    problem = name_problem(root, name, output)
    if problem:
        raise ScaffoldError(problem)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="streamforge-cookiecutter-") as scratch:
        try:
            made = cookiecutter(
                str(root / SCAFFOLD),
                no_input=no_input,
                extra_context={
                    "name": name,
                    "description": description,
                    "owner": owner,
                    "port": str(port),
                },
                output_dir=str(output),
                # no user config, and replay files out of the user's home
                default_config={"replay_dir": scratch, "cookiecutters_dir": scratch},
            )
        except FailedHookException:
            # the hook printed its one line; cookiecutter removed what it had made
            raise ScaffoldError(f"the scaffold refused the service '{name}' (see above)") from None
        except CookiecutterException as exc:
            raise ScaffoldError(f"cookiecutter failed: {exc}") from exc
    return Path(made)


# -- registration ------------------------------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(path: Path) -> Any:
    return _yaml().load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: Any) -> None:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    path.write_text(stream.getvalue(), encoding="utf-8")


def register_docs_nav(mkdocs: Path, name: str) -> bool:
    """Add `- <name>: services/<name>.md` to the nav's `Services` section; False if there."""
    data = _load(mkdocs)
    nav = data.get("nav") if isinstance(data, CommentedMap) else None
    if not isinstance(nav, CommentedSeq):
        raise ScaffoldError(f"{mkdocs} has no nav list; add `nav:` with a `- Services:` entry")
    section = next(
        (item["Services"] for item in nav if isinstance(item, CommentedMap) and "Services" in item),
        None,
    )
    if not isinstance(section, CommentedSeq):
        raise ScaffoldError(f"{mkdocs}: the nav has no `- Services:` list; add one")
    page = f"services/{name}.md"
    for item in section:
        if item == page or (isinstance(item, CommentedMap) and page in item.values()):
            return False
    entry = CommentedMap()
    entry[name] = page
    # after the index and the services before it in name order
    position = len(section)
    for index, item in enumerate(section):
        if isinstance(item, CommentedMap) and next(iter(item)) > name:
            position = index
            break
    section.insert(position, entry)
    _dump(mkdocs, data)
    return True


def register_ci_include(gitlab_ci: Path, name: str) -> bool:
    """Add `- local: services/<name>/.gitlab-ci.yml` to the root pipeline's includes."""
    data = _load(gitlab_ci)
    includes = data.get("include") if isinstance(data, CommentedMap) else None
    if not isinstance(includes, CommentedSeq):
        raise ScaffoldError(f"{gitlab_ci} has no `include:` list; add one")
    path = f"services/{name}/.gitlab-ci.yml"
    if any(isinstance(i, CommentedMap) and i.get("local") == path for i in includes) or (
        path in includes
    ):
        return False
    entry = CommentedMap()
    entry["local"] = path
    includes.append(entry)
    _dump(gitlab_ci, data)
    return True


def docs_page(root: Path, context: dict[str, Any]) -> str:
    source = (root / SCAFFOLD / DOCS_PAGE_TEMPLATE).read_text(encoding="utf-8")
    template = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    ).from_string(source)
    return template.render(cookiecutter=context)


def register(root: Path, name: str) -> list[Path]:
    """Register services/<name> in the docs nav, the CI includes and a docs page."""
    from streamforge.model import sources

    service_yaml = root / "services" / name / "service.yaml"
    data, _ = sources.load(service_yaml)
    changed: list[Path] = []
    page = root / "docs" / "services" / f"{name}.md"
    if not page.exists():
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(docs_page(root, {**data, "package": name.replace("-", "_")}))
        changed.append(page)
    mkdocs = root / "mkdocs.yml"
    if mkdocs.is_file():
        if register_docs_nav(mkdocs, name):
            changed.append(mkdocs)
    else:
        console.info("no mkdocs.yml yet: the docs page is written but not in a nav")
    gitlab_ci = root / ".gitlab-ci.yml"
    if gitlab_ci.is_file() and register_ci_include(gitlab_ci, name):
        changed.append(gitlab_ci)
    return changed


def new_service(
    root: Path,
    name: str,
    *,
    description: str = "A StreamForge service",
    owner: str = "platform",
    port: int = 8080,
    no_input: bool = True,
) -> tuple[Path, list[Path]]:
    folder = generate(
        root, name, description=description, owner=owner, port=port, no_input=no_input
    )
    return folder, register(root, folder.name)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="the service's name (a DNS label)")
    p.add_argument("--description", default="A StreamForge service", help="one line")
    p.add_argument("--owner", default="platform", help="owning team or person")
    p.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    p.add_argument(
        "--no-input", action="store_true", help="do not prompt; use the options and defaults"
    )


def cmd_new_service(args: argparse.Namespace) -> None:
    from streamforge.model.load import find_root

    root = find_root()
    folder, changed = new_service(
        root,
        args.name,
        description=args.description,
        owner=args.owner,
        port=args.port,
        # prompts need a terminal; in CI or a pipe the options and defaults are the answers
        no_input=args.no_input or not sys.stdin.isatty(),
    )
    rel = folder.relative_to(root)
    console.info(f"created {rel}/ from {SCAFFOLD}")
    for path in changed:
        console.info(f"registered in {path.relative_to(root)}")
    console.info(
        f"next: edit {rel}/service.yaml and {rel}/src/, run `nox -s tests -- -k {folder.name}`, "
        f"then `nox -s deploy -- {folder.name}`"
    )
