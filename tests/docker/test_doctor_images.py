"""`doctor`'s image checks against the real Docker engine: the helm image passes only if
docker has it, and image presence is `docker image inspect`."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from streamforge.commands import doctor
from streamforge.model.pins import pins


@pytest.fixture
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No kind or helm on PATH or in the cache (as tests/unit/test_doctor_tools.py)."""
    for name in ("KIND", "HELM", "KUBECTL"):
        monkeypatch.delenv(f"STREAMFORGE_{name}", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    assert shutil.which("kind") is None and shutil.which("helm") is None


def test_helm_image_passes_only_when_docker_has_it(docker: None, bare_machine: None) -> None:
    image = pins().tools["helm"].image
    assert image is not None
    present = (
        subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, check=False
        ).returncode
        == 0
    )
    helm = next(c for c in doctor._tools() if c.name == "helm")
    assert helm.ok is present
    if not present:
        assert f"its image {image} is not in docker" in helm.detail and not helm.fatal


def test_image_presence_is_docker_image_inspect(docker: None) -> None:
    tag = f"sf-doctor-empty:{uuid.uuid4().hex[:8]}"
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    made = subprocess.run(
        ["docker", "import", "-", tag], input=buffer.getvalue(), capture_output=True, check=False
    )
    assert made.returncode == 0, made.stderr
    try:
        assert doctor._image_present(tag)
    finally:
        subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)
    assert not doctor._image_present(tag)
