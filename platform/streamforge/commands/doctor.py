"""`doctor`: can this machine run the replica? Each check says what is wrong and the fix."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.tools import ToolError, platform_key, resolve
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider

MIN_CPUS = 4
MIN_MEMORY_GIB = 8
# kind's known-issues page: too few inotify watches/instances make pods crash-loop
MIN_INOTIFY = {"max_user_watches": 524288, "max_user_instances": 512}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    fatal: bool = True


def _docker() -> Check:
    try:
        return Check("docker", True, f"engine {docker_host.check_engine()} answers")
    except docker_host.DockerUnavailable as exc:
        return Check("docker", False, str(exc).split(";")[0], str(exc).split(";", 1)[-1].strip())


def _cpus() -> Check:
    count = os.cpu_count() or 1
    return Check(
        "cpu",
        count >= MIN_CPUS,
        f"{count} CPUs",
        f"give Docker at least {MIN_CPUS} CPUs (the replica still starts, slowly)",
        fatal=False,
    )


def _memory() -> Check:
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return Check(
            "memory", True, "not Linux: check Docker Desktop's memory setting", fatal=False
        )
    kib = int(
        next(
            line.split()[1]
            for line in meminfo.read_text().splitlines()
            if line.startswith("MemTotal")
        )
    )
    gib = kib / 1024 / 1024
    return Check(
        "memory",
        gib >= MIN_MEMORY_GIB,
        f"{gib:.1f} GiB",
        f"the replica wants {MIN_MEMORY_GIB} GiB; use `--profile minimal`",
        fatal=False,
    )


def _inotify() -> list[Check]:
    checks = []
    for key, minimum in MIN_INOTIFY.items():
        path = Path(f"/proc/sys/fs/inotify/{key}")
        if not path.is_file():
            continue
        value = int(path.read_text())
        checks.append(
            Check(
                f"inotify {key}",
                value >= minimum,
                str(value),
                f"sudo sysctl fs.inotify.{key}={minimum}",
            )
        )
    return checks


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(provider: KindProvider) -> list[Check]:
    """Each host port the replica needs: free, held by the replica itself (its registry,
    labelled io.streamforge.managed, or a node of its kind cluster), or held by something
    else (a foreign container, by name, or another process): only the last fails."""
    checks = []
    for label, port in (
        ("http", provider.http_port),
        ("https", provider.https_port),
        ("registry", provider.registry_port),
    ):
        name = f"port {port}"
        where = f"{label} on 127.0.0.1:{port}"
        if port_free(port):
            checks.append(Check(name, True, f"{where}: free"))
            continue
        holder = _holder(port)
        if holder is not None and _ours(holder[1], provider.cluster_name):
            checks.append(Check(name, True, f"{where}: held by the replica's {holder[0]}"))
            continue
        who = f"container {holder[0]}, not this project's" if holder else "another process"
        checks.append(
            Check(
                name,
                False,
                f"{where}: held by {who}",
                (f"`docker rm -f {holder[0]}` if you do not need it, or " if holder else "")
                + f"free port {port} or set provider.{label}_port in envs/local.yaml",
            )
        )
    return checks


def _holder(port: int) -> tuple[str, dict[str, str]] | None:
    try:
        return docker_host.port_holder(port)
    except Exception:  # no engine answering: the docker check reports that
        return None


def _ours(labels: dict[str, str], cluster: str) -> bool:
    return (
        labels.get(next(iter(docker_host.MANAGED))) == "true"
        or labels.get(docker_host.KIND_CLUSTER_LABEL) == cluster
    )


def _tools() -> list[Check]:
    """Each pinned tool: found here (pass), or what `up` will do about it. A tool `up` would
    download is a warning, never a failure; the helm image passes only if docker has it."""
    checks = []
    for name in ("kind", "helm", "kubectl"):
        tool = pins().tools[name]
        want = tool.version
        try:
            found = resolve(name, allow_download=False)
        except ToolError as exc:
            if name == "kubectl" or not tool.sha256.get(platform_key()):
                checks.append(Check(name, False, f"{want} not installed", str(exc)))
            else:
                checks.append(_download_warning(name, want))
            continue
        if found.source != "container":
            checks.append(Check(name, True, f"{want}: {found}"))
        elif _image_present(found.command[0]):
            checks.append(Check(name, True, f"{want}: {found}, image present"))
        else:
            checks.append(
                Check(
                    name,
                    False,
                    f"{want} not installed, and its image {found.command[0]} is not in docker",
                    _download_fix(name)
                    + f"; or load the image (`docker pull {found.command[0]}` needs a registry)",
                    fatal=False,
                )
            )
    return checks


def _cgroup() -> Check:
    """kubelet 1.35+ refuses cgroup v1 unless configured not to; `up` adds that patch to the kind
    config on a v1 host, but v1 is in maintenance mode upstream (KEP-4569)."""
    version = docker_host.cgroup_version()
    if version is None:
        return Check("cgroup", True, "version unknown (Docker does not say)", fatal=False)
    return Check(
        "cgroup",
        version == 2,
        f"v{version}" + (" (up sets kubelet failCgroupV1: false)" if version == 1 else ""),
        "boot the host (or WSL2 / the Docker VM) with cgroup v2: kernel parameter "
        "systemd.unified_cgroup_hierarchy=1",
        fatal=False,
    )


def _download_fix(name: str) -> str:
    return (
        f"`nox -s up` downloads it (checksum-verified) where the internet is reachable; "
        f"offline, set STREAMFORGE_{name.upper()}=/path/to/{name}"
    )


def _download_warning(name: str, want: str) -> Check:
    return Check(name, False, f"{want} not installed yet", _download_fix(name), fatal=False)


def _image_present(image: str) -> bool:
    """`docker image inspect`: is the image in the local engine (no pull)?"""
    try:
        return docker_host.image_exists(image)
    except Exception:  # no engine answering: the docker check reports that
        return False


def _disk() -> Check:
    free = shutil.disk_usage(Path.home()).free / 1024**3
    return Check(
        "disk", free >= 20, f"{free:.0f} GiB free", "free at least 20 GiB for images", fatal=False
    )


def checks(provider: KindProvider) -> list[Check]:
    """Every check, in order; the port checks find out who holds each port."""
    probes: list[Callable[[], Check | list[Check]]] = [
        _docker,
        _cpus,
        _memory,
        _inotify,
        lambda: _ports(provider),
        _tools,
        _cgroup,
        _disk,
    ]
    found: list[Check] = []
    for probe in probes:
        result = probe()
        found.extend(result if isinstance(result, list) else [result])
    return found


def report(found: list[Check]) -> None:
    for check in found:
        label, style = (
            ("ok   ", "green")
            if check.ok
            else (("FAIL ", "red") if check.fatal else ("warn ", "yellow"))
        )
        console.mark(label, style, f"{check.name:<28} {check.detail}")
        if not check.ok:
            console.console.print(f"       fix: {check.fix}", markup=False)
    failed = [c for c in found if not c.ok and c.fatal]
    if failed:
        raise StreamforgeError(
            f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}"
        )
