"""`streamforge base-image` builds the unified base image; `streamforge deploy <service>` runs
`up`'s plan filtered to one service (its image FROM the base image, pushed, and its release of
the common chart) against a running replica, after checking that the components the service's
objects need are installed."""

from __future__ import annotations

import argparse

from ruamel.yaml import YAML

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import charts, docker_host, images
from streamforge.execute.drivers import Drivers
from streamforge.execute.executor import execute
from streamforge.model.facts import kafka
from streamforge.model.load import Platform, find_root, load_platform
from streamforge.plan.steps import State, describe
from streamforge.plan.up import plan_deploy
from streamforge.render import image_refs, services


def api_groups_used(drivers: Drivers, name: str) -> set[str]:
    """The API groups of the objects the service's chart renders with its values
    (`helm template`, test hooks skipped)."""
    platform = drivers.platform
    manifest = charts.template(
        drivers.tool("helm"),
        f"service:{name}",
        platform.root / services.CHART,
        name,
        kafka(platform).namespace,
        services.chart_values(platform, platform.services[name]),
        platform.env.kubernetes_version,  # the node image's (checked by load)
    )
    return {
        str(doc.get("apiVersion", "")).rpartition("/")[0]
        for doc in YAML(typ="safe", pure=True).load_all(manifest)
        if isinstance(doc, dict)
    } - {""}


def missing_platform(drivers: Drivers, name: str) -> str | None:
    """None when every component whose API groups (component.yaml `api_groups`) the service's
    objects use is installed in the replica (its step recorded and its API served); else one
    line naming the first missing component and the command that installs it."""
    platform = drivers.platform
    used = api_groups_used(drivers, name)
    state = drivers.kube.read_state() or {}
    for comp_name, comp in sorted(platform.components.items()):
        needed = sorted(used & set(comp.api_groups))
        if not needed:
            continue
        group = needed[0]
        if comp_name not in platform.enabled:
            return (
                f"service {name} needs component '{comp_name}' (API group {group}), which the "
                f"profile '{platform.env.profile}' leaves out; install it with "
                f"`nox -s up -- --profile {comp.profile}`"
            )
        served = drivers.kube.query("api-resources", "--api-group", group, "-o", "name")
        if f"component:{comp_name}" not in state or not (served or "").strip():
            return (
                f"service {name} needs component '{comp_name}' (API group {group}), which is not "
                f"installed in kind-{drivers.name}; install it with `nox -s up`"
            )
    return None


def deploy(platform: Platform, service: str, *, dry: bool = False) -> None:
    """Build, push and install `service` into the running replica (or, `dry`, print the steps).
    Raises StreamforgeError for an unknown service, no cluster, or a missing component."""
    if service not in platform.services:
        known = ", ".join(sorted(platform.services)) or "none yet"
        raise StreamforgeError(
            f"no service named '{service}' under services/ (known: {known}); "
            "create one with `nox -s new_service -- --name <name>`"
        )
    drivers = Drivers(platform)
    if dry:
        steps = plan_deploy(platform, service)
        console.step(f"deploy {service} to kind-{drivers.name} (dry run: nothing is changed)")
        for line in describe(steps):
            console.info(line)
        return
    docker_host.check_engine()
    # without a kind binary here there is no cluster to deploy to: say so, download nothing
    if not drivers.use_local("kind") or not drivers.cluster.exists():
        raise StreamforgeError(
            f"no kind cluster '{drivers.name}'; bring the replica up first with `nox -s up`"
        )
    missing = missing_platform(drivers, service)  # before building anything
    if missing:
        raise StreamforgeError(missing)
    steps = plan_deploy(platform, service)
    execute(steps, State(drivers.load_state(), save=drivers.kube.write_state), drivers)


# -- CLI -------------------------------------------------------------------------------------


def cmd_base_image(args: argparse.Namespace) -> None:
    root = find_root()
    docker_host.check_engine()
    tag = images.build_base(root)
    console.info(f"built {tag} and {image_refs.BASE_IMAGE}:dev FROM {image_refs.python_base()}")


def deploy_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", help="a folder name under services/")
    p.add_argument("--dry-run", action="store_true", help="print what would run, change nothing")


def cmd_deploy(args: argparse.Namespace) -> None:
    deploy(load_platform(find_root(), args.env), args.service, dry=args.dry_run)
