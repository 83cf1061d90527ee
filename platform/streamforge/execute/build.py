"""Image builds with BuildKit, so that an extra CA bundle (for TLS-intercepting proxies) can be
passed as a build secret and never lands in a layer.

buildx (Docker Desktop, docker-ce) is used through python-on-whales; where the CLI has no
buildx, an older docker client with built-in BuildKit (Debian's docker.io 20.10) is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from streamforge import run
from streamforge.errors import StreamforgeError

EXTRA_CA_ENV = "STREAMFORGE_EXTRA_CA"
SECRET_ID = "extra_ca"


def extra_ca() -> Path | None:
    value = os.environ.get(EXTRA_CA_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise StreamforgeError(
            f"{EXTRA_CA_ENV}={value} is not a file; point it at a PEM CA bundle or unset it"
        )
    return path


def _has_buildx() -> bool:
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    return probe.returncode == 0


def _builtin_buildkit_client() -> str | None:
    """A docker client older than 23 does BuildKit itself (DOCKER_BUILDKIT=1)."""
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if not candidate or not Path(candidate).is_file():
            continue
        out = subprocess.run(
            [candidate, "version", "--format", "{{.Client.Version}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if out and out.split(".")[0].isdigit() and int(out.split(".")[0]) < 23:
            return candidate
    return None


def build_image(
    step: str,
    context: Path,
    dockerfile: Path,
    tags: list[str],
    build_args: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> None:
    ca = extra_ca()
    secrets = [f"id={SECRET_ID},src={ca}"] if ca else []
    fix = f"read the build output above; behind a TLS-intercepting proxy set {EXTRA_CA_ENV}"
    if _has_buildx():
        from python_on_whales import docker
        from python_on_whales.exceptions import DockerException

        try:
            docker.buildx.build(
                context,
                file=dockerfile,
                tags=tags,
                build_args=dict(build_args),
                labels=dict(labels or {}),
                secrets=secrets,
                load=True,
            )
        except DockerException as exc:
            raise run_error(step, exc, fix) from exc
        return
    client = _builtin_buildkit_client()
    if client is None:
        raise StreamforgeError(
            "image builds need BuildKit: install the buildx plugin "
            "(docker-buildx-plugin) or use Docker Desktop"
        )
    command = [client, "build", "--progress=plain", "-f", str(dockerfile)]
    for tag in tags:
        command += ["-t", tag]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    for key, value in (labels or {}).items():
        command += ["--label", f"{key}={value}"]
    for secret in secrets:
        command += ["--secret", secret]
    run.run(step, [*command, str(context)], fix, env={"DOCKER_BUILDKIT": "1"})


def run_error(step: str, exc: Exception, fix: str) -> StreamforgeError:
    from streamforge.errors import StepError

    return StepError(step, "docker buildx build", getattr(exc, "stderr", "") or str(exc), fix)
