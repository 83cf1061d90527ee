"""Shared test helpers.

A test that needs something the machine lacks (Docker, Java, a kind cluster) calls `missing()`:
on a user's machine it skips with the reason; with STREAMFORGE_STRICT=1 (set by .ci/run) it
fails, so CI can never go green by skipping a tier.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("STREAMFORGE_STRICT") == "1"


def missing(reason: str, *, allowed_in_strict: bool = False) -> None:
    """Skip (or, under STREAMFORGE_STRICT=1, fail) because `reason` is missing.

    `allowed_in_strict` is for tiers that cannot run on CI's machine at all (a kind cluster needs
    images from a registry); those still skip under strict mode, with the reason.
    """
    if STRICT and not allowed_in_strict:
        pytest.fail(f"STREAMFORGE_STRICT=1 and {reason}")
    pytest.skip(reason)


def docker_available() -> str | None:
    """Return None when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"no Docker engine answers: {probe.stderr.strip().splitlines()[-1:]}"
    return None


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def docker() -> None:
    reason = docker_available()
    if reason:
        missing(reason)
