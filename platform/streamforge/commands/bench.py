"""`streamforge bench`: how long the developer loop takes on this machine's Docker engine.

Prints `name=value` lines:
- base_image_cold_s: platform/Dockerfile without any layer cache (wheels downloaded and built)
- base_image_warm_s: the same build again, everything cached
- base_image_added_mb: what the base image adds to its parent python image
- new_service_s: `new-service` generating a service from the scaffold
- service_image_cold_s: that service's image FROM the base image, without cache
- service_rebuild_s: the same image after a one-line change in the service's code
- rebuild_ratio: service_rebuild_s / service_image_cold_s (the target is < 0.15)

The service is generated into a scratch copy of what its build needs, never into services/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamforge import console
from streamforge.commands import scaffold
from streamforge.errors import StepError, StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.build import SECRET_ID, _builtin_buildkit_client, _has_buildx, extra_ca
from streamforge.render import image_refs

BENCH_SERVICE = "bench-service"
BENCH_BASE = f"{image_refs.BASE_IMAGE}:bench"


def build(context: Path, dockerfile: Path, tag: str, args: dict[str, str], cache: bool) -> str:
    """One image build the way build.build_image does it, with the layer cache on or off;
    returns BuildKit's plain progress output (which says which steps were CACHED)."""
    ca = extra_ca()
    secrets = [f"id={SECRET_ID},src={ca}"] if ca else []
    if _has_buildx():
        command = ["docker", "buildx", "build", "--load"]
    else:
        client = _builtin_buildkit_client()
        if client is None:
            raise StreamforgeError("image builds need BuildKit (buildx or a docker client < 23)")
        command = [client, "build"]
    command += ["--progress=plain", "-f", str(dockerfile), "-t", tag]
    command += [] if cache else ["--no-cache"]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    for secret in secrets:
        command += ["--secret", secret]
    for key, value in docker_host.MANAGED.items():
        command += ["--label", f"{key}={value}"]
    result = subprocess.run(
        [*command, str(context)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise StepError("bench", " ".join(command), tail, "read the build output above")
    return result.stdout + result.stderr


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _image_bytes(ref: str) -> int:
    from python_on_whales import docker

    return int(docker.image.inspect(ref).size)


def run_bench(root: Path) -> dict[str, float]:
    docker_host.check_engine()
    parent = image_refs.python_base()
    dockerfile = root / "platform" / "Dockerfile"
    figures: dict[str, float] = {}
    figures["base_image_cold_s"] = _timed(
        lambda: build(root, dockerfile, BENCH_BASE, {"BASE_IMAGE": parent}, cache=False)
    )
    figures["base_image_warm_s"] = _timed(
        lambda: build(root, dockerfile, BENCH_BASE, {"BASE_IMAGE": parent}, cache=True)
    )
    added = _image_bytes(BENCH_BASE) - _image_bytes(parent)
    figures["base_image_added_mb"] = added / 1_000_000

    with tempfile.TemporaryDirectory(prefix="streamforge-bench-") as scratch:
        context = Path(scratch)
        shutil.copytree(root / scaffold.SCAFFOLD, context / scaffold.SCAFFOLD)
        (context / "services").mkdir()
        (context / "platform" / "components").mkdir(parents=True)
        folder: list[Path] = []
        figures["new_service_s"] = _timed(
            lambda: folder.append(
                scaffold.generate(context, BENCH_SERVICE, output_dir=context / "services")
            )
        )
        service_dockerfile = folder[0] / "Dockerfile"
        tag = f"streamforge/{BENCH_SERVICE}:bench"
        args = {"BASE_IMAGE": BENCH_BASE}
        figures["service_image_cold_s"] = _timed(
            lambda: build(context, service_dockerfile, tag, args, cache=False)
        )
        app = folder[0] / "src" / BENCH_SERVICE.replace("-", "_") / "app.py"
        app.write_text(app.read_text() + "\n# one-line change\n")
        figures["service_rebuild_s"] = _timed(
            lambda: build(context, service_dockerfile, tag, args, cache=True)
        )
    figures["rebuild_ratio"] = figures["service_rebuild_s"] / figures["service_image_cold_s"]
    return figures


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replica",
        action="store_true",
        help="instead: time down, a cold and a warm up, an edit-to-new-pod deploy (bench_replica)",
    )
    p.add_argument("--offline", action="store_true", help="--replica runs `up --offline`")


def cmd_bench(args: argparse.Namespace) -> None:
    from streamforge.model.load import find_root

    if args.replica:
        from streamforge.commands.bench_replica import run_replica_bench

        console.step(f"bench: the replica of env '{args.env}': cold and warm up, inner loop, down")
        for name, value in run_replica_bench(find_root(), args.env, args.offline).items():
            print(f"{name}={value:.1f}")
        return
    console.step("bench: base image cold and warm, a new service, its cold build and rebuild")
    for name, value in run_bench(find_root()).items():
        print(f"{name}={value:.3f}" if name == "rebuild_ratio" else f"{name}={value:.1f}")
