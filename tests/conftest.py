"""Shared test helpers, and the tiers.

A tier is a folder of tests/ and the pytest marker of the same name (registered in
pyproject.toml): unit, api, docker, gpu, kafka, e2e. `pytest_collection_modifyitems` below marks
every test with its folder's tier, so `nox -s tests -- -m unit` (or `-m "not e2e"`) selects by
folder; a test that needs another tier's machinery (Docker, the Kafka broker) moves to that
folder instead of carrying the other marker.

A test that needs something the machine lacks (Docker, Java, a kind cluster) calls `missing()`:
on a user's machine it skips with the reason; with STREAMFORGE_STRICT=1 (set by .ci/run) it
fails, so CI can never go green by skipping a tier.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
STRICT = os.environ.get("STREAMFORGE_STRICT") == "1"


def tiers() -> set[str]:
    """Every tier: the folders of tests/ that hold test files."""
    return {p.name for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/ with its folder's tier (--strict-markers fails on a folder
    whose marker pyproject.toml does not register); refuse a test outside a tier folder or
    marked with another tier."""
    known = tiers()
    for item in items:
        path = item.path.resolve()
        if not path.is_relative_to(TESTS):
            continue  # e.g. a service's own tests collected in the same run
        tier = path.relative_to(TESTS).parts[0]
        if tier not in known:
            raise pytest.UsageError(
                f"{item.nodeid}: not in a tier folder; move it into one of "
                f"{', '.join(f'tests/{t}/' for t in sorted(known))}"
            )
        foreign = {mark.name for mark in item.iter_markers() if mark.name in known} - {tier}
        if foreign:
            raise pytest.UsageError(
                f"{item.nodeid}: marked {', '.join(sorted(foreign))} but it sits in "
                f"tests/{tier}/; move it to tests/{min(foreign)}/ (the folder is the tier)"
            )
        item.add_marker(getattr(pytest.mark, tier))


def missing(reason: str, *, allowed_in_strict: bool = False) -> NoReturn:
    """Skip (or, under STREAMFORGE_STRICT=1, fail) because `reason` is missing.

    `allowed_in_strict` is for tiers that cannot run on CI's machine at all (a kind cluster needs
    images from a registry); those still skip under strict mode, with the reason.
    """
    if STRICT and not allowed_in_strict:
        pytest.fail(f"STREAMFORGE_STRICT=1 and {reason}")
    pytest.skip(reason)


def docker_available() -> str | None:
    """Return None when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"no Docker engine answers: {probe.stderr.strip().splitlines()[-1:]}"
    return None


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def docker() -> None:
    reason = docker_available()
    if reason:
        missing(reason)


# The upstream charts at the pinned versions (reference data next to the repository, never
# committed into it): the chart cache the tests use is filled from here.
SHARED_CHARTS = next(
    (p for p in (REPO.parent / "shared" / "charts", Path("/work/shared/charts")) if p.is_dir()),
    REPO.parent / "shared" / "charts",
)


@pytest.fixture
def chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A chart cache (STREAMFORGE_CHART_CACHE) holding copies of the shared upstream charts."""
    if not SHARED_CHARTS.is_dir():
        missing(f"the shared upstream charts are not at {SHARED_CHARTS}")
    cache = tmp_path / "charts"
    cache.mkdir()
    for chart in SHARED_CHARTS.glob("*.tgz"):
        shutil.copy(chart, cache / chart.name)
    monkeypatch.setenv("STREAMFORGE_CHART_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def helm_binary() -> str:
    """The pinned helm binary (.ci/go-tools.sh builds it into ~/.cache/streamforge/ci-bin)."""
    from streamforge.execute.tools import ToolError, resolve

    try:
        tool = resolve("helm", allow_download=False)
    except ToolError as exc:
        missing(str(exc))
        raise AssertionError from exc  # unreachable
    if tool.source == "container":
        missing("no helm binary at the pinned version on PATH (.ci/go-tools.sh builds it)")
    return tool.command[0]


@pytest.fixture(scope="session")
def helm(helm_binary: str) -> list[str]:
    """The pinned helm binary as a command line, for subprocess calls."""
    return [helm_binary]


# What a render reads: the model, and (replica image tags cover the base image,
# render.image_refs.with_base) the base image's inputs.
MODEL_INPUTS = (
    "envs",
    "platform/components",
    "services",
    "platform/Dockerfile",
    "platform/streamforge_utils",
)


def copy_model(root: Path, *extra: str) -> Path:
    """Copy what a render of the repository reads (MODEL_INPUTS, and `extra` paths) under
    `root`, build output and caches left out; returns `root`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "_generated")
    for rel in (*MODEL_INPUTS, *extra):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=ignore)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
    return root


@pytest.fixture
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No kind or helm on PATH, in the cache, or named by an override."""
    for name in ("KIND", "HELM", "KUBECTL"):
        monkeypatch.delenv(f"STREAMFORGE_{name}", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    assert shutil.which("kind") is None and shutil.which("helm") is None


PROBE_SERVICE = "probe-service"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch repository root holding services/probe-service, generated from the scaffold
    (also the build context of its image)."""
    from streamforge.commands import scaffold

    root = tmp_path_factory.mktemp("ctx")
    scaffold.generate(REPO, PROBE_SERVICE, description="Probe", output_dir=root / "services")
    return root
