"""The image cache, `prefetch` (fill the caches for an env and profile) and the `up --offline`
check (refuse, before changing anything, when a cache lacks something the BOM names).

The image cache is the replica's registry container, whose storage is a host folder
(`$STREAMFORGE_IMAGE_CACHE`, else `~/.cache/streamforge/images`), so it survives `down`. It
keeps each upstream image under its registry's name (images.ImageRef.cached_as); the nodes'
containerd finds them there through the rendered hosts.toml files (render/mirrors.py).
"""

from __future__ import annotations

from pathlib import Path

from streamforge import console, run
from streamforge.commands.bom import CACHE, DOCKER, Bom, ChartEntry, Image
from streamforge.errors import StreamforgeError
from streamforge.execute import charts, docker_host, registry
from streamforge.execute.registry import cache_host, cache_registry_running, image_cache, in_cache
from streamforge.model.images import parse
from streamforge.model.load import Platform
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider
from streamforge.render import image_refs
from streamforge.render.context import Facts


def mirrored(provider: KindProvider, ref: str) -> bool:
    """An image the env's own mirror serves (provider.mirrors), not the local cache."""
    return parse(ref).registry in provider.mirrors


def missing(bom: Bom, unfetched: list[ChartEntry], provider: KindProvider) -> list[str]:
    """What `up` would have to download: charts not in the chart cache, images not in the
    image cache, node/registry/python images not in the Docker engine. One line each."""
    lines = [
        f"chart {c.name} {c.version} ({c.component}): not in {charts.chart_cache()}; its "
        "images are unknown until it is fetched"
        for c in unfetched
    ]
    for image in bom.of(DOCKER):
        if not docker_host.image_exists(image.ref):
            lines.append(f"image {image.ref} ({', '.join(image.used_by)}): not in Docker")
    for image in bom.of(CACHE):
        if not mirrored(provider, image.ref) and not in_cache(image.ref):
            lines.append(
                f"image {image.ref} ({', '.join(image.used_by)}): not in the image cache "
                f"{image_cache()}"
            )
    return lines


def fetch_command(env: str, profile: str) -> str:
    return f"nox -s prefetch -- --env {env} --profile {profile}"


def _ensure_docker_image(step: str, ref: str) -> str:
    """`ref` in the local Docker engine: already there, or pulled now."""
    if docker_host.image_exists(ref):
        return "in Docker"
    run.run(step, ["docker", "pull", ref], f"is {parse(ref).registry} reachable?", quiet=True)
    return "pulled"


def push_to_cache(step: str, ref: str, host: str) -> None:
    """Push `ref` (from the local engine) into the cache under its upstream name."""
    cached = parse(ref).cached_as(host)
    fix = f"is the registry up? `docker ps --filter name={docker_host.REGISTRY}`"
    run.run(step, ["docker", "tag", ref, cached], fix, quiet=True)
    try:
        run.run(step, ["docker", "push", cached], fix, quiet=True)
    finally:
        run.capture(["docker", "rmi", cached])  # only the extra tag; the image stays


def prefetch(bom: Bom, provider: KindProvider) -> dict[str, int]:
    """Fill the caches for `bom` (charts were fetched when the BOM was built): every image
    the engine runs directly is pulled into Docker, then the registry is started on the cache
    folder and filled (fill_cache)."""
    for image in bom.of(DOCKER):
        console.info(f"{image.ref}: {_ensure_docker_image('prefetch', image.ref)}")
    folder = image_cache()
    if not cache_registry_running():
        registry.start_registry(pins().images["registry"], provider.registry_port, data_dir=folder)
    return fill_cache(bom.of(CACHE), provider, cache_host(provider), folder)


def fill_cache(
    images: list[Image], provider: KindProvider, host: str, folder: Path
) -> dict[str, int]:
    """Put every image into the cache registry at `host` (storage `folder`): from the local
    engine when it has it (how CI fills the cache with images built from source), else
    pulled first. Images the env's own mirror serves are skipped. One progress line each."""
    counts = {"cached": 0, "pushed": 0, "mirror": 0}
    for index, image in enumerate(images, start=1):
        where = f"[{index}/{len(images)}] {image.ref}"
        if mirrored(provider, image.ref):
            console.info(f"{where}: served by the env's mirror, skipped")
            counts["mirror"] += 1
        elif in_cache(image.ref, folder):
            console.info(f"{where}: cached")
            counts["cached"] += 1
        else:
            source = _ensure_docker_image("prefetch", image.ref)
            push_to_cache("prefetch", image.ref, host)
            console.info(f"{where}: {source}, pushed to the cache")
            counts["pushed"] += 1
    return counts


def check_up(platform: Platform, facts: Facts) -> None:
    """`up --offline`: refuse, before anything changes, unless the pinned tools, the base
    image, the chart cache and the image cache hold everything the env and profile need."""
    from streamforge.commands.bom import build
    from streamforge.execute.tools import ToolError, resolve

    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    lines: list[str] = []
    helm = None
    for name in ("kind", "helm"):
        try:
            tool = resolve(name, allow_download=False)
        except ToolError as exc:
            lines.append(f"tool {name}: {exc}")
            continue
        if tool.source == "container" and not docker_host.image_exists(tool.command[-1]):
            lines.append(f"tool {name}: no binary, and its image {tool.command[-1]} not in Docker")
            continue
        if name == "helm":
            helm = tool
    base = image_refs.base_image(platform.root)
    if not docker_host.image_exists(base):
        lines.append(f"image {base} (the base image): not built; building it needs PyPI")
    if helm is None:
        bom = Bom(platform.env.name, platform.env.profile, [], [])
        unfetched: list[ChartEntry] = []
    else:
        bom, unfetched = build(platform, facts, helm, fetch=False)
    lines += missing(bom, unfetched, provider)
    if lines:
        listing = "\n".join(f"  - {line}" for line in lines)
        raise StreamforgeError(
            f"--offline: {len(lines)} thing(s) the replica needs are not cached; nothing was "
            f"changed:\n{listing}\nfetch them while online with "
            f"`{fetch_command(platform.env.name, platform.env.profile)}`"
        )
