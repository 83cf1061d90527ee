"""run_service in a real process: SIGTERM stops it gracefully; JSON logs on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SERVICE = textwrap.dedent(
    """
    import asyncio, logging, sys
    from streamforge_utils import run_service

    log = logging.getLogger("demo")
    MODE = sys.argv[1]

    async def main(service):
        service.set_ready()
        log.info("ready", extra={"port": service.http_port})
        if MODE == "crash":
            raise RuntimeError("boom")
        try:
            await asyncio.Event().wait()
        finally:
            if MODE == "stubborn":
                await asyncio.shield(asyncio.sleep(30))
            await asyncio.sleep(0.2)  # e.g. a producer flushing
            log.info("cleaned up")

    sys.exit(run_service(main))
    """
)


def start(tmp_path: Path, mode: str, **env: str) -> subprocess.Popen[str]:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    environ = {
        **os.environ,
        "SERVICE_NAME": "shutdown-test",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "SHUTDOWN_TIMEOUT": "5",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def wait_for_log(process: subprocess.Popen[str], message: str) -> list[dict[str, object]]:
    assert process.stdout is not None
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(json.loads(line))
        if seen[-1]["message"] == message:
            return seen
    raise AssertionError(f"no {message!r} log line; got {seen}")


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, object]], str]:
    stdout, stderr = process.communicate(timeout=20)
    return process.returncode, [json.loads(line) for line in stdout.splitlines()], stderr


def test_sigterm_stops_gracefully(tmp_path: Path) -> None:
    process = start(tmp_path, "normal")
    try:
        before = wait_for_log(process, "ready")
        assert str(before[0]["message"]).startswith("listening on 127.0.0.1:")
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code, after, stderr = finish(process)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
    assert code == 0, stderr
    assert stderr == ""
    assert [entry["message"] for entry in after] == [
        "received SIGTERM, shutting down",
        "cleaned up",
        "stopped",
    ]
    assert all(entry["service"] == "shutdown-test" for entry in before + after)
    assert elapsed < 5


def test_cleanup_longer_than_shutdown_timeout_exits_1(tmp_path: Path) -> None:
    process = start(tmp_path, "stubborn", SHUTDOWN_TIMEOUT="0.5")
    try:
        wait_for_log(process, "ready")
        process.send_signal(signal.SIGTERM)
        code, after, _ = finish(process)
    finally:
        process.kill()
    assert code == 1
    assert "main did not stop within 0.5s (SHUTDOWN_TIMEOUT)" in [e["message"] for e in after]


def test_crash_exits_1_with_the_exception_logged(tmp_path: Path) -> None:
    code, entries, _ = finish(start(tmp_path, "crash"))
    assert code == 1
    (failure,) = [entry for entry in entries if entry["level"] == "error"]
    assert failure["message"] == "main failed: boom"
    assert str(failure["exception"]).endswith("RuntimeError: boom")


def test_bad_settings_exit_2_with_one_line(tmp_path: Path) -> None:
    code, entries, stderr = finish(start(tmp_path, "normal", SERVICE_NAME=""))
    assert (code, entries) == (2, [])
    assert stderr == (
        "configuration error: SERVICE_NAME is not set: set it to the service's name, "
        "e.g. SERVICE_NAME=ingest\n"
    )
