"""The homelab's GitLab CI, checked offline: GitLab's schema, includes, extends, services."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from streamforge.commands.check_ci import check
from streamforge.validate.gitlab_pipeline import load_pipeline, resolved_job
from tests.conftest import REPO


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / ".gitlab", root / ".gitlab")
    shutil.copy(REPO / ".gitlab-ci.yml", root / ".gitlab-ci.yml")
    for service in (REPO / "services").glob("*/service.yaml"):
        target = root / "services" / service.parent.name
        target.mkdir(parents=True)
        for name in ("service.yaml", ".gitlab-ci.yml"):
            shutil.copy(service.parent / name, target / name)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_pipeline_is_valid() -> None:
    pipeline, problems = check(REPO)
    assert problems == []
    assert pipeline.stages == ["setup", "build", "test", "deploy"]
    services = sorted(p.parent.name for p in (REPO / "services").glob("*/service.yaml"))
    assert services, "no service to build"
    for name in services:
        assert REPO / "services" / name / ".gitlab-ci.yml" in pipeline.files
        assert f"build:{name}" in pipeline.jobs


def test_service_builds_use_kaniko_from_the_repository_root_with_cache() -> None:
    pipeline = load_pipeline(REPO)
    build = resolved_job(pipeline, "build:dummy-service")
    assert build["stage"] == "build"
    assert build["image"] == {"name": "$BUILDER_IMAGE", "entrypoint": [""]}
    command = " ".join(build["script"])
    assert '--context "$CI_PROJECT_DIR"' in command
    assert '--dockerfile "$CI_PROJECT_DIR/$SERVICE_PATH/Dockerfile"' in command
    assert "--cache=true" in command
    assert '--build-arg "BASE_IMAGE=$BASE_IMAGE"' in command
    assert build["variables"]["SERVICE_PATH"] == "services/dummy-service"
    test = resolved_job(pipeline, "test:dummy-service")
    assert test["image"] == "$BASE_IMAGE" and test["stage"] == "test"
    defaults = YAML(typ="safe").load(REPO / ".gitlab" / "ci-templates" / "defaults.yml")
    # the builder is swappable and pinned by digest; jobs are scheduled on k2w-9
    assert "@sha256:" in defaults["variables"]["BUILDER_IMAGE"]
    assert defaults["variables"]["KUBERNETES_NODE_SELECTOR_HOMELAB_NODE"].endswith("=k2w-9")
    assert resolved_job(pipeline, "base-image")["stage"] == "setup"
    assert "nox -s docs" in resolved_job(pipeline, "docs")["script"]


def test_schema_catches_what_gitlab_would_reject(repo_copy: Path) -> None:
    _edit(repo_copy / ".gitlab" / "ci-templates" / "docs.yml", "  stage: build", "  stage: [1]")
    _, problems = check(repo_copy)
    assert any("docs.yml" in p for p in problems), problems


def test_a_missing_include_and_a_dangling_extends_are_named(repo_copy: Path) -> None:
    _edit(
        repo_copy / ".gitlab-ci.yml",
        "  - local: .gitlab/ci-templates/docs.yml",
        "  - local: .gitlab/ci-templates/doc.yml",
    )
    _edit(
        repo_copy / "services" / "dummy-service" / ".gitlab-ci.yml",
        "extends: .test_python_service",
        "extends: .test_python_servce",
    )
    _, problems = check(repo_copy)
    assert ".gitlab-ci.yml: include '.gitlab/ci-templates/doc.yml' does not exist" in problems
    assert any(
        "extends '.test_python_servce', which no included file defines" in p for p in problems
    )


def test_every_service_must_be_included_with_its_own_variables(repo_copy: Path) -> None:
    shutil.copytree(repo_copy / "services" / "dummy-service", repo_copy / "services" / "other")
    _edit(
        repo_copy / "services" / "dummy-service" / ".gitlab-ci.yml",
        "SERVICE_PATH: services/dummy-service",
        "SERVICE_PATH: services/dumy-service",
    )
    _, problems = check(repo_copy)
    assert any(
        "services/other/.gitlab-ci.yml is not included; add `- local: services/other/" in p
        for p in problems
    ), problems
    assert any(
        "SERVICE_PATH is 'services/dumy-service'; set it to 'services/dummy-service'" in p
        for p in problems
    ), problems
