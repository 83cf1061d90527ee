"""`up` and `down`.

`up` reads like the architecture: load the env -> ensure the host (preflight, base image,
registry, cluster) and read its facts -> render once, in memory -> a pure plan -> execute it
with the drivers. `down` removes what `up` created, and only that.
"""

from __future__ import annotations

from dataclasses import replace

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host, registry
from streamforge.execute.charts import chart_cache
from streamforge.execute.drivers import Drivers
from streamforge.execute.executor import execute
from streamforge.execute.tools import internet_problem
from streamforge.model.load import Platform
from streamforge.plan.steps import State, Step, describe
from streamforge.plan.up import kind_provider, plan_host, plan_up, shared_dir
from streamforge.render import kind
from streamforge.render.context import Facts
from streamforge.render.env import render


def host_facts(platform: Platform) -> Facts:
    """The facts known before the cluster exists: cgroup version, node image, RWX folder.
    Raises StreamforgeError for a bad STREAMFORGE_KIND_NODE_IMAGE."""
    provider = kind_provider(platform)
    return Facts(
        rwx_host_dir=str(shared_dir(provider)),
        cgroup_version=docker_host.cgroup_version() or 2,
        node_image=docker_host.node_image_override(),
    )


def with_network(facts: Facts) -> Facts:
    """`facts` with the kind network's subnet, once kind has made the network."""
    subnet = docker_host.kind_subnet()
    return replace(facts, kind_subnet=subnet) if subnet else facts


def whole_plan(platform: Platform, facts: Facts) -> list[Step]:
    """Both plans of `up` for `facts`, in the order `up` runs them."""
    return plan_host(platform, kind.render(platform, facts)) + plan_up(
        platform, render(platform, facts)
    )


def dry_run(platform: Platform, facts: Facts) -> None:
    """Print the steps `up` would take; change nothing, need neither Docker nor a tool (the
    kind network's usual subnet stands in for the real one)."""
    steps = whole_plan(platform, facts)
    console.step(f"plan for env '{platform.env.name}' (dry run: nothing is changed)")
    for line in describe(steps):
        console.info(line)


def up(platform: Platform, *, offline: bool = False, dry: bool = False) -> dict[str, int]:
    """Bring the replica of `platform`'s env up, or converge it; return the executor's
    counts. Raises StreamforgeError (with a fix) on the first step that fails, and before any
    change for a same-named cluster of someone else's or one created from another kind
    config."""
    if not dry:
        docker_host.check_engine()  # fail in seconds, before anything else
    facts = host_facts(platform)  # a bad STREAMFORGE_KIND_NODE_IMAGE stops even --dry-run
    if offline:  # before anything changes
        from streamforge.commands import offline as offline_check

        offline_check.check_up(platform, facts)
        console.info("offline: the tools, the base image and both caches hold what up needs")
    if dry:
        dry_run(platform, facts)
        return {}
    unreachable = None if offline else internet_problem()
    if unreachable:  # say it once, up front; steps that need nothing from the internet still run
        console.step(unreachable)
    drivers = Drivers(platform)
    kind_config = kind.render(platform, facts)
    state = State(drivers.load_state())  # refuses a same-named cluster of someone else's
    if drivers.cluster.exists():
        drivers.cluster.check_config(kind_config)
        drivers.cluster.adopt(kind_config)
    ran: set[str] = set()  # a step that `needs` one of these runs again, in either plan
    counts = execute(plan_host(platform, kind_config), state, drivers, "host", ran)
    rendered = render(platform, with_network(facts))  # the one render, with every fact
    state = State(drivers.load_state(), save=drivers.kube.write_state)
    more = execute(plan_up(platform, rendered), state, drivers, "cluster", ran)
    return {key: counts[key] + more[key] for key in counts}


def down(drivers: Drivers) -> None:
    """Delete what `up` created: the kind cluster (its node containers and their volumes)
    and the registry container (and its anonymous volumes); say what was removed and what
    stays on purpose (the caches). Never downloads a tool: works offline. Raises
    StreamforgeError for a same-named cluster StreamForge did not create."""
    docker_host.check_engine()
    name = drivers.name
    if not drivers.use_local("kind"):
        if docker_host.kind_node_containers(name):
            raise StreamforgeError(no_kind_here(name))
        console.info(f"no kind cluster named '{name}': nothing to delete")
    elif drivers.cluster.exists():
        delete_cluster(drivers)
    else:
        console.info(f"no kind cluster named '{name}'")
    remove_registry_and_report()


def no_kind_here(name: str) -> str:
    """Why nothing can be done about a cluster whose node containers exist but no kind binary
    is here, and the fix."""
    return (
        f"kind cluster '{name}' has node containers but no kind binary is on this "
        "machine to manage it; set STREAMFORGE_KIND=/path/to/kind, or run the command again "
        "where the internet is reachable (kind is downloaded, checksum-verified)"
    )


def delete_cluster(drivers: Drivers) -> None:
    name = drivers.name
    if drivers.kube.read_state() is None:
        raise StreamforgeError(
            f"kind cluster '{name}' has no StreamForge marker (ConfigMap "
            "kube-system/streamforge-state), so it was not created by this project; "
            f"leaving it. Delete it yourself with `kind delete cluster --name {name}`"
        )
    nodes = docker_host.kind_node_containers(name)
    volumes = [v for node in nodes for v in docker_host.anonymous_volumes(node)]
    console.step(f"deleting kind cluster '{name}'")
    drivers.cluster.delete()
    docker_host.remove_volumes(volumes)  # kind removes them; make sure of it
    console.info(
        f"removed kind cluster '{name}': node containers {', '.join(nodes)} and "
        f"their {len(volumes)} volume(s)"
    )


def remove_registry_and_report() -> None:
    if registry.remove_registry():
        console.info(f"removed container {docker_host.REGISTRY}")
    else:
        console.info(f"no registry container {docker_host.REGISTRY} of this project")
    console.info(
        f"kept on purpose: the image cache {registry.image_cache()} and the chart cache "
        f"{chart_cache()} (the next `up` needs no download; delete the folders to free "
        "the space); the docker network 'kind' (kind's, shared by every kind cluster)"
    )
