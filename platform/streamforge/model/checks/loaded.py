"""The parts of one env, each already valid on its own, that the cross-field checks read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamforge.model.schema.component import Component
from streamforge.model.schema.env import Env
from streamforge.model.schema.service import Service
from streamforge.model.sources import Origins


@dataclass(frozen=True)
class Loaded:
    """An env and every component and service, with where each value was read (`*_origins`,
    to name `file:line` in a problem); `root` is the repository root."""

    root: Path
    env: Env
    env_origins: Origins
    components: dict[str, Component]
    component_origins: dict[str, Origins]
    services: dict[str, Service]
    service_origins: dict[str, Origins]

    @property
    def pinnable_nodes(self) -> set[str]:
        """The nodes a component or service may be pinned to: in the replica only the mirrored
        nodes exist."""
        provider = self.env.provider
        if provider.type == "kind":
            return set(provider.mirror_nodes)
        return {n.name for n in self.env.nodes}
