"""Every service's own test suite (services/<name>/tests), run as the service's developer and
CI run it: in the service's folder with its pyproject's pytest settings. Its Kafka tests use
the repository's real broker (tests/kafka/conftest.py), found by the service's conftest."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, missing

SERVICES = sorted(p.parent.name for p in (REPO / "services").glob("*/service.yaml"))


@pytest.mark.parametrize("name", SERVICES)
def test_service_passes_its_own_tests(name: str) -> None:
    folder = REPO / "services" / name
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
    assert result.returncode == 0, f"services/{name}: pytest failed\n{tail}"
    assert " passed" in result.stdout, tail
    if " skipped" in result.stdout:  # e.g. no Java for the broker: skip here too, or fail strict
        missing(f"services/{name}: some of its tests skipped\n{tail}")
