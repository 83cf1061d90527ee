"""`status`: the replica's cluster, nodes, registry, releases and recorded steps; and what
`status` and `down` use to find the cluster without downloading anything."""

from __future__ import annotations

import json

from streamforge import console, docker_host
from streamforge.errors import StreamforgeError
from streamforge.load import HOMELAB_NODE_LABEL, Platform
from streamforge.replica import Replica
from streamforge.tools import ToolError, resolve

# The label kind puts on every node container of a cluster (kind's pkg/cluster/constants).
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def kind_node_containers(cluster: str) -> list[str]:
    """The docker containers of kind cluster `cluster`, found by kind's label (no kind needed)."""
    from python_on_whales import docker

    found = docker.container.list(all=True, filters=[("label", f"{KIND_CLUSTER_LABEL}={cluster}")])
    return sorted(c.name for c in found)


def use_local_kind(replica: Replica) -> bool:
    """Point `replica` at a kind binary already on this machine (override, PATH, cache), never
    a download; False if there is none. Inspecting or removing a replica must work offline."""
    try:
        replica.__dict__["kind"] = resolve("kind", allow_download=False)
    except ToolError:
        return False
    return True


def no_kind_here(replica: Replica) -> str:
    """Why nothing can be done about a cluster whose node containers exist but no kind binary
    is here, and the fix."""
    return (
        f"kind cluster '{replica.name}' has node containers but no kind binary is on this "
        "machine to manage it; set STREAMFORGE_KIND=/path/to/kind, or run the command again "
        "where the internet is reachable (kind is downloaded, checksum-verified)"
    )


def down(replica: Replica) -> None:
    """`down` with the kind that is here; without one, there is nothing to delete unless kind
    node containers exist."""
    docker_host.check_engine()
    if use_local_kind(replica):
        replica.down()
        return
    if kind_node_containers(replica.name):
        raise StreamforgeError(no_kind_here(replica))
    console.info(f"no kind cluster named '{replica.name}': nothing to delete")
    if docker_host.remove_registry():
        console.info(f"removed container {docker_host.REGISTRY}")


def show(platform: Platform) -> None:
    replica = Replica(platform)
    docker_host.check_engine()
    registry = "running" if docker_host.registry_running() else "not running"
    console.step(f"registry {docker_host.REGISTRY}: {registry}")
    if not use_local_kind(replica):
        if kind_node_containers(replica.name):
            raise StreamforgeError(no_kind_here(replica))
        console.step(f"kind cluster '{replica.name}': absent (`nox -s up` creates it)")
        return
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
