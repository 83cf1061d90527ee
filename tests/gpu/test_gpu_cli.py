"""`fake-gpu-plugin` as a process: serving, SIGTERM, and refusing a wrong config."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gpu.gpu_fake_kubelet import FakeKubelet, plugin_dir, time_slicing

GPU_ARGS = [
    "--gpu-count", "1",
    "--gpu-product", "NVIDIA-GeForce-RTX-3090",
    "--gpu-memory-mib", "24576",
    "--node-name", "kind-worker",
]  # fmt: skip


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "fake_gpu_plugin", *args]


@pytest.fixture
def directory() -> Iterator[Path]:
    with plugin_dir() as path:
        yield path


def configmap_data(directory: Path) -> Path:
    """The time-slicing ConfigMap's data as one file: key `any` holds the config."""
    indented = "".join(f"    {line}\n" for line in time_slicing(4, fail=True).splitlines())
    path = directory / "configs.yaml"
    path.write_text(f"any: |\n{indented}")
    return path


def test_serves_then_stops_cleanly_on_sigterm(directory: Path) -> None:
    kubelet = FakeKubelet(directory).start()
    args = ["--config", str(configmap_data(directory)), "--config-key", "any", *GPU_ARGS]
    args += ["--device-plugin-dir", str(directory), "--no-label", "--poll-interval", "0.05"]
    process = subprocess.Popen(cli(*args), stderr=subprocess.PIPE, text=True)
    try:
        reg = kubelet.wait_registrations(1, timeout=20)
        devices = kubelet.wait_devices(lambda devices: len(devices) == 4)
        assert reg.request.resource_name == "nvidia.com/gpu"
        assert all("::" in device_id for device_id, _ in devices)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        kubelet.stop()
    assert process.returncode == 0, stderr
    assert "received SIGTERM" in stderr
    assert reg.stream_ended.wait(5)
    assert not (directory / "nvidia-gpu.sock").exists()


def test_wrong_config_does_not_start(directory: Path) -> None:
    kubelet = FakeKubelet(directory).start()
    bad = directory / "config.yaml"
    bad.write_text(time_slicing(1))
    try:
        result = subprocess.run(
            cli("--config", str(bad), *GPU_ARGS, "--device-plugin-dir", str(directory)),
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        kubelet.stop()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"fake-gpu-plugin: error: {bad}: ")
    assert "sharing.timeSlicing.resources[0].replicas" in lines[0]
    assert kubelet.registrations == []
    assert not (directory / "nvidia-gpu.sock").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--gpu-count", "0"], "--gpu-count: must be at least 1"),
        (["--config-key", "missing"], "no config named 'missing'"),
    ],
)
def test_wrong_arguments_exit_2(directory: Path, args: list[str], expected: str) -> None:
    config = ["--config", str(configmap_data(directory)), "--config-key", "any"]
    result = subprocess.run(
        cli(*config, *GPU_ARGS, *args, "--dry-run"), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert expected in result.stderr


def test_dry_run_prints_devices_and_labels(directory: Path) -> None:
    config = ["--config", str(configmap_data(directory)), "--config-key", "any"]
    result = subprocess.run(
        cli(*config, *GPU_ARGS, "--dry-run"), capture_output=True, text=True, timeout=30, check=True
    )
    summary = json.loads(result.stdout)
    assert summary["resource"] == "nvidia.com/gpu"
    assert summary["replicas"] == 4
    assert summary["failRequestsGreaterThanOne"] is True
    assert len(summary["devices"]) == 4
    assert summary["labels"]["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-3090-SHARED"
