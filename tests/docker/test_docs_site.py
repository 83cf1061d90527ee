"""The docs-site image (platform/docs-site/Dockerfile): the built site on the base image, served
on 8080 by an unprivileged user, stopping at once on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import REPO, missing
from tests.unit.test_docs import built_repo_site

# The image is built FROM the unified base; without it, a stand-in with the same Python.
BASE_CANDIDATES = ["streamforge/base:dev", "streamforge/python-base:3.11", "python:3.11-slim"]


def _docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _base_image() -> str:
    wanted = os.environ.get("DOCS_SITE_BASE_IMAGE") or os.environ.get("STREAMFORGE_PYTHON_BASE")
    for image in [wanted] if wanted else BASE_CANDIDATES:
        if image and _docker("image", "inspect", image).returncode == 0:
            return image
    missing(f"no local base image to build the docs site from (tried {wanted or BASE_CANDIDATES})")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def image(docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = built_repo_site(tmp_path_factory)
    tag = f"streamforge/docs-site:test-{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        [
            "docker",
            "build",
            "-f",
            str(REPO / "platform/docs-site/Dockerfile"),
            "--build-arg",
            f"BASE_IMAGE={_base_image()}",
            "-t",
            tag,
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    yield tag
    _docker("rmi", "-f", tag)


@pytest.fixture(scope="module")
def served(image: str) -> Iterator[tuple[str, str]]:
    """(container name, base URL) of the image running with 8080 on a free host port."""
    name = f"sf-docs-test-{uuid.uuid4().hex[:8]}"
    run = _docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", image)
    assert run.returncode == 0, run.stderr
    try:
        port = _docker("port", name, "8080/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                logs = _docker("logs", name).stderr
                assert time.monotonic() < deadline, f"the site never answered:\n{logs}"
                time.sleep(0.3)
        yield name, url
    finally:
        _docker("rm", "-f", name)


def test_site_is_served_on_8080(served: tuple[str, str]) -> None:
    _, url = served
    with urllib.request.urlopen(url, timeout=5) as reply:
        home = reply.read().decode()
    assert "<title>StreamForge</title>" in home
    with urllib.request.urlopen(url + "reference/components/", timeout=5) as reply:
        assert "strimzi" in reply.read().decode()
    with urllib.request.urlopen(url + "search/search_index.json", timeout=5) as reply:
        assert reply.headers["Content-Type"].startswith("application/json")
    with pytest.raises(urllib.error.HTTPError) as missing_page:
        urllib.request.urlopen(url + "no-such-page/", timeout=5)
    assert missing_page.value.code == 404


def test_server_runs_as_non_root(image: str, served: tuple[str, str]) -> None:
    name, _ = served
    assert _docker("image", "inspect", "-f", "{{.Config.User}}", image).stdout.strip() == (
        "10001:10001"
    )
    assert _docker("exec", name, "python3", "-c", "import os; print(os.getuid())").stdout == (
        "10001\n"
    )
    # the server cannot change the site it serves
    write = _docker("exec", name, "sh", "-c", "echo x > /srv/site/index.html")
    assert write.returncode != 0


def test_stops_at_once_on_sigterm(image: str) -> None:
    name = f"sf-docs-stop-{uuid.uuid4().hex[:8]}"
    assert _docker("run", "-d", "--name", name, image).returncode == 0
    try:
        time.sleep(1)
        started = time.monotonic()
        assert _docker("stop", "-t", "10", name).returncode == 0
        assert time.monotonic() - started < 5, "ignored SIGTERM and was killed after the timeout"
        assert _docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        _docker("rm", "-f", name)
