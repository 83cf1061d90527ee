"""helm, either as a binary or (where no pinned binary can be had) in the pinned helm image
through python-on-whales."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from streamforge import console, run
from streamforge.errors import StepError
from streamforge.tools import Resolved


def helm(tool: Resolved, step: str, args: Sequence[str], fix: str, quiet: bool = False) -> str:
    if tool.source != "container":
        return run.run(step, [*tool.command, *args], fix, quiet=quiet)
    return _in_container(tool.command[-1], step, list(args), fix, quiet)


def _in_container(image: str, step: str, args: list[str], fix: str, quiet: bool) -> str:
    from python_on_whales import docker
    from python_on_whales.exceptions import DockerException

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
