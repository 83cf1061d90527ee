"""What GitLab's CI schema cannot see in the homelab's pipeline, because it reads one file at
a time: every `extends` and `needs` names a job of the merged pipeline, every job's stage is
declared and it has a script, every service under services/ is included and builds with its own
SERVICE_NAME and SERVICE_PATH.
"""

from __future__ import annotations

from pathlib import Path

from streamforge.validate.gitlab_pipeline import ROOT_FILE, Pipeline, as_list, resolved_job

DEFAULT_STAGE = "test"


def structure_problems(root: Path, pipeline: Pipeline) -> list[str]:
    """Every problem of `pipeline` (read from the repository at `root`) that GitLab would
    report when it merges the files, one line each, naming the file and the job."""
    problems = list(pipeline.problems)
    if not pipeline.stages:
        problems.append(f"{ROOT_FILE}: no `stages:`")
    for name, job in pipeline.jobs.items():
        where = f"{pipeline.job_files[name].relative_to(root)}: job '{name}'"
        chain: list[str] = [name]
        for parent in as_list(job.get("extends")):
            if parent not in pipeline.jobs:
                problems.append(f"{where}: extends '{parent}', which no included file defines")
        # cycles
        current = as_list(job.get("extends"))
        while current:
            parent = current[0]
            if parent in chain:
                problems.append(f"{where}: `extends` loops through {' -> '.join(chain)}")
                break
            chain.append(parent)
            current = as_list(pipeline.jobs.get(parent, {}).get("extends"))
        if name.startswith("."):
            continue  # hidden jobs are templates
        full = resolved_job(pipeline, name)
        stage = full.get("stage", DEFAULT_STAGE)
        if stage not in pipeline.stages and stage not in (".pre", ".post"):
            problems.append(f"{where}: stage '{stage}' is not in stages {pipeline.stages}")
        for need in as_list(full.get("needs")):
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
            and ".build_python_service" in as_list(job.get("extends"))
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
