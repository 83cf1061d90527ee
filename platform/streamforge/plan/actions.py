"""What a step of the plan does, as data: each action names its inputs in full, so the plan
that holds them is a pure function of the model and the render, and a driver (execute/) can
carry it out, check it and be replaced by a recording double in a unit test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamforge.model.schema.component import Chart


@dataclass(frozen=True)
class Preflight:
    """Check Docker and the pinned tools; say what the env leaves out ({name: reason})."""

    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildBase:
    """Build platform/Dockerfile as `tag` (content-addressed, `render.image_refs.base_image`)."""

    tag: str


@dataclass(frozen=True)
class StartRegistry:
    """Run the local registry (the image cache) from `image` on 127.0.0.1:`port`."""

    image: str
    port: int


@dataclass(frozen=True)
class CreateCluster:
    """Create kind cluster `name` from the rendered kind `config` (YAML text); `shared_dir`
    is the host folder its nodes mount for the RWX class (created first)."""

    name: str
    config: str
    shared_dir: str


@dataclass(frozen=True)
class WireRegistry:
    """Write `files` ({path in a node: text}: hosts.toml per upstream, mirror CAs) into every
    node of cluster `cluster` and publish the local registry on `port` (KEP-1755)."""

    cluster: str
    files: dict[str, str]
    port: int


@dataclass(frozen=True)
class PushImage:
    """Build `dockerfile` in `context` FROM `base` as `ref` and push it to the registry."""

    ref: str
    context: Path
    dockerfile: Path
    base: str


@dataclass(frozen=True)
class PushDocsSite:
    """Build the docs site (mkdocs, strict) unless current, then its image `ref` FROM `base`."""

    ref: str
    base: str


@dataclass(frozen=True)
class InstallComponent:
    """A component: its namespace, its helm release (when it has a chart) with `values`, the
    `objects` it applies, and the workloads (`ns/kind/name`) to restart afterwards."""

    name: str
    namespace: str
    labels: dict[str, str]
    chart: Chart | None
    values: dict[str, Any]
    objects: list[dict[str, Any]]
    wait_seconds: int
    restarts: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstallService:
    """A service: its image `image` (built, pushed) and the common chart at `chart` with
    `values` in `namespace`; `url` is where it answers."""

    name: str
    image: PushImage
    chart: Path
    namespace: str
    values: dict[str, Any]
    url: str
    wait_seconds: int = 300


@dataclass(frozen=True)
class WriteFiles:
    """Replace `folder` with exactly `files` ({relative path: text}) for the user to read."""

    folder: Path
    files: dict[str, str]


@dataclass(frozen=True)
class Summary:
    """Print where everything is."""

    lines: tuple[str, ...]


Action = (
    Preflight
    | BuildBase
    | StartRegistry
    | CreateCluster
    | WireRegistry
    | PushImage
    | PushDocsSite
    | InstallComponent
    | InstallService
    | WriteFiles
    | Summary
)
