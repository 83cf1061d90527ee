"""`streamforge check-ci`: check the homelab's GitLab CI configuration offline.

- every file of the pipeline (the root .gitlab-ci.yml and each local include) against GitLab's
  CI JSON schema, as vendored in check-jsonschema (pinned in pyproject.toml), run as a
  subprocess;
- what the schema cannot see (validate/pipeline_checks.py): includes, extends, needs, stages
  and the services' build jobs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.validate.gitlab_pipeline import Pipeline, load_pipeline
from streamforge.validate.pipeline_checks import structure_problems


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
    """The pipeline of the repository at `root` and all its problems: the merged structure,
    then the schema. Raises StreamforgeError when check-jsonschema is not installed."""
    pipeline = load_pipeline(root)
    problems = structure_problems(root, pipeline)
    problems.extend(schema_problems(root, pipeline.files))
    return pipeline, problems


def arguments(p: argparse.ArgumentParser) -> None:
    """The options of `streamforge check-ci`: none of its own."""
    del p  # no options beyond --env (unused: the pipeline is the same for every env)


def cmd_check_ci(args: argparse.Namespace) -> None:
    """Entry point of `streamforge check-ci`: each problem on its own line, then an error."""
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
