"""The replica's bill of materials: every chart and image an env and profile need.

Images are derived, not listed by hand: each enabled component's pinned chart is templated
(`helm template`, from the chart cache, with the env's rendered values and the env's Kubernetes
version), the rendered manifests are read, and the images are collected from them together with
the kind node image, the registry image, the parent of the base image, the project's own images
(content-hash tags) and the images the e2e tests run (platform/pins.yaml `test_images`).

Each image has a `where`:
- `cache`: the nodes pull it through the image cache (the local registry, see images.py);
- `docker`: used from the local Docker engine (kind node, registry, python base);
- `project`: built from this repository by `up` (never fetched).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from streamforge.errors import StreamforgeError
from streamforge.execute import charts
from streamforge.execute.tools import Resolved
from streamforge.model.images import ImageRefError, parse
from streamforge.model.load import Platform
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider
from streamforge.render import image_refs
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.render.kind import node_image

CACHE, DOCKER, PROJECT = "cache", "docker", "project"
# Operators name the images they start in env vars (Strimzi: STRIMZI_KAFKA_IMAGES holds
# `<kafka version>=<image>` lines, STRIMZI_DEFAULT_MAVEN_BUILDER one image) and in flags
# (cert-manager --acme-http01-solver-image=...): a value that is a registry-qualified
# `name:tag` counts as an image.


@dataclass
class Image:
    ref: str  # canonical: registry/path:tag[@digest]
    where: str
    used_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChartEntry:
    component: str
    name: str
    version: str
    repo: str
    file: str  # its file in the chart cache
    cached: bool


@dataclass
class Bom:
    env: str
    profile: str
    charts: list[ChartEntry]
    images: list[Image]

    def of(self, where: str) -> list[Image]:
        return [i for i in self.images if i.where == where]

    def to_json(self) -> str:
        return json.dumps(
            {
                "env": self.env,
                "profile": self.profile,
                "charts": [vars(c) for c in self.charts],
                "images": [vars(i) for i in self.images],
            },
            indent=2,
        )


def _flag_image(arg: str) -> str | None:
    """The image in `--some-image=registry/name:tag`, if the flag's value is one."""
    if not arg.startswith("-") or "=" not in arg:
        return None
    value = arg.split("=", 1)[1]
    return value if _qualified(value) else None


def _qualified(text: str) -> bool:
    """A reference that names its registry and a version: how operators write the images
    they start (a bare word is never taken for an image)."""
    first = text.split("/", 1)[0]
    if "/" not in text or not ("." in first or ":" in first):
        return False
    try:
        return parse(text).pinned
    except ImageRefError:
        return False


def images_in(data: Any) -> Iterator[str]:
    """Every image reference in Kubernetes objects (any nesting: Deployments, CRs, Lists):
    container `image` fields, other `*image` keys (operator settings such as postgres-operator's
    `docker_image`), env var values and `--flag=` values that are registry-qualified
    references."""
    if isinstance(data, list):
        for item in data:
            yield from images_in(item)
        return
    if not isinstance(data, dict):
        return
    image = data.get("image")
    if isinstance(image, str) and image.strip():
        yield image.strip()
    for key, value in data.items():  # operator settings: docker_image, connection_pooler_image
        named = key != "image" and str(key).lower().endswith("image")
        if named and isinstance(value, str) and _qualified(value.strip()):
            yield value.strip()
    name, value = data.get("name"), data.get("value")
    if isinstance(name, str) and isinstance(value, str):  # an env var
        for token in value.split():
            candidate = token.split("=", 1)[-1]
            if _qualified(candidate):
                yield candidate
    for key in ("args", "command"):
        for arg in data.get(key) or []:
            found = _flag_image(arg) if isinstance(arg, str) else None
            if found:
                yield found
    for child in data.values():
        if isinstance(child, dict | list):
            yield from images_in(child)


def manifests(text: str) -> list[Any]:
    """The documents of a multi-document YAML stream (helm template output)."""
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc]


def _add(found: dict[str, Image], ref: str, where: str, user: str) -> None:
    canonical = str(parse(ref)) if where != PROJECT else ref
    entry = found.setdefault(canonical, Image(canonical, where))
    if user not in entry.used_by:
        entry.used_by.append(user)


# e2e images used only by the checks of one component (tests/e2e): Kafka's client by the Kafka
# check, whoami by the HTTPS check (cert-manager's certificate); an env that leaves the
# component out skips the check and needs no image for it.
TEST_IMAGE_NEEDS = {"kafka_client": "strimzi", "whoami": "cert-manager"}


def _collect(found: dict[str, Image], refs: Iterator[str], user: str, project: str) -> None:
    """Add `refs`, used by `user`: those under the env's registry `project` are the project's
    own images, the rest go through the image cache."""
    for ref in refs:
        try:
            _add(found, ref, PROJECT if ref.startswith(project) else CACHE, user)
        except ImageRefError as exc:
            raise StreamforgeError(
                f"{user} renders {exc}; fix the image values of that component"
            ) from None


def _chart(
    platform: Platform, name: str, values: dict[str, Any], helm: Resolved | None, fetch: bool
) -> tuple[ChartEntry, str | None]:
    """Component `name`'s chart entry and its `helm template` output with `values` (None when
    the chart is not in the chart cache or `helm` is None); with `fetch`, a missing chart is
    pulled first."""
    comp = platform.components[name]
    chart = comp.chart
    assert chart is not None
    path = charts.cached_path(chart)
    if fetch and helm is not None and not path.is_file():
        charts.ensure(helm, chart, f"bom:{name}")
    entry = ChartEntry(name, chart.name, chart.version, chart.repo, str(path), path.is_file())
    if not entry.cached or helm is None:
        return entry, None
    text = charts.template(
        helm,
        f"bom:{name}",
        path,
        name,
        comp.namespace,
        values,
        platform.env.kubernetes_version,
    )
    return entry, text


def _built_and_tested(found: dict[str, Image], platform: Platform) -> None:
    """Add the services' images (built by `up`) and the images the e2e tests run."""
    for name in sorted(platform.services):
        _add(found, image_refs.service_image(platform, name), PROJECT, f"service {name}")
    for key, ref in sorted(pins().test_images.items()):
        if TEST_IMAGE_NEEDS.get(key) not in platform.left_out:  # its checks skip there
            _add(found, ref, CACHE, f"e2e tests ({key})")


def build(
    platform: Platform,
    facts: Facts,
    helm: Resolved | None,
    *,
    fetch: bool = True,
    python_base: str | None = None,
) -> tuple[Bom, list[ChartEntry]]:
    """The bill of materials of `platform` (its env and profile) with `facts`.

    Charts come from the chart cache; with `fetch`, a missing chart is pulled first. Without
    it (offline), a missing chart is returned in the second list and its images are unknown;
    so is every chart when `helm` is None. `python_base` overrides the base image's parent
    (default: the one `up` uses, STREAMFORGE_PYTHON_BASE or the pin)."""
    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    rendered = render(platform, facts)
    found: dict[str, Image] = {}
    _add(found, node_image(provider, facts), DOCKER, "kind node")
    _add(found, pins().images["registry"], DOCKER, "image cache (local registry)")
    _add(found, python_base or image_refs.python_base(), DOCKER, "parent of the base image")
    project = platform.env.image_registry.rstrip("/") + "/"
    entries: list[ChartEntry] = []
    missing: list[ChartEntry] = []
    for name in platform.enabled:
        chart = platform.components[name].chart
        if chart:
            entry, text = _chart(platform, name, rendered.values.get(name, {}), helm, fetch)
            entries.append(entry)
            if text is None:
                missing.append(entry)
            else:
                user = f"chart {chart.name} ({name})"
                _collect(found, images_in(manifests(text)), user, project)
        objects = rendered.objects.get(name, [])
        _collect(found, images_in(objects), f"manifests of {name}", project)
    _built_and_tested(found, platform)
    order = {DOCKER: 0, CACHE: 1, PROJECT: 2}
    images = sorted(found.values(), key=lambda i: (order[i.where], i.ref))
    bom = Bom(platform.env.name, platform.env.profile, entries, images)
    return bom, missing
