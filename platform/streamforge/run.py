"""Run external commands with streamed, prefixed output and errors that name a fix."""

from __future__ import annotations

import collections
import os
import subprocess
from collections.abc import Mapping, Sequence

from streamforge import console
from streamforge.errors import StepError


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
    tail: collections.deque[str] = collections.deque(maxlen=200)
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
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        lines.append(line)
        if not quiet:
            console.info(line)
    if proc.wait() != 0:
        raise StepError(step, " ".join(command), "\n".join(tail), fix)
    return "\n".join(lines)


def capture(
    command: Sequence[str], *, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a short query command quietly; the caller looks at returncode."""
    return subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
