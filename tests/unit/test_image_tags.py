"""Replica image tags are content addresses of everything that goes into the image: its
sources and Dockerfile, and the base image it is built FROM (nodes pull IfNotPresent, so a
changed base under an unchanged tag would never reach them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.model.load import load_platform
from streamforge.render import image_refs
from streamforge.render.image_refs import base_image
from tests.conftest import REPO


def tags(root: Path) -> dict[str, str]:
    local, homelab = load_platform(root, "local"), load_platform(root, "homelab")
    return {
        "local service": image_refs.service_image(local, "dummy-service"),
        "local docs site": image_refs.site_image(local),
        "homelab service": image_refs.service_image(homelab, "dummy-service"),
        "base": base_image(root),
    }


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "repo"
    for rel in ("envs", "platform", "services", "docs", "mkdocs.yml", "noxfile.py"):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=shutil.ignore_patterns("_generated", ".*"))
        else:
            shutil.copy2(src, root / rel)
    return root


def test_a_changed_base_image_changes_every_replica_tag(repo_copy: Path) -> None:
    before = tags(repo_copy)
    dockerfile = repo_copy / "platform" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\n# a change to the base image\n")
    after = tags(repo_copy)
    assert after["base"] != before["base"]
    assert after["local service"] != before["local service"]
    assert after["local docs site"] != before["local docs site"]
    # the homelab follows GitLab's rule: the service folder's tree hash alone
    assert after["homelab service"] == before["homelab service"]


def test_a_changed_base_parent_changes_replica_tags(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tags(repo_copy)
    monkeypatch.setenv("STREAMFORGE_PYTHON_BASE", "example.org/python:3.11-other")
    after = tags(repo_copy)
    assert after["base"] != before["base"]
    assert after["local service"] != before["local service"]


def test_a_changed_service_dockerfile_changes_its_tag(repo_copy: Path) -> None:
    before = tags(repo_copy)
    dockerfile = repo_copy / "services" / "dummy-service" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\n# a change\n")
    after = tags(repo_copy)
    assert after["local service"] != before["local service"]
    assert after["homelab service"] != before["homelab service"]
    assert after["base"] == before["base"]
