"""The kind cluster: create it from the rendered kind config, record that config in the
cluster, refuse to go on when the env now renders a different one, list and delete nodes."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from streamforge import run
from streamforge.errors import StreamforgeError
from streamforge.execute.kube import Kube
from streamforge.execute.tools import Resolved
from streamforge.model.load import HOMELAB_NODE_LABEL
from streamforge.render.parity import diff

# kube-system/<this>: the kind config the cluster was created from
CONFIG_MAP = "streamforge-kind-config"
CONFIG_KEY = "kind-config.yaml"
WAIT = ("--wait", "120s")  # for the control plane to be ready


class KindCluster:
    """kind cluster `name`, managed with the `kind` tool; `kube` talks to its API."""

    def __init__(
        self, kind: Resolved, name: str, kube: Callable[[], Kube], env_file: str, workdir: Path
    ) -> None:
        # kubectl is resolved only once the cluster's API is needed: `down` and `status` of
        # an absent cluster need kind alone
        self.kind, self.name, self._kube = kind, name, kube
        self.env_file, self.workdir = env_file, workdir

    @cached_property
    def kube(self) -> Kube:
        return self._kube()

    def exists(self) -> bool:
        out = run.capture([*self.kind.command, "get", "clusters"])
        return self.name in out.stdout.split()

    def nodes(self) -> list[str]:
        """The node containers' names, sorted."""
        out = run.capture([*self.kind.command, "get", "nodes", "--name", self.name])
        return sorted(out.stdout.split())

    def create(self, config: str) -> None:
        """`kind create cluster` from `config` (YAML text, written to the workdir for kind),
        then the ownership marker `down` looks for and the config, for `check_config`."""
        path = self.workdir / "kind-config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
        run.run(
            "cluster",
            [
                *self.kind.command,
                "create",
                "cluster",
                "--name",
                self.name,
                *WAIT,
                "--config",
                str(path),
            ],
            "see `nox -s doctor` (memory, inotify limits, free ports 80/443)",
        )
        self.kube.write_state({})
        self.kube.write_configmap(CONFIG_MAP, {CONFIG_KEY: config})

    @cached_property
    def recorded(self) -> str | None:
        found = self.kube.read_configmap(CONFIG_MAP)
        return None if found is None else found.get(CONFIG_KEY)

    def adopt(self, wanted: str) -> None:
        """Record `wanted` as the cluster's kind config when there is no record (a cluster an
        older StreamForge created): from then on a change to it is noticed."""
        if self.recorded is None:
            self.kube.write_configmap(CONFIG_MAP, {CONFIG_KEY: wanted})
            self.__dict__["recorded"] = wanted

    def check_config(self, wanted: str) -> None:
        """Return when the cluster was created from the kind config `wanted` (or has no
        record). Else raise StreamforgeError, one line naming what differs and the command
        that recreates the cluster: kind cannot add nodes, ports or mounts to a running
        cluster, and recreating one deletes the data in it, so that is the user's call.
        Writes nothing."""
        if self.recorded is None:
            return
        safe = YAML(typ="safe", pure=True)
        before, after = safe.load(self.recorded), safe.load(wanted)
        found = diff(before, after)
        if not found:
            return
        nodes = (_nodes(before), _nodes(after))
        if nodes[0] != nodes[1]:  # say it as the env does: which homelab nodes are mirrored
            shown, more = f"nodes: {', '.join(nodes[0])} -> {', '.join(nodes[1])}", ""
        else:
            shown = "; ".join(
                f"{key}: {_shown(old)} -> {_shown(new)}" for key, old, new in found[:3]
            )
            more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        raise StreamforgeError(
            f"{self.env_file}: kind cluster '{self.name}' was created from another kind config "
            f"({shown}{more}); kind cannot change a running cluster: recreate it with "
            "`nox -s down && nox -s up` (deletes the cluster and its data), or undo the change "
            "to the env's provider (mirror_nodes, ports, node image, mirrors)"
        )

    def delete(self) -> None:
        run.run(
            "down",
            [*self.kind.command, "delete", "cluster", "--name", self.name],
            "retry; `docker ps` shows what is left",
        )


def _shown(value: Any) -> str:
    if type(value) is object:  # parity.diff's marker of a key one side lacks
        return "(absent)"
    return value if isinstance(value, str) else json.dumps(value)


def _nodes(config: Any) -> list[str]:
    """The kind config's nodes by the homelab node each stands for (else its role)."""
    return [
        str((node.get("labels") or {}).get(HOMELAB_NODE_LABEL, node.get("role")))
        for node in (config or {}).get("nodes") or []
    ]
