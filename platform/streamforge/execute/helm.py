"""helm, either as a binary or (where no pinned binary can be had) in the pinned helm image
through python-on-whales."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streamforge import console, run
from streamforge.errors import StepError, failure_classes
from streamforge.execute.tools import Resolved

if TYPE_CHECKING:
    from streamforge.execute.kube import Kube


def helm(tool: Resolved, step: str, args: Sequence[str], fix: str, quiet: bool = False) -> str:
    if tool.source != "container":
        return run.run(step, [*tool.command, *args], fix, quiet=quiet)
    return _in_container(tool.command[-1], step, list(args), fix, quiet)


def _in_container(image: str, step: str, args: list[str], fix: str, quiet: bool) -> str:
    from python_on_whales import docker
    from python_on_whales.exceptions import DockerException

    if not docker.image.exists(image):
        # pulled here, not by `docker run`: its pull error goes to the terminal, not to us
        try:
            docker.image.pull(image, quiet=True)
        except DockerException as exc:
            fix = (
                f"helm is not available: no helm binary of the pinned version, and Docker can "
                f"neither find nor pull its image {image}; put the pinned helm on PATH or set "
                "STREAMFORGE_HELM=/path/to/helm (`nox -s doctor` checks it)"
            )
            raise StepError(
                step,
                f"docker pull {image}",
                exc.stderr or "",
                fix,
                dict.fromkeys(failure_classes(), fix),
            ) from None
    kubeconfig = Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))
    cwd = Path.cwd()
    volumes: list[tuple[Path, str] | tuple[Path, str, str]] = [(cwd, str(cwd))]
    if kubeconfig.is_file():
        volumes.append((kubeconfig, "/root/.kube/config", "ro"))
    # paths in args (charts, values files) must resolve inside the container too; `helm pull`
    # writes into its --destination
    for previous, arg in zip(["", *args], args, strict=False):
        path = Path(arg)
        if path.is_absolute() and path.exists() and not path.is_relative_to(cwd):
            volumes.append((path, str(path), "rw" if previous == "--destination" else "ro"))
    lines: list[str] = []
    try:
        for _source, raw in docker.run(
            image,
            args,
            volumes=volumes,
            workdir=str(cwd),
            networks=["host"],
            remove=True,
            stream=True,
        ):
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if not quiet:
                console.info(line)
    except DockerException as exc:
        output = "\n".join(lines) + "\n" + (exc.stderr or "")
        raise StepError(step, f"docker run {image} {' '.join(args)}", output, fix) from exc
    return "\n".join(lines)


def releases(tool: Resolved, context: str) -> list[dict[str, str]]:
    """Every helm release in the cluster of `context`, in any state (`helm list -A -a -o json`:
    name, namespace, revision, status, chart, app_version). Raises StepError when helm cannot
    reach the cluster."""
    out = helm(
        tool,
        "status",
        ["list", "--all-namespaces", "--all", "--output", "json", "--kube-context", context],
        "is the cluster running? `nox -s status`",
        quiet=True,
    )
    lines = out.strip().splitlines()
    found = json.loads(lines[-1]) if lines else []
    return [{k: str(v) for k, v in item.items()} for item in found or []]


def find_release(tool: Resolved, context: str, name: str, namespace: str) -> dict[str, str] | None:
    """Helm release `name` in `namespace` as `releases` lists it, or None if there is none."""
    return next(
        (r for r in releases(tool, context) if r["name"] == name and r["namespace"] == namespace),
        None,
    )


def release_drift(tool: Resolved, kube: Kube, name: str, namespace: str) -> str | None:
    """None when helm release `name` in `namespace` is deployed and every Deployment,
    StatefulSet and DaemonSet of its manifest is ready (what `helm upgrade --wait` left);
    else what drifted (one line)."""
    found = find_release(tool, kube.context, name, namespace)
    if found is None:
        return f"helm release {namespace}/{name} is not installed"
    if found["status"] != "deployed":
        return (
            f"helm release {namespace}/{name} is {found['status']} (revision {found['revision']})"
        )
    manifest = helm(
        tool,
        "status",
        ["get", "manifest", name, "--namespace", namespace, "--kube-context", kube.context],
        "is the cluster running? `nox -s status`",
        quiet=True,
    )
    return kube.workloads_drift(manifest, namespace)


def recover_interrupted(tool: Resolved, step: str, name: str, namespace: str, context: str) -> None:
    """Make a release that an interrupted helm left `pending-*` upgradable again.

    Helm records a release as pending-install/-upgrade/-rollback while it works (and, with
    --wait, until the workloads are ready); a helm killed then leaves it so, and every later
    `helm upgrade` fails with "another operation (install/upgrade/rollback) is in progress"
    (Helm 3 release states). A pending upgrade or rollback goes back to the last deployed revision
    (`helm rollback`); a pending first install, which has none, is uninstalled. Raises
    StepError when helm cannot do either."""
    found = find_release(tool, context, name, namespace)
    if found is None or not found["status"].startswith("pending-"):
        return
    console.info(f"helm release {namespace}/{name} was left {found['status']}: recovering it")
    where = ["--namespace", namespace, "--kube-context", context, "--wait"]
    fix = f"recover it by hand: `helm --kube-context {context} -n {namespace} history {name}`"
    if found["status"] == "pending-install":
        helm(tool, step, ["uninstall", name, *where], fix, quiet=True)
    else:
        helm(tool, step, ["rollback", name, *where], fix, quiet=True)
