"""`streamforge check-ci`: check the homelab's GitLab CI configuration offline.

- every file of the pipeline (the root .gitlab-ci.yml and each local include) against GitLab's
  CI JSON schema, as vendored in check-jsonschema (pinned in pyproject.toml);
- what the schema cannot see, because it reads one file at a time: every `include: local`
  exists, every `extends` and `needs` names a job of the merged pipeline, every job's stage is
  declared, every service under services/ is included and builds with its own SERVICE_NAME and
  SERVICE_PATH.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamforge import console
from streamforge.errors import StreamforgeError

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
DEFAULT_STAGE = "test"


@dataclass
class Pipeline:
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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _resolved(pipeline: Pipeline, name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The job with its `extends` merged in (GitLab's deep merge of mappings)."""
    job = pipeline.jobs[name]
    merged: dict[str, Any] = {}
    for parent in _as_list(job.get("extends")):
        if parent in pipeline.jobs and parent not in seen:
            merged = _merge(merged, _resolved(pipeline, parent, (*seen, name)))
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
    for key, value in {**defaults, **(_resolved(pipeline, name).get("variables") or {})}.items():
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


def structure_problems(root: Path, pipeline: Pipeline) -> list[str]:
    problems = list(pipeline.problems)
    if not pipeline.stages:
        problems.append(f"{ROOT_FILE}: no `stages:`")
    for name, job in pipeline.jobs.items():
        where = f"{pipeline.job_files[name].relative_to(root)}: job '{name}'"
        chain: list[str] = [name]
        for parent in _as_list(job.get("extends")):
            if parent not in pipeline.jobs:
                problems.append(f"{where}: extends '{parent}', which no included file defines")
        # cycles
        current = _as_list(job.get("extends"))
        while current:
            parent = current[0]
            if parent in chain:
                problems.append(f"{where}: `extends` loops through {' -> '.join(chain)}")
                break
            chain.append(parent)
            current = _as_list(pipeline.jobs.get(parent, {}).get("extends"))
        if name.startswith("."):
            continue  # hidden jobs are templates
        full = _resolved(pipeline, name)
        stage = full.get("stage", DEFAULT_STAGE)
        if stage not in pipeline.stages and stage not in (".pre", ".post"):
            problems.append(f"{where}: stage '{stage}' is not in stages {pipeline.stages}")
        for need in _as_list(full.get("needs")):
            needed = need if isinstance(need, str) else (need or {}).get("job")
            if needed not in pipeline.jobs:
                problems.append(f"{where}: needs '{needed}', which is not a job")
        if "script" not in full and "trigger" not in full:
            problems.append(f"{where}: no `script` (nor in what it extends)")
    problems.extend(_service_problems(root, pipeline))
    return problems


def _service_problems(root: Path, pipeline: Pipeline) -> list[str]:
    problems: list[str] = []
    for service_yaml in sorted((root / "services").glob("*/service.yaml")):
        folder = service_yaml.parent
        name = folder.name
        ci = folder / ROOT_FILE
        if not ci.is_file():
            problems.append(f"services/{name}: no .gitlab-ci.yml; regenerate it from the scaffold")
            continue
        if ci not in pipeline.files:
            problems.append(
                f"{ROOT_FILE}: services/{name}/.gitlab-ci.yml is not included; add "
                f"`- local: services/{name}/.gitlab-ci.yml` to `include:`"
            )
            continue
        builds = [
            job
            for job_name, job in pipeline.jobs.items()
            if pipeline.job_files[job_name] == ci
            and ".build_python_service" in _as_list(job.get("extends"))
        ]
        if not builds:
            problems.append(f"services/{name}/.gitlab-ci.yml: no job extends .build_python_service")
        for job in builds:
            variables = job.get("variables") or {}
            expected = {"SERVICE_NAME": name, "SERVICE_PATH": f"services/{name}"}
            for key, value in expected.items():
                if variables.get(key) != value:
                    problems.append(
                        f"services/{name}/.gitlab-ci.yml: {key} is {variables.get(key)!r}; "
                        f"set it to '{value}'"
                    )
    return problems


def schema_problems(root: Path, files: list[Path]) -> list[str]:
    """Each file against GitLab's CI schema (check-jsonschema's vendored copy)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            "--regex-variant",
            "nonunicode",
            "--output-format",
            "text",
            *[str(f) for f in files],
        ],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    if result.returncode == 0:
        return []
    if "No module named check_jsonschema" in result.stderr:
        raise StreamforgeError("check-jsonschema is not installed: pip install -e . (it is pinned)")
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("Schema validation errors")]


def check(root: Path) -> tuple[Pipeline, list[str]]:
    pipeline = load_pipeline(root)
    problems = structure_problems(root, pipeline)
    problems.extend(schema_problems(root, pipeline.files))
    return pipeline, problems


def arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options beyond --env (unused: the pipeline is the same for every env)


def cmd_check_ci(args: argparse.Namespace) -> None:
    from streamforge.model.load import find_root

    root = find_root()
    pipeline, problems = check(root)
    for problem in problems:
        console.error(problem)
    if problems:
        raise StreamforgeError(f"GitLab CI: {len(problems)} problem(s)")
    jobs = [j for j in pipeline.jobs if not j.startswith(".")]
    console.info(
        f"GitLab CI: {len(pipeline.files)} file(s), {len(jobs)} job(s), stages "
        f"{' -> '.join(pipeline.stages)}: schema-valid, every include, extends and needs resolves"
    )
