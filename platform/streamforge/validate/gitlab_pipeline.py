"""The homelab's GitLab CI pipeline as GitLab reads it: the root .gitlab-ci.yml and its local
includes merged into one set of jobs, each job's `extends` merged in and its variables expanded.

Sources: GitLab docs, "CI/CD YAML syntax reference" (`include:local`, `extends`) and "CI/CD
variables".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT_FILE = ".gitlab-ci.yml"
# keys of a pipeline file that are not jobs
GLOBAL_KEYS = {
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
}


@dataclass
class Pipeline:
    """The merged pipeline: its files, its jobs (as written, before `extends`), the file
    that defines each job, the declared stages and what could not be read."""

    files: list[Path] = field(default_factory=list)  # root first, then includes in order
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_files: dict[str, Path] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _load(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _include_paths(root: Path, include: Any, where: str, problems: list[str]) -> list[Path]:
    entries = include if isinstance(include, list) else [include]
    paths: list[Path] = []
    for entry in entries:
        local = entry if isinstance(entry, str) else (entry or {}).get("local")
        if not isinstance(local, str):
            problems.append(f"{where}: include {entry!r} is not `local:`; only local includes")
            continue
        pattern = local.lstrip("/")
        if "*" in pattern:
            # GitLab's wildcard includes match .yml files only
            found = sorted(p for p in root.glob(pattern) if p.suffix == ".yml")
            if not found:
                problems.append(f"{where}: include '{local}' matches no .yml file")
            paths.extend(found)
        elif (root / pattern).is_file():
            paths.append(root / pattern)
        else:
            problems.append(f"{where}: include '{local}' does not exist")
    return paths


def load_pipeline(root: Path) -> Pipeline:
    """The pipeline of the repository at `root`: .gitlab-ci.yml, then its local includes
    (wildcards match .yml files), breadth first; missing files, non-local includes and jobs
    defined twice are recorded in `problems`, not raised."""
    pipeline = Pipeline()
    queue = [root / ROOT_FILE]
    while queue:
        path = queue.pop(0)
        if path in pipeline.files:
            continue
        rel = path.relative_to(root).as_posix()
        if not path.is_file():
            pipeline.problems.append(f"{rel}: missing")
            continue
        pipeline.files.append(path)
        data = _load(path) or {}
        if not isinstance(data, dict):
            pipeline.problems.append(f"{rel}: not a mapping")
            continue
        if "include" in data:
            queue.extend(_include_paths(root, data["include"], rel, pipeline.problems))
        if "stages" in data:
            pipeline.stages = list(data["stages"])
        for name, job in data.items():
            if name in GLOBAL_KEYS:
                continue
            if not isinstance(job, dict):
                pipeline.problems.append(f"{rel}: job '{name}' is not a mapping")
                continue
            if name in pipeline.jobs:
                pipeline.problems.append(
                    f"{rel}: job '{name}' is also defined in "
                    f"{pipeline.job_files[name].relative_to(root)}"
                )
            pipeline.jobs[name] = job
            pipeline.job_files[name] = path
    return pipeline


def as_list(value: Any) -> list[Any]:
    """A key that takes one item or a list of them (`extends`, `needs`) as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def resolved_job(pipeline: Pipeline, name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The job with its `extends` merged in (GitLab's deep merge of mappings)."""
    job = pipeline.jobs[name]
    merged: dict[str, Any] = {}
    for parent in as_list(job.get("extends")):
        if parent in pipeline.jobs and parent not in seen:
            merged = _merge(merged, resolved_job(pipeline, parent, (*seen, name)))
    return _merge(merged, {k: v for k, v in job.items() if k != "extends"})


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_REFERENCE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def expand(text: str, variables: dict[str, str]) -> str:
    """`text` with `$NAME` and `${NAME}` replaced as GitLab expands variables (an unknown name
    becomes empty, `$$` is a literal `$`). Source: GitLab docs, "Use CI/CD variables in job
    scripts" and "Where variables can be used" (expansion by the runner)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return variables.get(match.group(1) or match.group(2), "")

    return _REFERENCE.sub(one, text)


def job_variables(pipeline: Pipeline, name: str, predefined: dict[str, str]) -> dict[str, str]:
    """The variables job `name` runs with: GitLab's `predefined` ones, overridden by the
    pipeline's default `variables:`, overridden by the job's own (after `extends`); each value
    expanded against the others, as the runner does. Source: GitLab docs, "CI/CD variable
    precedence"."""
    defaults: dict[str, Any] = {}
    for path in pipeline.files:
        data = _load(path) or {}
        if isinstance(data, dict) and isinstance(data.get("variables"), dict):
            defaults.update(data["variables"])
    raw: dict[str, str] = dict(predefined)
    for key, value in {**defaults, **(resolved_job(pipeline, name).get("variables") or {})}.items():
        raw[key] = str(value["value"] if isinstance(value, dict) else value)
    resolved: dict[str, str] = {}

    def value_of(key: str, seen: tuple[str, ...]) -> str:
        if key in resolved:
            return resolved[key]
        if key not in raw or key in seen:
            return ""
        refs = {
            ref: value_of(ref, (*seen, key))
            for match in _REFERENCE.finditer(raw[key])
            if (ref := match.group(1) or match.group(2))
        }
        resolved[key] = expand(raw[key], refs)
        return resolved[key]

    return {key: value_of(key, ()) for key in raw}
