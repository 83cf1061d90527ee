"""A service generated from the scaffold into a scratch folder: its image builds FROM the base
image on the real engine and answers /healthz in a container (its own tests, which need the
Kafka broker, are in tests/kafka/test_generated_service.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.execute import images
from streamforge.execute.build import build_image
from tests.conftest import PROBE_SERVICE, REPO


@pytest.fixture(scope="module")
def image(docker: None, generated: Path) -> Iterator[str]:
    base = images.build_base(REPO)
    tag = f"streamforge/{PROBE_SERVICE}:test"
    shutil.rmtree(
        generated / "services" / PROBE_SERVICE / "tests" / "__pycache__", ignore_errors=True
    )
    dockerfile = generated / "services" / PROBE_SERVICE / "Dockerfile"
    build_image(f"service:{PROBE_SERVICE}", generated, dockerfile, [tag], {"BASE_IMAGE": base})
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_image_runs_non_root_read_only_and_answers_healthz(image: str) -> None:
    started = subprocess.run(
        [
            "docker", "run", "-d", "--rm",
            "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "-p", "127.0.0.1::8080",
            # no broker here: the service must stay alive (healthz) and say why it is not ready
            "-e", "KAFKA_SECURITY_PROTOCOL=PLAINTEXT",
            "-e", "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9",
            image,
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        port = (
            subprocess.run(
                ["docker", "port", container, "8080/tcp"],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.split(":")[-1]
            .strip()
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        health: tuple[int, str] = (0, "")
        while time.monotonic() < deadline:
            try:
                health = _get(f"{base}/healthz")
                if health[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        assert health == (200, "ok\n"), logs.stdout + logs.stderr
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert body.startswith(("starting", "waiting for Kafka"))
        user = subprocess.run(
            ["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert user == "10001"
        assert '"service": "probe-service"' in logs.stdout  # JSON logs on stdout
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
