"""Load and check the whole model: an env file (and the env it extends), every component and
every service, into one `Platform`.

Each file is read keeping the line of every value (model.sources), validated against its
typed model (model.schema, errors explained by model.explain), then cross-checked
(model.checks). All problems are collected and raised together as one ModelError."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from streamforge.errors import ModelError, Problem
from streamforge.model import sources
from streamforge.model.checks import check_all
from streamforge.model.checks.loaded import Loaded
from streamforge.model.explain import validate
from streamforge.model.schema.base import PROFILES
from streamforge.model.schema.component import Component
from streamforge.model.schema.env import Env
from streamforge.model.schema.service import Service
from streamforge.model.sources import Origins

HOMELAB_NODE_LABEL = "streamforge.io/homelab-node"


@dataclass
class Platform:
    """Everything one env is made of, checked: what `load_platform` returns.

    `components` holds every defined component (by name), `enabled` the ones this env runs in
    dependency order; `origins` maps "env", "component:<name>" and "service:<name>" to where
    each value was read, so later stages (render) can still name `file:line`."""

    root: Path
    env: Env
    components: dict[str, Component]  # every defined component, by name
    enabled: list[str]  # enabled components in dependency order
    services: dict[str, Service]
    origins: dict[str, Origins] = field(default_factory=dict)

    @property
    def left_out(self) -> dict[str, str]:
        """{component: reason} for the components this env leaves out (see ComponentSettings)."""
        return {
            name: setting.left_out
            for name, setting in sorted(self.env.components.items())
            if setting.left_out
        }

    def left_out_api(self, api_version: str) -> str | None:
        """The left-out component that serves `api_version`'s group, if any."""
        group = api_version.rpartition("/")[0]
        for name in self.left_out:
            if group and group in self.components[name].api_groups:
                return name
        return None

    def component_dir(self, name: str) -> Path:
        """The folder of component `name` (it need not exist)."""
        return self.root / "platform" / "components" / name

    def service_dir(self, name: str) -> Path:
        """The folder of service `name` (it need not exist)."""
        return self.root / "services" / name

    def node_labels(self, node_name: str) -> dict[str, str]:
        """Node `node_name`'s labels, with the label every node carries in both envs; the
        node must exist (AssertionError otherwise)."""
        node = self.env.node(node_name)
        assert node is not None
        return {HOMELAB_NODE_LABEL: node.name, **node.labels}


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder at or above `start` (default: the working
    directory) holding envs/ and platform/components/; raises ModelError when there is none."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "envs").is_dir() and (candidate / "platform" / "components").is_dir():
            return candidate
    raise ModelError(
        [
            Problem(
                str(here),
                0,
                "not inside the StreamForge repository",
                "run this from the repository (it has envs/ and platform/)",
            )
        ]
    )


def env_names(root: Path) -> list[str]:
    """The names of the envs under `root` (envs/<name>.yaml), sorted."""
    return sorted(p.stem for p in (root / "envs").glob("*.yaml"))


def load_platform(root: Path, env_name: str, profile: str | None = None) -> Platform:
    """Load and check env `env_name` of the repository at `root`, with every component and
    service; `profile` (minimal, default, full) overrides the env file's profile.

    Returns the checked Platform. Raises ModelError holding every problem found
    (`file:line: problem; fix`): YAML errors, values the typed model refuses, and the
    cross-field checks of model.checks."""
    problems: list[Problem] = []
    env, env_origins = _load_env(root, env_name, problems, profile)
    components, comp_origins = _load_all(
        root / "platform" / "components", "component.yaml", Component, problems
    )
    services, svc_origins = _load_all(root / "services", "service.yaml", Service, problems)
    if problems or env is None:
        raise ModelError(problems)
    loaded = Loaded(root, env, env_origins, components, comp_origins, services, svc_origins)
    enabled = check_all(loaded, problems)
    if problems:
        raise ModelError(problems)
    origins = {
        "env": env_origins,
        **{f"component:{k}": v for k, v in comp_origins.items()},
        **{f"service:{k}": v for k, v in svc_origins.items()},
    }
    return Platform(root, env, components, enabled, services, origins)


def _load_env(
    root: Path, name: str, problems: list[Problem], profile: str | None
) -> tuple[Env | None, Origins]:
    """envs/<name>.yaml merged onto the envs it extends, `profile` (when given) set, and
    validated; None (with problems appended) when it is not valid. Raises ModelError for an
    unknown env or profile (nothing else can be checked then)."""
    path = root / "envs" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(env_names(root)) or "none"
        raise ModelError(
            [
                Problem(
                    sources.display_path(path), 0, f"no env named '{name}'", f"use one of: {known}"
                )
            ]
        )
    data, origins = sources.load(path)
    if not isinstance(data, dict):
        problems.append(origins.problem((), "an env file must be a mapping", "start with name:"))
        return None, origins
    merged, origins = _merge_extended(root, name, data, origins, problems)
    if merged is None:
        return None, origins
    if profile is not None:
        if profile not in PROFILES:
            raise ModelError(
                [
                    Problem(
                        "--profile",
                        0,
                        f"unknown profile '{profile}'",
                        f"use one of: {', '.join(PROFILES)}",
                    )
                ]
            )
        merged["profile"] = profile
    env = validate(Env, merged, origins, problems)
    if env is not None and env.name != name:
        problems.append(
            origins.problem(
                ("name",),
                f"name '{env.name}' differs from the file name '{name}.yaml'",
                f"write name: {name} (or rename the file to {env.name}.yaml)",
            )
        )
    return env, origins


def _merge_extended(
    root: Path, name: str, data: dict[str, Any], origins: Origins, problems: list[Problem]
) -> tuple[dict[str, Any] | None, Origins]:
    """Env `name`'s `data` merged onto the env it `extends:` (and so on up the chain), with
    the origins of the merged data; None when a parent is not an env file or the chain loops."""
    seen = {name}
    while "extends" in data:
        parent = data.pop("extends")
        origins.pop(("extends",), None)
        parent_path = root / "envs" / f"{parent}.yaml"
        if not isinstance(parent, str) or not parent_path.is_file() or parent in seen:
            problems.append(
                origins.problem(
                    (),
                    f"'extends: {parent}' names no other env file",
                    f"use one of: {', '.join(n for n in env_names(root) if n not in seen)}",
                )
            )
            return None, origins
        seen.add(parent)
        base, base_origins = sources.load(parent_path)
        data = sources.merge(base, base_origins, data, origins)
        origins = base_origins
    return data, origins


def _load_all(
    folder: Path, filename: str, model: type[BaseModel], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Origins]]:
    """Every `folder/*/filename` validated as `model`, by name, with its origins; one that is
    invalid, or whose name differs from its folder, is left out with a problem appended."""
    items: dict[str, Any] = {}
    all_origins: dict[str, Origins] = {}
    for path in sorted(folder.glob(f"*/{filename}")):
        data, origins = sources.load(path)
        item = validate(model, data, origins, problems)
        if item is None:
            continue
        if item.name != path.parent.name:  # type: ignore[attr-defined]
            problems.append(
                origins.problem(
                    ("name",),
                    f"name '{item.name}' differs from its folder "  # type: ignore[attr-defined]
                    f"'{path.parent.name}'",
                    f"rename one so both read '{path.parent.name}'",
                )
            )
            continue
        items[item.name] = item  # type: ignore[attr-defined]
        all_origins[item.name] = origins  # type: ignore[attr-defined]
    return items, all_origins
