"""Docker-side pieces of the replica: engine check, base image, registry container, network.

Everything here goes through python-on-whales; every container and image the project
creates carries the label io.streamforge.managed=true, and `down` removes only those.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path

from streamforge.errors import StreamforgeError
from streamforge.render.kind import REGISTRY_NAME

MANAGED = {"io.streamforge.managed": "true"}
# The label kind puts on every node container of a cluster (kind's pkg/cluster/constants).
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"
REGISTRY = REGISTRY_NAME  # the name the nodes' hosts.toml files use


class DockerUnavailable(StreamforgeError):
    pass


def check_engine() -> str:
    """The engine's version, or DockerUnavailable with a one-line cause and fix."""
    from python_on_whales import ClientNotFoundError, docker
    from python_on_whales.exceptions import DockerException

    try:
        return str(docker.system.info().server_version)
    except ClientNotFoundError:
        raise DockerUnavailable(
            "the docker CLI is not installed; install Docker (Docker Desktop "
            "on macOS/Windows, docker.io or docker-ce on Linux)"
        ) from None
    except DockerException as exc:
        cause = (exc.stderr or "").strip().splitlines()[-1:] or ["no answer"]
        raise DockerUnavailable(
            f"no Docker engine answers ({cause[0]}); start it "
            "(`sudo systemctl start docker`, or open Docker Desktop)"
        ) from None


def kind_subnet(network: str = "kind") -> str | None:
    """The IPv4 subnet of the docker network kind uses (it also has an IPv6 ULA one)."""
    from python_on_whales import docker
    from python_on_whales.exceptions import NoSuchNetwork

    try:
        config = docker.network.inspect(network).ipam.config
    except NoSuchNetwork:
        return None
    for entry in config or []:
        subnet = (
            entry.get("Subnet", "") if isinstance(entry, dict) else getattr(entry, "subnet", "")
        )
        if subnet and isinstance(ipaddress.ip_network(subnet, strict=False), ipaddress.IPv4Network):
            return str(subnet)
    return None


def cgroup_version() -> int | None:
    """The cgroup version kind's nodes and their kubelet will run on: Docker's `CgroupVersion`
    (`docker info`), else, on Linux, the host's own (cgroup v2 has
    /sys/fs/cgroup/cgroup.controllers), else None (unknown)."""
    from streamforge import run

    try:
        found = run.capture(["docker", "info", "--format", "{{.CgroupVersion}}"])
        answer = found.stdout.strip() if found.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):  # no docker CLI, or a daemon that hangs
        answer = ""
    if answer in ("1", "2"):
        return int(answer)
    if Path("/sys/fs/cgroup").is_dir():
        return 2 if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else 1
    return None


NODE_IMAGE_ENV = "STREAMFORGE_KIND_NODE_IMAGE"


def node_image_override() -> str | None:
    """STREAMFORGE_KIND_NODE_IMAGE: a locally built or mirrored kind node image, or None.

    Raises StreamforgeError when it is set but not an image reference (checked as
    provider.node_image is, so a typo stops the command before kind or docker sees it)."""
    value = os.environ.get(NODE_IMAGE_ENV) or None
    if value is not None:
        from streamforge.model.images import is_reference

        if value != value.strip() or not is_reference(value):
            raise StreamforgeError(
                f"{NODE_IMAGE_ENV}='{value}' is not an image reference; write "
                "registry/name:tag (e.g. streamforge-ci/node:v1.36.1), or unset it"
            )
    return value


def image_exists(tag: str) -> bool:
    from python_on_whales import docker

    return bool(docker.image.exists(tag))


def ours(name: str) -> bool:
    from python_on_whales import docker

    labels = docker.container.inspect(name).config.labels or {}
    return labels.get("io.streamforge.managed") == "true"


def networks_of(name: str) -> set[str]:
    """The docker networks container `name` is attached to (empty if there is no such
    container)."""
    from python_on_whales import docker

    if not docker.container.exists(name):
        return set()
    return set(docker.container.inspect(name).network_settings.networks or {})


def anonymous_volumes(name: str) -> list[str]:
    """The anonymous docker volumes of container `name` (an image's VOLUME without a mount
    over it): docker names them with 64 hex digits, and `docker rm -v` removes them."""
    import re

    from python_on_whales import docker

    return [
        str(m.name)
        for m in docker.container.inspect(name).mounts or []
        if str(m.type) == "volume" and m.name and re.fullmatch(r"[0-9a-f]{64}", str(m.name))
    ]


def push(step: str, ref: str) -> None:
    """Push a project image to the local registry, showing docker's per-layer progress."""
    from streamforge import run

    run.run(step, ["docker", "push", ref], "is the registry running? `nox -s status`")


def port_holder(port: int) -> tuple[str, dict[str, str]] | None:
    """The container publishing host port `port` (name, labels), or None if no container
    does (the port is free, or some other process holds it)."""
    from python_on_whales import docker

    for container in docker.container.list(filters=[("publish", str(port))]):
        return str(container.name), dict(container.config.labels or {})
    return None


def kind_node_containers(cluster: str) -> list[str]:
    """The docker containers of kind cluster `cluster`, found by kind's label (no kind needed)."""
    from python_on_whales import docker

    found = docker.container.list(all=True, filters=[("label", f"{KIND_CLUSTER_LABEL}={cluster}")])
    return sorted(c.name for c in found)


def remove_volumes(names: list[str]) -> list[str]:
    """Remove those of the docker volumes `names` that still exist; return them."""
    from python_on_whales import docker

    left = [name for name in names if docker.volume.exists(name)]
    if left:
        docker.volume.remove(list(left))
    return left
