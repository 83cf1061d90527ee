"""`status`: the replica's cluster, nodes, registry, releases and recorded steps."""

from __future__ import annotations

import json

from streamforge import console, docker_host
from streamforge.errors import StreamforgeError
from streamforge.load import HOMELAB_NODE_LABEL, Platform
from streamforge.replica import Replica


def show(platform: Platform) -> None:
    replica = Replica(platform)
    docker_host.check_engine()
    registry = "running" if docker_host.registry_running() else "not running"
    console.step(f"registry {docker_host.REGISTRY}: {registry}")
    if not replica.cluster_exists():
        console.step(f"kind cluster '{replica.name}': absent (`nox -s up` creates it)")
        return
    console.step(f"kind cluster '{replica.name}': running (context {replica.context})")
    nodes = replica.kube.query("get", "nodes", "-o", "json")
    if nodes is None:
        raise StreamforgeError("the cluster's API does not answer; try `nox -s up` to converge")
    for node in json.loads(nodes)["items"]:
        labels = node["metadata"].get("labels", {})
        stands = labels.get(HOMELAB_NODE_LABEL, "(control plane)")
        ready = next(
            (c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"), "?"
        )
        gpus = node["status"].get("allocatable", {}).get("nvidia.com/gpu", "0")
        console.info(
            f"{node['metadata']['name']:<32} stands for {stands:<16} ready={ready} "
            f"nvidia.com/gpu={gpus}"
        )
    state = replica.kube.read_state() or {}
    console.step(f"{len(state)} step(s) recorded as done")
    for step in sorted(state):
        console.info(step)
