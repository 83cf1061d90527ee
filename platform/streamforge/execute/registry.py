"""The local registry: the replica's image cache and where project images are pushed.

Its storage is a host folder (`$STREAMFORGE_IMAGE_CACHE`, else `~/.cache/streamforge/images`),
so what it holds survives `down`. It keeps each upstream image under its registry's name
(images.ImageRef.cached_as); the nodes' containerd finds them there through the rendered
hosts.toml files (render/mirrors.py), written into every node by `wire`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from streamforge import console, run
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.docker_host import MANAGED, REGISTRY, networks_of, ours
from streamforge.execute.tools import cache_folder
from streamforge.model.images import parse
from streamforge.model.schema.provider import KindProvider
from streamforge.render import mirrors
from streamforge.render.context import dump

CACHE_ENV = "STREAMFORGE_IMAGE_CACHE"
# The distribution registry's filesystem storage layout: a tag exists once its manifest was
# pushed (github.com/distribution/distribution, registry/storage/paths.go).
REPOSITORIES = Path("docker") / "registry" / "v2" / "repositories"


# The manifest media types a registry serves (OCI image spec, Docker distribution).
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


REGISTRY_DATA = "/var/lib/registry"  # where the registry image keeps its storage


def registry_running(name: str = REGISTRY) -> bool:
    from python_on_whales import docker

    if not docker.container.exists(name):
        return False
    return bool(docker.container.inspect(name).state.running)


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
        if not ours(name):
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


def remove_registry(name: str = REGISTRY) -> bool:
    """Remove the registry container, and the anonymous volumes docker made for it, if, and
    only if, StreamForge created it. Its storage folder (the image cache) stays."""
    from python_on_whales import docker

    if not docker.container.exists(name):
        return False
    if not ours(name):
        console.info(f"leaving {name}: it was not created by StreamForge")
        return False
    volumes = docker_host.anonymous_volumes(name)
    docker.container.remove(name, force=True, volumes=True)
    for volume in volumes:
        console.info(f"removed volume {volume} (of {name})")
    return True


def image_cache() -> Path:
    """The host folder behind the registry container (not created)."""
    return cache_folder("images", CACHE_ENV)


def cache_host(provider: KindProvider) -> str:
    """The image cache as `docker push` on this host reaches it."""
    return f"localhost:{provider.registry_port}"


def cache_registry_running() -> bool:
    """Is the registry container running with the image cache folder as its storage?"""
    return registry_running() and registry_data() == image_cache().resolve()


def in_cache(ref: str, folder: Path | None = None) -> bool:
    """Whether the image cache holds `ref` (by its tag), read from the registry's storage, so
    the answer needs no running registry."""
    image = parse(ref)
    link = (
        (folder or image_cache())
        / REPOSITORIES
        / image.registry
        / image.path
        / "_manifests"
        / "tags"
        / (image.tag or "latest")
        / "current"
        / "link"
    )
    return link.is_file()


def wire(nodes: list[str], files: dict[str, str], port: int) -> str:
    """kind's local-registry recipe, for every upstream registry: the registry container on
    the kind network, `files` ({path: text}, certs.d) written into each of `nodes` (containerd
    reads them on every pull, no restart). Returns the KEP-1755 ConfigMap to apply (JSON)."""
    connect_registry()
    script = mirrors.write_script(files)
    for node in nodes:
        run.run(
            "registry-wiring",
            ["docker", "exec", "-i", node, "sh"],
            "is the node container running? `docker ps`",
            stdin=script,
            quiet=True,
        )
    hosting = {
        "host": f"localhost:{port}",
        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/",
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
            "data": {"localRegistryHosting.v1": dump(hosting)},
        }
    )


def wiring_drift(nodes: list[str], files: dict[str, str]) -> str | None:
    """None when the registry is on the kind network and every node has `files` (checked by
    their SHA-256 in one `docker exec` per node); else what is missing."""
    drift = registry_network_drift()
    if drift:
        return drift
    for node in nodes:
        found = run.capture(["docker", "exec", node, "sha256sum", *sorted(files)])
        # sha256sum prints `<hex>  <path>`; an absent file only on stderr
        sums = {
            path: hexdigest
            for hexdigest, _, path in (ln.partition("  ") for ln in found.stdout.splitlines())
        }
        for path, text in files.items():
            if sums.get(path) != hashlib.sha256(text.encode()).hexdigest():
                return f"node {node} lacks the registry configuration {path}"
    return None
