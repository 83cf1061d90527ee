"""The unified base image (platform/Dockerfile) built on the real Docker engine."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest

from streamforge.commands import bench
from streamforge.execute import docker_host, images
from streamforge.render import image_refs
from tests.conftest import REPO


@pytest.fixture(scope="module")
def base_image(docker: None) -> str:
    """Built as `nox -s base_image` builds it (STREAMFORGE_PYTHON_BASE picks the parent)."""
    return images.build_base(REPO)


def _run(image: str, *command: str) -> str:
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_tags_are_the_content_hash_and_dev(base_image: str) -> None:
    assert base_image == image_refs.base_image(REPO)
    assert docker_host.image_exists(f"{image_refs.BASE_IMAGE}:dev")


def test_runs_as_non_root_from_the_venv_with_the_libraries_and_test_frameworks(
    base_image: str,
) -> None:
    assert _run(base_image, "id", "-u") == "10001"
    out = _run(
        base_image,
        "python",
        "-c",
        "import sys, streamforge_utils, aiokafka, prometheus_client, pytest, pytest_asyncio, "
        "cryptography, hatchling; print(sys.prefix)",
    )
    assert out == "/opt/venv"


def _pins() -> dict[str, str]:
    """Every version the image may hold: the utils pyproject and the Dockerfile's constraints."""
    project = tomllib.loads((REPO / "platform/streamforge_utils/pyproject.toml").read_text())
    direct = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["test"],
        *project["build-system"]["requires"],
    ]
    constraints = re.findall(
        r"^\s+([A-Za-z0-9_.-]+==[^\s\\]+)", (REPO / "platform/Dockerfile").read_text(), re.M
    )
    pins = {}
    for spec in [*direct, *constraints]:
        name, version = spec.split("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_distribution_is_pinned(base_image: str) -> None:
    listing = json.loads(_run(base_image, "pip", "list", "--format", "json"))
    installed = {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in listing}
    pins = _pins()
    # pip and setuptools come with the parent's venv module, streamforge-utils is the package
    unpinned = {
        name: version
        for name, version in installed.items()
        if name not in {"pip", "setuptools", "streamforge-utils"} and pins.get(name) != version
    }
    assert unpinned == {}


def test_no_ca_bundle_wheels_or_pip_cache_in_the_image(base_image: str) -> None:
    # the builder stage's wheels and build venv stay there
    script = (
        "test ! -e /run/secrets/extra_ca && test ! -e /wheels && test ! -e /build "
        '&& test -z "$(find /tmp -type f)" '
        "&& test ! -e /root/.cache/pip && test ! -e /tmp/.cache/pip && echo clean"
    )
    assert _run(base_image, "sh", "-c", script) == "clean"
    from python_on_whales import docker

    env = docker.image.inspect(base_image).config.env or []
    assert not [e for e in env if e.startswith("PIP_CERT")]
    history = subprocess.run(
        ["docker", "history", "--no-trunc", base_image], capture_output=True, text=True, check=True
    ).stdout
    assert "BEGIN CERTIFICATE" not in history


def _steps(output: str) -> tuple[dict[str, str], set[str]]:
    """BuildKit plain progress: step id -> its title, and the ids that were CACHED."""
    titles = dict(re.findall(r"^(#\d+) (\[.*)$", output, re.M))
    cached = set(re.findall(r"^(#\d+) CACHED$", output, re.M))
    return titles, cached


def test_a_code_change_in_streamforge_utils_keeps_the_dependency_layers(
    base_image: str, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    shutil.copytree(
        REPO / "platform" / "streamforge_utils",
        context / "platform/streamforge_utils",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copy(REPO / "platform" / "Dockerfile", context / "platform" / "Dockerfile")
    module = context / "platform/streamforge_utils/src/streamforge_utils/logs.py"
    module.write_text(module.read_text() + f"\n# a one-line change {uuid.uuid4()}\n")
    output = bench.build(
        context,
        context / "platform" / "Dockerfile",
        "streamforge/base:code-change-test",
        {"BASE_IMAGE": image_refs.python_base()},
        cache=True,
    )
    titles, cached = _steps(output)

    def was_cached(fragment: str) -> bool:
        ids = [i for i, title in titles.items() if fragment in title]
        assert ids, f"no build step with {fragment!r}:\n{output[-2000:]}"
        return all(i in cached for i in ids)

    assert was_cached("pip wheel --wheel-dir /wheels/deps")
    assert was_cached("python3 -m venv /opt/venv")
    assert was_cached("COPY --from=builder /opt/venv /opt/venv")
    assert not was_cached("--prefix /build/pkg")
    assert not was_cached("COPY --from=builder /build/pkg /opt/venv")
    subprocess.run(["docker", "rmi", "streamforge/base:code-change-test"], capture_output=True)
