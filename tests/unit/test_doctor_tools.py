"""`doctor`'s tool checks on a machine without kind or helm: a tool `up` downloads is a
warning with the offline fix, never a FAIL; the helm image passes only if docker has it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streamforge.commands import doctor
from streamforge.model.pins import pins
from tests.conftest import docker_available, missing


@pytest.fixture
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KIND", "HELM", "KUBECTL"):
        monkeypatch.delenv(f"STREAMFORGE_{name}", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    assert shutil.which("kind") is None and shutil.which("helm") is None


def test_missing_tools_are_warnings_that_name_the_offline_fix(bare_machine: None, capsys) -> None:
    checks = {c.name: c for c in doctor._tools()}
    kind = checks["kind"]
    assert not kind.ok and not kind.fatal
    assert "downloads it" in kind.fix and "STREAMFORGE_KIND=/path/to/kind" in kind.fix
    for check in checks.values():
        assert not (not check.ok and check.fatal and "download" in check.fix), check
    doctor.report([kind])
    out = capsys.readouterr().out
    assert out.startswith("warn ") and "FAIL" not in out


def test_helm_image_passes_only_when_docker_has_it(bare_machine: None) -> None:
    reason = docker_available()
    if reason:
        missing(reason)
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


def test_image_presence_is_docker_image_inspect() -> None:
    reason = docker_available()
    if reason:
        missing(reason)
    tag = f"sf-doctor-empty:{uuid.uuid4().hex[:8]}"
    import io
    import tarfile

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
