"""`status`: the replica's registry, cluster, nodes, every step of `up` (done / not done /
drifted, looked at as `up` would), the helm releases with their state; non-zero exit when the
replica is incomplete or drifted. Never downloads a tool: it works offline."""

from __future__ import annotations

import json

from streamforge import console
from streamforge.commands.up import host_facts, no_kind_here, whole_plan, with_network
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host, registry
from streamforge.execute.drivers import Drivers
from streamforge.execute.executor import verdicts as step_verdicts
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform
from streamforge.plan.steps import NOT_DONE, State, Verdict
from streamforge.render import kind


def show(platform: Platform) -> None:
    """Print the replica's state; raise StreamforgeError (exit 1) naming what `up` would do
    when it is absent, incomplete or drifted."""
    drivers = Drivers(platform, allow_download=False)
    docker_host.check_engine()
    running = "running" if registry.registry_running() else "not running"
    console.step(f"registry {docker_host.REGISTRY}: {running}")
    absent = f"kind cluster '{drivers.name}': absent"
    if not drivers.use_local("kind"):
        if docker_host.kind_node_containers(drivers.name):
            raise StreamforgeError(no_kind_here(drivers.name))
        raise StreamforgeError(f"{absent}; `nox -s up` creates the replica")
    if not drivers.cluster.exists():
        raise StreamforgeError(f"{absent}; `nox -s up` creates the replica")
    console.step(f"kind cluster '{drivers.name}': running (context {drivers.context})")
    nodes = drivers.kube.query("get", "nodes", "-o", "json")
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
    releases(drivers)
    facts = host_facts(platform)
    drivers.cluster.check_config(kind.render(platform, facts))  # `up` would stop on it too
    steps = whole_plan(platform, with_network(facts))
    verdicts = step_verdicts(steps, State(drivers.load_state()), drivers)
    for line in verdict_lines(verdicts):
        console.info(line)
    problem = incomplete(verdicts)
    if problem:
        raise StreamforgeError(problem)
    console.step(f"all {len(verdicts)} steps done: the replica is as `up` left it")


def releases(drivers: Drivers) -> None:
    """Print every helm release in the replica with its state and revision."""
    from streamforge.execute.helm import releases as helm_releases

    try:
        found = helm_releases(drivers.tool("helm"), drivers.context)  # never downloaded here
    except StreamforgeError as exc:  # ToolError names STREAMFORGE_HELM
        console.step(f"helm releases: cannot list them ({str(exc).splitlines()[0]})")
        return
    console.step(f"{len(found)} helm release(s)")
    for release in sorted(found, key=lambda r: (r["namespace"], r["name"])):
        console.info(
            f"{release['namespace'] + '/' + release['name']:<40} {release['status']:<10} "
            f"revision {release['revision']:<3} {release['chart']}"
        )


def verdict_lines(verdicts: list[tuple[str, Verdict]]) -> list[str]:
    return [
        f"{i:2d}. {name:<32} {verdict.status}" + (f": {verdict.reason}" if verdict.reason else "")
        for i, (name, verdict) in enumerate(verdicts, start=1)
    ]


def incomplete(verdicts: list[tuple[str, Verdict]]) -> str | None:
    """None when every step is done; else one line: where `up` stopped, how many steps are
    not done or drifted, and the command that converges the replica."""
    waiting = [(i, n, v) for i, (n, v) in enumerate(verdicts, start=1) if v.runs]
    if not waiting:
        return None
    not_done = sum(1 for _, _, v in waiting if v.status == NOT_DONE)
    drifted = len(waiting) - not_done
    first, name, _ = waiting[0]
    return (
        f"the replica is incomplete or drifted: {not_done} step(s) not done, {drifted} "
        f"drifted; `up` would start at step {first} of {len(verdicts)} ({name}). "
        "Run `nox -s up` to converge it"
    )
