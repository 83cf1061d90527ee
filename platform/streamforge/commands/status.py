"""`status`: the replica's registry, cluster, nodes, every step of `up` (done / not done /
drifted, looked at as `up` would), the helm releases with their state; non-zero exit when the
replica is incomplete or drifted. Also what `status` and `down` use to find the cluster without
downloading anything."""

from __future__ import annotations

import json

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.replica import Replica
from streamforge.execute.tools import ToolError, resolve
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform
from streamforge.plan import steps as plan
from streamforge.plan.steps import Step, Verdict


def use_local(replica: Replica, tool: str) -> bool:
    """Point `replica` at a `tool` binary (kind, helm) already on this machine (override, PATH,
    cache), never a download; False if there is none. Inspecting or removing a replica must
    work offline."""
    try:
        replica.__dict__[tool] = resolve(tool, allow_download=False)
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
    if use_local(replica, "kind"):
        replica.down()
        return
    if docker_host.kind_node_containers(replica.name):
        raise StreamforgeError(no_kind_here(replica))
    console.info(f"no kind cluster named '{replica.name}': nothing to delete")
    replica.remove_registry_and_report()


def show(platform: Platform) -> None:
    """Print the replica's state; raise StreamforgeError (exit 1) naming what `up` would do
    when it is absent, incomplete or drifted."""
    replica = Replica(platform)
    docker_host.check_engine()
    registry = "running" if docker_host.registry_running() else "not running"
    console.step(f"registry {docker_host.REGISTRY}: {registry}")
    absent = f"kind cluster '{replica.name}': absent"
    if not use_local(replica, "kind"):
        if docker_host.kind_node_containers(replica.name):
            raise StreamforgeError(no_kind_here(replica))
        raise StreamforgeError(f"{absent}; `nox -s up` creates the replica")
    if not replica.cluster_exists():
        raise StreamforgeError(f"{absent}; `nox -s up` creates the replica")
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
    use_local(replica, "helm")
    releases(replica)
    replica.load_state()
    verdicts = step_verdicts(replica.steps(), replica.state)
    for line in verdict_lines(verdicts):
        console.info(line)
    problem = incomplete(verdicts)
    if problem:
        raise StreamforgeError(problem)
    console.step(f"all {len(verdicts)} steps done: the replica is as `up` left it")


def releases(replica: Replica) -> None:
    """Print every helm release in the replica with its state and revision."""
    from streamforge.execute.helm import releases as helm_releases

    try:
        found = helm_releases(replica.helm, replica.context)
    except (StreamforgeError, ToolError) as exc:
        console.step(f"helm releases: cannot list them ({str(exc).splitlines()[0]})")
        return
    console.step(f"{len(found)} helm release(s)")
    for release in sorted(found, key=lambda r: (r["namespace"], r["name"])):
        console.info(
            f"{release['namespace'] + '/' + release['name']:<40} {release['status']:<10} "
            f"revision {release['revision']:<3} {release['chart']}"
        )


def step_verdicts(steps: list[Step], state: plan.State) -> list[tuple[str, Verdict]]:
    """(step name, verdict) for each of `steps` that records or checks anything, in order,
    as `up` would find them now against `state`. A check that cannot look counts as
    drifted."""
    found: list[tuple[str, Verdict]] = []
    rerun: set[str] = set()
    for step in steps:
        try:
            verdict = plan.assess(step, state, rerun)
        except StreamforgeError as exc:
            verdict = Verdict(plan.DRIFTED, f"cannot check: {str(exc).splitlines()[0]}")
        if verdict.status == plan.ALWAYS:
            continue
        if verdict.runs:
            rerun.add(step.name)
        found.append((step.name, verdict))
    return found


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
    not_done = sum(1 for _, _, v in waiting if v.status == plan.NOT_DONE)
    drifted = len(waiting) - not_done
    first, name, _ = waiting[0]
    return (
        f"the replica is incomplete or drifted: {not_done} step(s) not done, {drifted} "
        f"drifted; `up` would start at step {first} of {len(verdicts)} ({name}). "
        "Run `nox -s up` to converge it"
    )
