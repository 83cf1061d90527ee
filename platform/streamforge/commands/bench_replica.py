"""`streamforge bench --replica`: how long the replica's lifecycle and the inner loop take.

Drives the real commands a developer runs, in a subprocess each, and prints `name=value` lines:
- replica_up_cold_s: `up` after `down`, with the chart and image caches full (as after
  `nox -s prefetch`): cluster, registry wiring, project images, components, services
- replica_up_warm_s: `up` again, nothing changed
- replica_edit_to_pod_s: a one-line change in services/dummy-service's code until the new pod
  answers on the service's route (`deploy dummy-service` builds, pushes, rolls out; then the
  route is asked until the new build answers: its X-Service-Version is the new image tag)
- replica_down_s: `down`

It replaces the env's replica (a `down` first), and puts the service's code back afterwards.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.render import image_refs

SERVICE = "dummy-service"


def _cli(root: Path, *args: str) -> float:
    """Run `streamforge ARGS`; return its wall time in seconds (StreamforgeError if it fails)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "streamforge.commands.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise StreamforgeError(f"bench: `streamforge {' '.join(args)}` failed:\n{tail}")
    console.info(f"streamforge {' '.join(args)}: {took:.1f}s")
    return took


def _new_build_answers(address: str, port: int, host: str, version: str) -> bool:
    """Does `host`'s route answer /readyz 200 from the build `version` (the image tag the
    common chart passes as SERVICE_VERSION, answered in X-Service-Version)?"""
    request = f"GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection((address, port), timeout=5) as conn:
            conn.sendall(request.encode())
            head = b""
            while b"\r\n\r\n" not in head and (chunk := conn.recv(4096)):
                head += chunk
    except OSError:
        return False
    lines = head.decode("latin-1").split("\r\n")
    return lines[0].startswith("HTTP/1.1 200") and f"X-Service-Version: {version}" in lines


def run_replica_bench(root: Path, env: str, offline: bool) -> dict[str, float]:
    """The figures above for `env` (a kind env); raises StreamforgeError when a command fails."""
    from streamforge.model.load import load_platform

    platform = load_platform(root, env)
    provider = platform.env.provider
    if provider.type != "kind" or SERVICE not in platform.services:
        raise StreamforgeError(f"bench --replica needs a kind env with {SERVICE}; '{env}' is not")
    up = ["up", "--env", env, *(["--offline"] if offline else [])]
    figures: dict[str, float] = {}
    _cli(root, "down", "--env", env)
    figures["replica_up_cold_s"] = _cli(root, *up)
    figures["replica_up_warm_s"] = _cli(root, *up)

    app = root / "services" / SERVICE / "src" / SERVICE.replace("-", "_") / "app.py"
    original = app.read_text()
    host = f"{platform.services[SERVICE].hostname}.{platform.env.domain}"
    try:
        app.write_text(original + f"\n# bench: one-line change {time.time():.0f}\n")
        started = time.perf_counter()
        version = image_refs.service_image(load_platform(root, env), SERVICE).rpartition(":")[2]
        _cli(root, "deploy", SERVICE, "--env", env)
        deadline = time.monotonic() + 120
        while not _new_build_answers("127.0.0.1", provider.http_port, host, version):
            if time.monotonic() > deadline:
                raise StreamforgeError(f"bench: http://{host}/readyz did not answer within 120s")
            time.sleep(0.2)
        figures["replica_edit_to_pod_s"] = time.perf_counter() - started
    finally:
        app.write_text(original)
    figures["replica_down_s"] = _cli(root, "down", "--env", env)
    return figures
