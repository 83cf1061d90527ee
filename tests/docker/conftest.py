"""Docker-tier fixtures: images built locally, because no image registry is reachable here."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import missing

# CI builds this stand-in with .ci/standin-python-base.sh; a developer may have the real one.
PARENT_CANDIDATES = (
    "STREAMFORGE_PYTHON_BASE",
    "streamforge/python-base:3.11",
    "python:3.11-slim-bookworm",
)


def image_present(tag: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, check=False
        ).returncode
        == 0
    )


def build(tag: str, context: Path, dockerfile: str) -> None:
    (context / "Dockerfile").write_text(dockerfile)
    done = subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(context)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def parent_image(docker: None) -> str:
    """A local Python/Debian image to build test images from."""
    for candidate in PARENT_CANDIDATES:
        tag = os.environ.get(candidate, "") if candidate.isupper() else candidate
        if tag and image_present(tag):
            return tag
    missing("no local Python base image; run .ci/standin-python-base.sh")
    raise AssertionError  # unreachable


@pytest.fixture(scope="session")
def registry_image(parent_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The distribution registry (built by .ci/go-tools.sh) packaged into a local image."""
    binary = shutil.which("registry")
    if binary is None:
        missing("no `registry` binary on PATH; .ci/go-tools.sh builds it")
    tag = "streamforge-test/registry:local"
    context = tmp_path_factory.mktemp("registry-image")
    shutil.copy(binary, context / "registry")
    (context / "config.yml").write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"
        "http:\n  addr: :5000\n"
    )
    build(
        tag,
        context,
        f"FROM {parent_image}\nCOPY registry /usr/local/bin/registry\n"
        "COPY config.yml /etc/distribution/config.yml\n"
        'ENTRYPOINT ["registry", "serve", "/etc/distribution/config.yml"]\n',
    )
    return tag


@pytest.fixture
def unique() -> str:
    return f"sf-test-{uuid.uuid4().hex[:8]}"
