"""Docker tier: build the plugin image and run it against the fake kubelet through a mounted
device-plugins folder.

No registry is reachable, so the image is built FROM a local image only (the first present of
$FAKE_GPU_BASE_IMAGE, streamforge/base:dev, streamforge/python-base:3.11, python:3.11-slim), and
the wheels (the package and its pinned dependencies, for the base image's Python) are made on
the host and installed with --no-index.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_gpu_plugin.api import api_pb2
from streamforge.execute.build import build_image
from tests.conftest import missing
from tests.gpu.gpu_fake_kubelet import (
    FakeKubelet,
    plugin_client,
    plugin_dir,
    short_tmpdir,
    time_slicing,
    wait_until,
)

PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "fake_gpu"
IMAGE = "streamforge/fake-gpu-plugin:test"
BASE_CANDIDATES = ["streamforge/base:dev", "streamforge/python-base:3.11", "python:3.11-slim"]


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _checked(*args: str, timeout: float = 600) -> str:
    result = _run(*args, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _base_image() -> str:
    wanted = os.environ.get("FAKE_GPU_BASE_IMAGE")
    for image in [wanted] if wanted else BASE_CANDIDATES:
        if _run("docker", "image", "inspect", image, timeout=60).returncode == 0:
            return image
    missing(
        f"no local base image to build the fake GPU plugin from (tried {wanted or BASE_CANDIDATES}"
        "; no registry is reachable to pull one)",
    )
    raise AssertionError("unreachable")


def _pip() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if found := shutil.which(name):
            return [found]
    missing("no pip on the host to build the plugin's wheels")
    raise AssertionError("unreachable")


def _wheels(context: Path, python_version: str) -> None:
    """The package's wheel plus its pinned dependencies for `python_version` (e.g. 3.11)."""
    pip = _pip()
    wheels = context / "wheels"
    _checked(*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(context))
    (wheel,) = wheels.glob("fake_gpu_plugin-*.whl")
    arch = platform.machine()
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in (17, 28)] + [f"manylinux2014_{arch}"]
    args = [*pip, "download", "--only-binary=:all:", "--dest", str(wheels)]
    args += ["--python-version", python_version, "--implementation", "cp"]
    for tag in platforms:
        args += ["--platform", tag]
    _checked(*args, str(wheel))


@pytest.fixture(scope="module")
def image(docker: None) -> Iterator[str]:
    base = _base_image()
    probe = _run(
        "docker", "run", "--rm", "--entrypoint", "python3", base, "-c",
        "import sys, pip; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        timeout=120,
    )  # fmt: skip
    if probe.returncode != 0:
        missing(f"base image {base} has no python3 with pip: {probe.stderr[-300:]}")
    python_version = probe.stdout.strip()
    context = short_tmpdir()
    try:
        shutil.copytree(
            PACKAGE,
            context,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("_generated", "__pycache__", "wheels", "build", "dist"),
        )
        _wheels(context, python_version)
        # BuildKit, as `up` builds it (the Dockerfile mounts an optional CA build secret)
        build_image("test", context, context / "Dockerfile", [IMAGE], {"BASE_IMAGE": base})
    finally:
        shutil.rmtree(context, ignore_errors=True)
    yield IMAGE


def test_plugin_container_registers_serves_and_stops(image: str) -> None:
    name = f"fake-gpu-test-{uuid.uuid4().hex[:8]}"
    with plugin_dir() as directory:
        config_dir = directory / "config"
        config_dir.mkdir()
        (config_dir / "any").write_text(time_slicing(4, fail=True))
        kubelet = FakeKubelet(directory).start()
        started = False
        try:
            _checked(
                "docker", "run", "-d", "--name", name,
                "-v", f"{directory}:/var/lib/kubelet/device-plugins",
                "-v", f"{config_dir}:/etc/fake-gpu:ro",
                image,
                "--config", "/etc/fake-gpu", "--config-key", "any",
                "--gpu-count", "1", "--gpu-product", "NVIDIA-GeForce-RTX-3090",
                "--gpu-memory-mib", "24576", "--node-name", "kind-worker",
                "--no-label", "--poll-interval", "0.1", "--retry-interval", "0.2",
                timeout=120,
            )  # fmt: skip
            started = True
            reg = kubelet.wait_registrations(1, timeout=60)
            assert reg.request.resource_name == "nvidia.com/gpu"
            assert reg.request.endpoint == "nvidia-gpu.sock"
            devices = kubelet.wait_devices(lambda devices: len(devices) == 4)
            ids = [device_id for device_id, _ in devices]
            assert [device_id.split("::")[1] for device_id in ids] == ["0", "1", "2", "3"]

            with plugin_client(directory / "nvidia-gpu.sock") as client:
                response = client.Allocate(
                    api_pb2.AllocateRequest(
                        container_requests=[api_pb2.ContainerAllocateRequest(devices_ids=ids[:1])]
                    ),
                    timeout=10,
                )
            visible = response.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"]
            assert visible == ids[0].split("::")[0]

            kubelet.restart()
            kubelet.wait_registrations(2, timeout=30)

            _checked("docker", "stop", "--time", "20", name, timeout=60)
            code = _checked("docker", "inspect", "--format", "{{.State.ExitCode}}", name)
            logs = _run("docker", "logs", name, timeout=60)
            assert code.strip() == "0", logs.stderr
            assert "received SIGTERM" in logs.stderr
            wait_until(lambda: not (directory / "nvidia-gpu.sock").exists(), timeout=5)
        finally:
            if started:
                _run("docker", "rm", "-f", name, timeout=60)
            kubelet.stop()
