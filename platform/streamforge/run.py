"""Run external commands with streamed, prefixed output and errors that name a fix."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

from streamforge import console
from streamforge.errors import StepError

# A command silent for this long (helm --wait, kind create) gets a "still running" line.
HEARTBEAT_SECONDS = 15.0


def run(
    step: str,
    command: Sequence[str],
    fix: str,
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    quiet: bool = False,
) -> str:
    """Run `command`, echoing its output as it comes; raise StepError with its tail on failure."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            env=full_env,
        )
    except FileNotFoundError as exc:
        raise StepError(step, " ".join(command), "", f"install {command[0]} ({fix})") from exc
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None
    lines: list[str] = []
    started = time.monotonic()
    last_output = [started]  # shared with the heartbeat thread
    finished = threading.Event()

    def heartbeat() -> None:
        while not finished.wait(HEARTBEAT_SECONDS / 3):
            if time.monotonic() - last_output[0] >= HEARTBEAT_SECONDS:
                console.info(f"... {step}: still running ({time.monotonic() - started:.0f}s)")
                last_output[0] = time.monotonic()

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            last_output[0] = time.monotonic()
            if not quiet:
                console.info(line)
        code = proc.wait()
    finally:
        finished.set()
    if code != 0:
        raise StepError(step, " ".join(command), "\n".join(lines[-200:]), fix)
    return "\n".join(lines)


def capture(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a short query command quietly (`stdin` fed to it); the caller looks at returncode."""
    return subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=120,
    )
