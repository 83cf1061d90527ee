"""What `up` finds when the real thing drifted from what it recorded, on a real Docker engine
with a real registry: the registry removed, detached from its network, an image deleted from
it. The checks are the ones `up`'s steps use; the plan around them is `up`'s executor."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from streamforge.execute import docker_host
from streamforge.plan.steps import State, Step, execute
from tests.docker.test_registry import catalog, docker, free_port

pytestmark = pytest.mark.docker


@pytest.fixture
def network(unique: str) -> Iterator[str]:
    name = f"{unique}-net"
    assert docker("network", "create", name).returncode == 0
    yield name
    # a registry still attached would keep the network: detach whatever is on it first
    attached = json.loads(docker("network", "inspect", name).stdout or "[{}]")[0]
    for container in (attached.get("Containers") or {}).values():
        docker("network", "disconnect", "-f", name, container["Name"])
    assert docker("network", "rm", name).returncode == 0


@pytest.fixture
def registry(registry_image: str, unique: str, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A registry container of this test, its storage in a host folder (as `up`'s)."""
    port = free_port()
    yield unique, port, tmp_path / "storage"
    docker("rm", "-f", "-v", unique)


def push_one(tmp_path: Path, port: int, repository: str, tag: str) -> str:
    payload = tmp_path / "hello.txt"
    payload.write_text(f"{repository}:{tag}\n")
    with tarfile.open(tmp_path / "rootfs.tar", "w") as tar:
        tar.add(payload, arcname="hello.txt")
    ref = f"localhost:{port}/{repository}:{tag}"
    assert docker("import", str(tmp_path / "rootfs.tar"), ref).returncode == 0
    pushed = docker("push", ref)
    assert pushed.returncode == 0, pushed.stderr
    docker("rmi", ref)
    return ref


def delete_tag(storage: Path, repository: str, tag: str) -> None:
    """Delete a tag in the registry's storage (the filesystem driver's layout), as a pruned
    or lost cache does; the registry answers 404 for it from then on."""
    tags = storage / "docker/registry/v2/repositories" / repository / "_manifests/tags" / tag
    assert tags.is_dir(), tags
    shutil.rmtree(tags)


def test_registry_detached_from_its_network_is_drift(registry, registry_image, network) -> None:
    name, port, storage = registry
    assert "not running" in str(docker_host.registry_network_drift(network, name))
    docker_host.start_registry(registry_image, port, name=name, data_dir=storage)
    assert f"not on the docker network '{network}'" in str(
        docker_host.registry_network_drift(network, name)
    )
    docker_host.connect_registry(network, name)
    assert docker_host.registry_network_drift(network, name) is None
    assert docker("network", "disconnect", network, name).returncode == 0
    assert docker_host.registry_network_drift(network, name) is not None


def test_an_image_deleted_from_the_registry_is_drift(registry, registry_image, tmp_path) -> None:
    name, port, storage = registry
    docker_host.start_registry(registry_image, port, name=name, data_dir=storage)
    catalog(port)  # answers
    ref = push_one(tmp_path, port, "streamforge/fake-gpu-plugin", "abc123")
    assert docker_host.image_drift(ref, port) is None
    assert docker_host.registry_has(port, "streamforge/fake-gpu-plugin", "abc123")
    assert not docker_host.registry_has(port, "streamforge/fake-gpu-plugin", "other")
    delete_tag(storage, "streamforge/fake-gpu-plugin", "abc123")
    assert docker_host.image_drift(ref, port) == f"{ref} is not in the registry"


def steps_like_ups(name: str, image: str, port: int, storage: Path, network: str, tmp: Path):
    """The registry, its wiring and a project image as `up` has them (registry: present when
    running with its storage; wiring: needs the registry, checks the network; image: checks
    the registry holds it), with a log of what ran."""
    ran: list[str] = []
    ref = f"localhost:{port}/streamforge/fake-gpu-plugin:abc123"

    def start() -> None:
        ran.append("registry")
        docker_host.start_registry(image, port, name=name, data_dir=storage)

    def wire() -> None:
        ran.append("registry-wiring")
        docker_host.connect_registry(network, name)

    def push() -> None:
        ran.append("image")
        catalog(port)
        push_one(tmp, port, "streamforge/fake-gpu-plugin", "abc123")

    steps = [
        Step(
            "registry",
            "registry",
            start,
            present=lambda: docker_host.registry_running(name)
            and docker_host.registry_data(name) == storage.resolve(),
        ),
        Step(
            "registry-wiring",
            "wiring",
            wire,
            inputs=lambda: "w1",
            check=partial(docker_host.registry_network_drift, network, name),
            needs=("registry",),
        ),
        Step(
            "image:fake-gpu-plugin",
            "image",
            push,
            inputs=lambda: ref,
            check=partial(docker_host.image_drift, ref, port),
        ),
    ]
    return steps, ran


def test_up_repairs_exactly_what_drifted(registry, registry_image, network, tmp_path) -> None:
    name, port, storage = registry
    steps, ran = steps_like_ups(name, registry_image, port, storage, network, tmp_path)
    state = State()
    assert execute(steps, state)["ran"] == 3
    ran.clear()
    assert execute(steps, state) == {"ran": 0, "unchanged": 3, "drifted": 0}

    # detached from the network: only the wiring runs again
    docker("network", "disconnect", network, name)
    assert execute(steps, state) == {"ran": 1, "unchanged": 2, "drifted": 1}
    assert ran == ["registry-wiring"]
    assert docker_host.registry_network_drift(network, name) is None

    # an image deleted from the registry: only its step runs again, and the image is back
    ran.clear()
    delete_tag(storage, "streamforge/fake-gpu-plugin", "abc123")
    assert execute(steps, state) == {"ran": 1, "unchanged": 2, "drifted": 1}
    assert ran == ["image"]
    assert docker_host.registry_has(port, "streamforge/fake-gpu-plugin", "abc123")

    # the registry container removed: it starts again, its wiring runs again (needs it); the
    # image is still in the storage folder it shares with the old container, so it stays
    ran.clear()
    docker("rm", "-f", "-v", name)
    assert execute(steps, state) == {"ran": 2, "unchanged": 1, "drifted": 1}
    assert ran == ["registry", "registry-wiring"]
    assert docker_host.registry_network_drift(network, name) is None
    assert (
        docker_host.image_drift(f"localhost:{port}/streamforge/fake-gpu-plugin:abc123", port)
        is None
    )


def volumes() -> set[str]:
    out = subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_removing_the_registry_leaves_no_volume(registry, registry_image, tmp_path) -> None:
    """An image that declares VOLUME /var/lib/registry (as registry:2 does) makes an anonymous
    volume when nothing is mounted there; `down`'s removal takes it along."""
    name, port, _ = registry
    context = tmp_path / "with-volume"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {registry_image}\nVOLUME /var/lib/registry\n")
    tag = f"{name}-with-volume:1"
    built = docker("build", "-q", "-t", tag, str(context))
    assert built.returncode == 0, built.stderr
    try:
        docker_host.start_registry(tag, port, name=name)
        (anonymous,) = docker_host.anonymous_volumes(name)
        assert anonymous in volumes()
        assert docker_host.remove_registry(name)
        assert anonymous not in volumes()
        assert docker("volume", "inspect", anonymous).returncode != 0
    finally:
        docker("rm", "-f", "-v", name)
        docker("rmi", tag)


def test_the_registry_with_its_storage_folder_makes_no_volume(registry, registry_image) -> None:
    name, port, storage = registry
    docker_host.start_registry(registry_image, port, name=name, data_dir=storage)
    mounts = json.loads(docker("inspect", name).stdout)[0]["Mounts"]
    assert [m["Type"] for m in mounts] == ["bind"]
    assert docker_host.anonymous_volumes(name) == []
