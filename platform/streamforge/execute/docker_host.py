"""Docker-side pieces of the replica: engine check, base image, registry container, network.

Everything here goes through python-on-whales; every container and image the project
creates carries the label io.streamforge.managed=true, and `down` removes only those.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from streamforge import console
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
    except OSError:
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


def _ours(name: str) -> bool:
    from python_on_whales import docker

    labels = docker.container.inspect(name).config.labels or {}
    return labels.get("io.streamforge.managed") == "true"


def registry_running(name: str = REGISTRY) -> bool:
    from python_on_whales import docker

    if not docker.container.exists(name):
        return False
    return bool(docker.container.inspect(name).state.running)


REGISTRY_DATA = "/var/lib/registry"  # where the registry image keeps its storage


def registry_data(name: str = REGISTRY) -> Path | None:
    """The host folder mounted as the registry container's storage, if any."""
    from python_on_whales import docker

    for mount in docker.container.inspect(name).mounts or []:
        if str(mount.destination) == REGISTRY_DATA and mount.source:
            return Path(str(mount.source))
    return None


def start_registry(
    image: str, port: int, name: str = REGISTRY, data_dir: Path | None = None
) -> None:
    """Run the local registry container (or start it again if it exists but stopped).

    With `data_dir`, its storage is that host folder, so what it holds (the image cache)
    outlives the container; a container of ours that stores elsewhere is replaced."""
    from python_on_whales import docker

    if docker.container.exists(name):
        if not _ours(name):
            raise StreamforgeError(
                f"a container named {name} exists but was not created by "
                f"StreamForge; remove or rename it (docker rm -f {name})"
            )
        if data_dir is None or registry_data(name) == data_dir.resolve():
            docker.container.start(name)
            return
        console.info(f"recreating {name} with its storage in {data_dir}")
        docker.container.remove(name, force=True)
    volumes: list[tuple[Path, str]] = []
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        volumes.append((data_dir.resolve(), REGISTRY_DATA))
    console.info(f"starting {image} as {name} on 127.0.0.1:{port}")
    docker.run(
        image,
        name=name,
        detach=True,
        restart="always",
        labels=MANAGED,
        publish=[(f"127.0.0.1:{port}", 5000)],
        volumes=volumes,
    )


def networks_of(name: str) -> set[str]:
    """The docker networks container `name` is attached to (empty if there is no such
    container)."""
    from python_on_whales import docker

    if not docker.container.exists(name):
        return set()
    return set(docker.container.inspect(name).network_settings.networks or {})


def connect_registry(network: str = "kind", name: str = REGISTRY) -> None:
    from python_on_whales import docker

    if network not in networks_of(name):
        docker.network.connect(network, name)


def registry_network_drift(network: str = "kind", name: str = REGISTRY) -> str | None:
    """None when the registry container is running and attached to `network` (where the
    nodes resolve it by name), else what is wrong."""
    if not registry_running(name):
        return f"registry container {name} is not running"
    if network not in networks_of(name):
        return f"registry container {name} is not on the docker network '{network}'"
    return None


# The manifest media types a registry serves (OCI image spec, Docker distribution).
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def registry_has(port: int, repository: str, tag: str) -> bool:
    """Does the registry on 127.0.0.1:`port` hold `repository`:`tag`? A HEAD of its manifest
    (distribution spec: `HEAD /v2/<name>/manifests/<reference>`, 200 or 404). Raises
    StreamforgeError when the registry does not answer at all."""
    import urllib.error
    import urllib.request

    url = f"http://127.0.0.1:{port}/v2/{repository}/manifests/{tag}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST_TYPES})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with opener.open(request, timeout=10) as answer:
            return bool(answer.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise StreamforgeError(
            f"the registry on 127.0.0.1:{port} answered HTTP {exc.code} for {url}; "
            "`nox -s status` shows its state, `nox -s up` recreates it"
        ) from None
    except OSError as exc:
        raise StreamforgeError(
            f"no registry answers on 127.0.0.1:{port} ({exc}); `nox -s up` starts it"
        ) from None


def image_drift(ref: str, port: int) -> str | None:
    """None when the registry on 127.0.0.1:`port` holds the project image `ref`
    (`localhost:<port>/<repository>:<tag>`), else what is missing."""
    from streamforge.model.images import parse

    image = parse(ref)
    if registry_has(port, image.path, image.tag or "latest"):
        return None
    return f"{ref} is not in the registry"


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


def remove_registry(name: str = REGISTRY) -> bool:
    """Remove the registry container, and the anonymous volumes docker made for it, if, and
    only if, StreamForge created it. Its storage folder (the image cache) stays."""
    from python_on_whales import docker

    if not docker.container.exists(name):
        return False
    if not _ours(name):
        console.info(f"leaving {name}: it was not created by StreamForge")
        return False
    volumes = anonymous_volumes(name)
    docker.container.remove(name, force=True, volumes=True)
    for volume in volumes:
        console.info(f"removed volume {volume} (of {name})")
    return True


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
