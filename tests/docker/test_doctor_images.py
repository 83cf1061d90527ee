"""`doctor`'s image checks against the real Docker engine: the helm image passes only if
docker has it, and image presence is `docker image inspect`."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid

from streamforge.commands import doctor
from streamforge.model.pins import pins


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
