"""Images and releases of services: the unified base image, a service's image FROM it, the push
to the replica's registry and the `helm upgrade --install` of the common chart.

`streamforge base-image` builds the base image; `streamforge deploy <service>` builds, pushes
and installs one service into the replica; `up` runs `replica_steps` for every service after
the components.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.build import build_image
from streamforge.plan.steps import Step, digest
from streamforge.render import image_refs, services

if TYPE_CHECKING:
    from streamforge.execute.replica import Replica

WAIT_SECONDS = 300


def build_base(root: Path) -> str:
    """Build platform/Dockerfile as streamforge/base:<content hash> and :dev; return the tag."""
    tag = image_refs.base_image(root)
    build_image(
        "base-image",
        root,
        root / "platform" / "Dockerfile",
        [tag, f"{image_refs.BASE_IMAGE}:dev"],
        {"BASE_IMAGE": image_refs.python_base()},
        docker_host.MANAGED,
    )
    return tag


def ensure_base(root: Path) -> str:
    tag = image_refs.base_image(root)
    if not docker_host.image_exists(tag):
        console.step(f"building the base image {tag}")
        build_base(root)
    return tag


def build_service(root: Path, name: str, ref: str, base: str) -> None:
    """Build services/<name>/Dockerfile (context: the repository root) FROM `base`."""
    dockerfile = root / "services" / name / "Dockerfile"
    if not dockerfile.is_file():
        raise StreamforgeError(
            f"services/{name} has no Dockerfile; regenerate it from the scaffold "
            f"(`nox -s new_service -- --name {name}` in a scratch checkout) and copy the Dockerfile"
        )
    build_image(
        f"service:{name}", root, dockerfile, [ref], {"BASE_IMAGE": base}, docker_host.MANAGED
    )


def values_path(replica: Replica, name: str) -> Path:
    """The service's rendered chart values (written by the replica's render)."""
    replica.rendered  # noqa: B018 -- renders and writes the files on first use
    return replica.workdir / "rendered" / "values" / "services" / f"{name}.yaml"


def install(replica: Replica, name: str) -> None:
    from streamforge.execute.helm import helm, recover_interrupted

    step = f"service:{name}"
    chart = replica.platform.root / services.CHART
    recover_interrupted(replica.helm, step, name, services.NAMESPACE, replica.context)
    helm(
        replica.helm,
        step,
        [
            "upgrade",
            "--install",
            name,
            str(chart),
            "--namespace",
            services.NAMESPACE,
            # Strimzi's namespace; an env that leaves Strimzi out has none yet
            "--create-namespace",
            "--values",
            str(values_path(replica, name)),
            "--kube-context",
            replica.context,
            "--wait",
            "--timeout",
            f"{WAIT_SECONDS}s",
        ],
        f"inspect with `kubectl --context {replica.context} -n {services.NAMESPACE} describe "
        f"deploy/{name}` and its pods' logs; /readyz stays 503 until Kafka accepts the user",
    )


def deploy_to_replica(replica: Replica, name: str) -> str:
    """Build, push and install one service; return its image reference."""
    ref = image_refs.service_image(replica.platform, name)
    build_service(replica.platform.root, name, ref, replica.base_tag)
    docker_host.push(f"service:{name}", ref)
    install(replica, name)
    console.info(
        f"{name}: https://{replica.platform.services[name].hostname}.{replica.platform.env.domain}"
    )
    return ref


def _step(replica: Replica, name: str) -> None:
    deploy_to_replica(replica, name)


def _inputs(replica: Replica, name: str) -> str:
    platform = replica.platform
    return digest(
        services.chart_values(platform, platform.services[name]),
        replica.base_tag,
        image_refs.service_image(platform, name),
    )


def service_drift(replica: Replica, name: str) -> str | None:
    """None when the service's image is in the registry and its release is deployed and
    ready; else what drifted."""
    from streamforge.execute.helm import release_drift

    return replica.image_drift(image_refs.service_image(replica.platform, name)) or release_drift(
        replica.helm, replica.kube, name, services.NAMESPACE
    )


def replica_steps(replica: Replica) -> list[Step]:
    """One `up` step per service, after the components: image, push, helm release."""
    return [
        Step(
            f"service:{name}",
            f"service {name}: build, push, install the common chart in {services.NAMESPACE}",
            partial(_step, replica, name),
            inputs=partial(_inputs, replica, name),
            check=partial(service_drift, replica, name),
        )
        for name in sorted(replica.platform.services)
    ]


def api_groups_used(replica: Replica, name: str) -> set[str]:
    """The API groups of the objects the service's chart renders with its values
    (`helm template`, test hooks skipped)."""
    from ruamel.yaml import YAML

    from streamforge.execute import charts

    manifest = charts.template(
        replica.helm,
        f"service:{name}",
        replica.platform.root / services.CHART,
        name,
        services.NAMESPACE,
        services.chart_values(replica.platform, replica.platform.services[name]),
        replica.platform.env.kubernetes_version,  # the node image's (checked by load)
    )
    return {
        str(doc.get("apiVersion", "")).rpartition("/")[0]
        for doc in YAML(typ="safe", pure=True).load_all(manifest)
        if isinstance(doc, dict)
    } - {""}


def missing_platform(replica: Replica, name: str) -> str | None:
    """None when every component whose API groups (component.yaml `api_groups`) the service's
    objects use is installed in the replica (its step recorded and its API served); else one
    line naming the first missing component and the command that installs it."""
    platform = replica.platform
    used = api_groups_used(replica, name)
    state = replica.kube.read_state() or {}
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
        served = replica.kube.query("api-resources", "--api-group", group, "-o", "name")
        if f"component:{comp_name}" not in state or not (served or "").strip():
            return (
                f"service {name} needs component '{comp_name}' (API group {group}), which is not "
                f"installed in kind-{replica.name}; install it with `nox -s up`"
            )
    return None


# -- CLI -------------------------------------------------------------------------------------


def cmd_base_image(args: argparse.Namespace) -> None:
    from streamforge.model.load import find_root

    root = find_root()
    docker_host.check_engine()
    tag = build_base(root)
    console.info(f"built {tag} and {image_refs.BASE_IMAGE}:dev FROM {image_refs.python_base()}")


def deploy_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", help="a folder name under services/")
    p.add_argument("--dry-run", action="store_true", help="print what would run, change nothing")


def cmd_deploy(args: argparse.Namespace) -> None:
    from streamforge.execute.replica import Replica
    from streamforge.model.load import find_root, load_platform

    platform = load_platform(find_root(), args.env)
    if args.service not in platform.services:
        known = ", ".join(sorted(platform.services)) or "none yet"
        raise StreamforgeError(
            f"no service named '{args.service}' under services/ (known: {known}); "
            "create one with `nox -s new_service -- --name <name>`"
        )
    replica = Replica(platform)
    ref = image_refs.service_image(platform, args.service)
    if args.dry_run:
        console.step(f"deploy {args.service} to kind-{replica.name} (dry run)")
        console.info(f"1. base image {replica.base_tag} (built if missing)")
        console.info(f"2. build {ref} from services/{args.service}/Dockerfile")
        console.info(f"3. docker push {ref}")
        console.info(
            f"4. helm upgrade --install {args.service} {services.CHART} -n {services.NAMESPACE} "
            f"--values {replica.workdir}/rendered/values/services/{args.service}.yaml --wait"
        )
        return
    docker_host.check_engine()
    if not replica.cluster_exists():
        raise StreamforgeError(
            f"no kind cluster '{replica.name}'; bring the replica up first with `nox -s up`"
        )
    missing = missing_platform(replica, args.service)  # before building anything
    if missing:
        raise StreamforgeError(missing)
    ensure_base(platform.root)
    deploy_to_replica(replica, args.service)
