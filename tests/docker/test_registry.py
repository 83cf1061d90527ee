"""The local registry container's lifecycle on a real Docker engine.

The registry image cannot be pulled here, so the registry binary (built from the Go module
proxy) is packaged into a local image; the lifecycle code under test is the one `up` uses.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from streamforge.errors import StreamforgeError
from streamforge.execute import registry as local_registry


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog(port: int) -> list[str]:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog", timeout=5) as r:
                return list(json.load(r)["repositories"])
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def registry(registry_image: str, unique: str):
    port = free_port()
    yield unique, port
    docker("rm", "-f", unique)


def test_start_push_restart_and_remove(registry, registry_image: str, tmp_path: Path) -> None:
    name, port = registry
    local_registry.start_registry(registry_image, port, name=name)
    assert local_registry.registry_running(name)
    labels = json.loads(docker("inspect", name).stdout)[0]["Config"]["Labels"]
    assert labels["io.streamforge.managed"] == "true"

    # a one-file image pushed to it shows up in its catalog
    payload = tmp_path / "hello.txt"
    payload.write_text("hello from streamforge\n")
    with tarfile.open(tmp_path / "rootfs.tar", "w") as tar:
        tar.add(payload, arcname="hello.txt")
    ref = f"127.0.0.1:{port}/sf-test/hello:1"
    assert docker("import", str(tmp_path / "rootfs.tar"), ref).returncode == 0
    pushed = docker("push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert "sf-test/hello" in catalog(port)
    docker("rmi", ref)

    # starting again is a no-op; a stopped registry is started again, with its data
    first_id = json.loads(docker("inspect", name).stdout)[0]["Id"]
    local_registry.start_registry(registry_image, port, name=name)
    docker("stop", name)
    assert not local_registry.registry_running(name)
    local_registry.start_registry(registry_image, port, name=name)
    assert local_registry.registry_running(name)
    assert json.loads(docker("inspect", name).stdout)[0]["Id"] == first_id
    assert "sf-test/hello" in catalog(port)

    assert local_registry.remove_registry(name)
    assert docker("inspect", name).returncode != 0
    assert not local_registry.remove_registry(name)


def test_a_foreign_container_with_the_name_is_never_touched(registry, registry_image: str) -> None:
    name, port = registry
    created = docker("run", "-d", "--name", name, "--entrypoint", "sleep", registry_image, "300")
    assert created.returncode == 0, created.stderr
    with pytest.raises(StreamforgeError, match="was not created by StreamForge"):
        local_registry.start_registry(registry_image, port, name=name)
    assert not local_registry.remove_registry(name)
    assert local_registry.registry_running(name)
