"""One image rule for GitLab CI and the render: for every service, the image its GitLab build
job pushes is the image its rendered ArgoCD Application deploys."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.render.image_refs import source_files, tree_hash
from streamforge.validate import gitlab_pipeline
from tests.conftest import REPO

# The homelab GitLab's container registry (its `registry_external_url`): instance setup, not a
# fact of this repository.
CI_REGISTRY = "registry.dmz.home"
SHELLS = [s for s in ("busybox", "dash", "bash") if shutil.which(s)]


def predefined(project_path: str, project_dir: Path) -> dict[str, str]:
    """GitLab's predefined variables for a push pipeline on main. CI_REGISTRY_IMAGE is
    `$CI_REGISTRY/<project path, lower-case>` (GitLab docs, "Predefined CI/CD variables")."""
    return {
        "CI_REGISTRY": CI_REGISTRY,
        "CI_PROJECT_PATH": project_path,
        "CI_REGISTRY_IMAGE": f"{CI_REGISTRY}/{project_path.lower()}",
        "CI_PROJECT_DIR": str(project_dir),
        "CI_DEFAULT_BRANCH": "main",
        "CI_COMMIT_BRANCH": "main",
        "CI_COMMIT_REF_SLUG": "main",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CI_PIPELINE_SOURCE": "push",
    }


def clean_checkout(tmp_path: Path, service: str) -> Path:
    """What a CI job's clone holds of a service: its tracked files (plus not-ignored new ones,
    which a commit would add), and the tag script."""
    root = tmp_path / "checkout"
    folder = REPO / "services" / service
    for path in [*source_files(folder), REPO / ".gitlab" / "tree-hash.sh"]:
        target = root / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return root


def pushed_image(shell: str, job: dict[str, object], variables: dict[str, str]) -> str:
    """Run the build job's script up to the kaniko call, as the runner would (variables in the
    environment, cwd the project dir), and return the reference kaniko pushes to."""
    script = [str(line) for line in job["script"]]  # type: ignore[attr-defined]
    executor = next(i for i, line in enumerate(script) if line.startswith("/kaniko/executor"))
    destination = script[executor].split("--destination ", 1)[1].split()[0]
    command = [shell, "sh"] if shell == "busybox" else [shell]
    done = subprocess.run(
        [*command, "-ec", "\n".join([*script[:executor], f"printf %s {destination}"])],
        env={"PATH": "/usr/bin:/bin", **variables},
        cwd=variables["CI_PROJECT_DIR"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def applications() -> dict[str, dict]:
    platform = load_platform(REPO, "homelab")
    rendered = render(platform, Facts())
    yaml = YAML(typ="safe")
    return {
        path.removeprefix("argocd/services/").removesuffix(".yaml"): yaml.load(text)
        for path, text in rendered.files.items()
        if path.startswith("argocd/services/")
    }


@pytest.mark.parametrize("shell", SHELLS)
def test_each_service_job_pushes_the_image_its_application_deploys(
    shell: str, applications: dict[str, dict], tmp_path: Path
) -> None:
    platform = load_platform(REPO, "homelab")
    assert platform.env.gitops is not None
    # ArgoCD deploys the services' chart from the GitOps repository, which is this monorepo:
    # its GitLab project is the one whose pipeline builds the images
    project_path = urlparse(platform.env.gitops.repo).path.strip("/").removesuffix(".git")
    pipeline = gitlab_pipeline.load_pipeline(REPO)
    services = sorted(p.parent.name for p in (REPO / "services").glob("*/service.yaml"))
    assert services and sorted(applications) == services
    for name in services:
        checkout = clean_checkout(tmp_path / name, name)
        job = gitlab_pipeline.resolved_job(pipeline, f"build:{name}")
        variables = gitlab_pipeline.job_variables(
            pipeline, f"build:{name}", predefined(project_path, checkout)
        )
        image = applications[name]["spec"]["sources"][0]["helm"]["valuesObject"]["image"]
        assert pushed_image(shell, job, variables) == f"{image['repository']}:{image['tag']}"


def test_the_tag_follows_the_service_content(tmp_path: Path) -> None:
    """A change in any file of the service changes the tag on both sides alike."""
    checkout = clean_checkout(tmp_path, "dummy-service")
    folder = checkout / "services" / "dummy-service"
    before = tree_hash(folder)
    (folder / "src" / "extra.py").write_text("x = 1\n")
    script = str(checkout / ".gitlab" / "tree-hash.sh")
    after = subprocess.run(
        ["sh", script, str(folder)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert after == tree_hash(folder) != before


def test_variables_expand_as_gitlab_does() -> None:
    variables = {"A": "x", "B": "${A}-$A", "C": "$$A $MISSING."}
    assert gitlab_pipeline.expand("$B/${C}", {"B": "1", "C": "2"}) == "1/2"
    pipeline = gitlab_pipeline.Pipeline()
    pipeline.jobs["j"] = {"variables": variables}
    assert gitlab_pipeline.job_variables(pipeline, "j", {"CI": "true"}) == {
        "CI": "true",
        "A": "x",
        "B": "x-x",
        "C": "$A .",
    }
