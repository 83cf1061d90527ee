"""The real CLI, in a subprocess, with inputs that provoke a failure: one classified line and
its fix, a non-zero exit, never a Python traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.docker.test_registry import free_port

COMMANDS = [["up"], ["down"], ["status"], ["deploy", "dummy-service"], ["doctor"]]


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamforge.commands.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_no_docker_engine_is_one_line_with_the_fix(args: list[str], docker: None) -> None:
    done = cli(args, DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    assert "no Docker engine answers" in done.stdout + done.stderr
    assert "start it" in done.stdout + done.stderr


def test_up_with_an_unreachable_base_parent_gets_the_network_fix(docker: None) -> None:
    """The base image's parent on a port where nothing listens: the base-image step fails,
    classified as a network problem."""
    done = cli(["up"], STREAMFORGE_PYTHON_BASE=f"127.0.0.1:{free_port()}/nope/python:1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "step 'base-image' failed" in done.stderr
    assert "fix: network unreachable: " in done.stderr


def test_up_with_a_base_parent_missing_from_a_registry_gets_the_image_fix(
    docker: None, registry_image: str, unique: str
) -> None:
    """The parent named in a real (empty) registry: classified as an image not found."""
    port = free_port()
    started = subprocess.run(
        ["docker", "run", "-d", "--name", unique, "-p", f"127.0.0.1:{port}:5000", registry_image],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    try:
        from tests.docker.test_registry import catalog

        catalog(port)
        done = cli(["up"], STREAMFORGE_PYTHON_BASE=f"127.0.0.1:{port}/nope/python:1")
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", unique], capture_output=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "fix: image not found: " in done.stderr
