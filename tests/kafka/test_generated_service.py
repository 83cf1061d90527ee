"""A service generated from the scaffold into a scratch folder passes its own tests, the Kafka
one against the repository's real broker (its image: tests/docker/test_service_image.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROBE_SERVICE, REPO, missing


def test_generated_service_passes_its_own_tests(generated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=generated / "services" / PROBE_SERVICE,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        # outside the repository, the service's conftest finds the broker fixture here
        env={**os.environ, "STREAMFORGE_REPO": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    assert result.returncode == 0, tail
    assert "passed" in result.stdout
    if "skipped" in result.stdout:
        missing(f"the generated service's Kafka test skipped:\n{tail}")
