"""What `up` finds when the real thing drifted from what it recorded, on a real Docker engine
with a real registry: the registry removed, detached from its network, an image deleted from
it. The checks are the ones `up`'s steps use; the plan around them is `up`'s executor."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.execute import docker_host
from streamforge.execute import registry as local_registry
from streamforge.execute.executor import execute
from streamforge.plan.actions import Action, PushImage, StartRegistry, WireRegistry
from streamforge.plan.steps import State, Step
from tests.docker.test_registry import catalog, docker, free_port


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
    assert "not running" in str(local_registry.registry_network_drift(network, name))
    local_registry.start_registry(registry_image, port, name=name, data_dir=storage)
    assert f"not on the docker network '{network}'" in str(
        local_registry.registry_network_drift(network, name)
    )
    local_registry.connect_registry(network, name)
    assert local_registry.registry_network_drift(network, name) is None
    assert docker("network", "disconnect", network, name).returncode == 0
    assert local_registry.registry_network_drift(network, name) is not None


def test_an_image_deleted_from_the_registry_is_drift(registry, registry_image, tmp_path) -> None:
    name, port, storage = registry
    local_registry.start_registry(registry_image, port, name=name, data_dir=storage)
    catalog(port)  # answers
    ref = push_one(tmp_path, port, "streamforge/fake-gpu-plugin", "abc123")
    assert local_registry.image_drift(ref, port) is None
    assert local_registry.registry_has(port, "streamforge/fake-gpu-plugin", "abc123")
    assert not local_registry.registry_has(port, "streamforge/fake-gpu-plugin", "other")
    delete_tag(storage, "streamforge/fake-gpu-plugin", "abc123")
    assert local_registry.image_drift(ref, port) == f"{ref} is not in the registry"


class RegistryDriver:
    """The drivers' registry, wiring and image checks on this test's registry container and
    network (not `up`'s), with a log of what ran: `up`'s executor around real Docker."""

    def __init__(self, name: str, image: str, port: int, storage: Path, network: str, tmp: Path):
        self.name, self.image, self.port = name, image, port
        self.storage, self.network, self.tmp = storage, network, tmp
        self.ran: list[str] = []

    def run(self, step: str, action: Action) -> None:
        self.ran.append(step.partition(":")[0])
        if isinstance(action, StartRegistry):
            local_registry.start_registry(
                self.image, self.port, name=self.name, data_dir=self.storage
            )
        elif isinstance(action, WireRegistry):
            local_registry.connect_registry(self.network, self.name)
        elif isinstance(action, PushImage):
            catalog(self.port)
            push_one(self.tmp, self.port, "streamforge/fake-gpu-plugin", "abc123")

    def present(self, action: Action) -> bool:
        running = local_registry.registry_running(self.name)
        return running and local_registry.registry_data(self.name) == self.storage.resolve()

    def check(self, action: Action) -> str | None:
        if isinstance(action, WireRegistry):
            return local_registry.registry_network_drift(self.network, self.name)
        if isinstance(action, PushImage):
            return local_registry.image_drift(action.ref, self.port)
        return None


def steps_like_ups(port: int) -> list[Step]:
    """The registry, its wiring and a project image as `plan_up` has them (registry: a host
    step; wiring: needs the registry; image: hashed by its reference)."""
    ref = f"localhost:{port}/streamforge/fake-gpu-plugin:abc123"
    here = Path(".")
    return [
        Step("registry", "registry", StartRegistry("unused", port), host=True),
        Step("registry-wiring", "wiring", WireRegistry("c", {}, port), "w1", needs=("registry",)),
        Step("image:x", "image", PushImage(ref, here, here / "Dockerfile", "base"), ref),
    ]


def test_up_repairs_exactly_what_drifted(registry, registry_image, network, tmp_path) -> None:
    name, port, storage = registry
    driver = RegistryDriver(name, registry_image, port, storage, network, tmp_path)
    steps, ran = steps_like_ups(port), driver.ran
    state = State()
    assert execute(steps, state, driver)["ran"] == 3
    ran.clear()
    assert execute(steps, state, driver) == {"ran": 0, "unchanged": 3, "drifted": 0}

    # detached from the network: only the wiring runs again
    docker("network", "disconnect", network, name)
    assert execute(steps, state, driver) == {"ran": 1, "unchanged": 2, "drifted": 1}
    assert ran == ["registry-wiring"]
    assert local_registry.registry_network_drift(network, name) is None

    # an image deleted from the registry: only its step runs again, and the image is back
    ran.clear()
    delete_tag(storage, "streamforge/fake-gpu-plugin", "abc123")
    assert execute(steps, state, driver) == {"ran": 1, "unchanged": 2, "drifted": 1}
    assert ran == ["image"]
    assert local_registry.registry_has(port, "streamforge/fake-gpu-plugin", "abc123")

    # the registry container removed: it starts again, its wiring runs again (needs it); the
    # image is still in the storage folder it shares with the old container, so it stays
    ran.clear()
    docker("rm", "-f", "-v", name)
    assert execute(steps, state, driver) == {"ran": 2, "unchanged": 1, "drifted": 1}
    assert ran == ["registry", "registry-wiring"]
    assert local_registry.registry_network_drift(network, name) is None
    assert (
        local_registry.image_drift(f"localhost:{port}/streamforge/fake-gpu-plugin:abc123", port)
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
        local_registry.start_registry(tag, port, name=name)
        (anonymous,) = docker_host.anonymous_volumes(name)
        assert anonymous in volumes()
        assert local_registry.remove_registry(name)
        assert anonymous not in volumes()
        assert docker("volume", "inspect", anonymous).returncode != 0
    finally:
        docker("rm", "-f", "-v", name)
        docker("rmi", tag)


def test_the_registry_with_its_storage_folder_makes_no_volume(registry, registry_image) -> None:
    name, port, storage = registry
    local_registry.start_registry(registry_image, port, name=name, data_dir=storage)
    mounts = json.loads(docker("inspect", name).stdout)[0]["Mounts"]
    assert [m["Type"] for m in mounts] == ["bind"]
    assert docker_host.anonymous_volumes(name) == []
