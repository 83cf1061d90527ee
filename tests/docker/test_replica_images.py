"""The image steps of `up` on the real engine: the unified base image, then the fake GPU
plugin built FROM it, reading the very time-slicing definition production uses."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from streamforge.execute import docker_host, images
from streamforge.execute.build import build_image
from streamforge.model.load import load_platform
from streamforge.render import image_refs
from tests.conftest import REPO


@pytest.fixture(scope="module")
def base_tag(parent_image: str) -> str:
    """The base image as `up`'s base-image step builds it."""
    os.environ.setdefault("STREAMFORGE_PYTHON_BASE", parent_image)
    return images.build_base(load_platform(REPO, "local").root)


def inspect(tag: str) -> dict:
    done = subprocess.run(
        ["docker", "image", "inspect", tag], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)[0]


def test_base_image_is_tagged_by_content_and_labelled(base_tag: str) -> None:
    assert docker_host.image_exists(base_tag)
    config = inspect(base_tag)["Config"]
    assert config["Labels"]["io.streamforge.managed"] == "true"
    assert config["User"] == "10001:10001"
    assert inspect(f"{image_refs.BASE_IMAGE}:dev")["Id"] == inspect(base_tag)["Id"]


def test_fake_gpu_plugin_image_runs_with_the_production_config(base_tag: str) -> None:
    context, dockerfile = image_refs.PROJECT_IMAGES["fake-gpu-plugin"]
    tag = "streamforge-test/fake-gpu-plugin:replica"
    build_image(
        "image:fake-gpu-plugin",
        REPO / context,
        REPO / context / dockerfile,
        [tag],
        {"BASE_IMAGE": base_tag},
    )
    config = (REPO / "platform/components/gpu-operator/time-slicing.yaml").read_text()
    done = subprocess.run(
        [
            "docker",
            "run",
            "-i",
            "--rm",
            tag,
            "--dry-run",
            "--config",
            "/dev/stdin",
            "--gpu-count",
            "1",
            "--gpu-product",
            "NVIDIA-GeForce-RTX-3090",
            "--gpu-memory-mib",
            "24576",
            "--node-name",
            "k2w-8",
        ],
        input=config,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["sharing"] == "time-slicing"
    assert len(plan["devices"]) == plan["replicas"] == 4
    assert plan["labels"]["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-3090-SHARED"
