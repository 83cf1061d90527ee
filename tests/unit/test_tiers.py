"""Folder = tier = marker: tests/conftest.py marks every test with its folder's tier, so
`nox -s tests -- -m <tier>` runs one folder, and a test in the wrong folder stops the run.
Checked by running pytest on a scratch tree that has the repository's conftest and pytest
configuration."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO, tiers

TEST = "def test_{name}() -> None:\n    pass\n"


def scratch(root: Path, files: dict[str, str]) -> Path:
    """A tree with the repository's pyproject.toml and tests/conftest.py, plus `files`."""
    (root / "tests").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(REPO / "tests" / "conftest.py", root / "tests" / "conftest.py")
    (root / "tests" / "__init__.py").touch()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def collect(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_tier_folder_is_a_registered_marker() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    registered = {line.split(":", 1)[0] for line in markers}
    assert tiers() == {"unit", "api", "docker", "gpu", "kafka", "e2e"}
    assert tiers() <= registered


def test_a_marker_selects_its_folder(tmp_path: Path) -> None:
    root = scratch(
        tmp_path,
        {f"tests/{tier}/test_{tier}.py": TEST.format(name=tier) for tier in ("unit", "kafka")},
    )
    result = collect(root, "-m", "kafka")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/kafka/test_kafka.py::test_kafka" in result.stdout
    assert "test_unit" not in result.stdout
    assert "1/2 tests collected" in result.stdout


def test_a_test_marked_with_another_tier_names_the_folder_to_move_to(tmp_path: Path) -> None:
    marked = "import pytest\n\n\n@pytest.mark.docker\n" + TEST.format(name="needs_docker")
    root = scratch(
        tmp_path,
        {"tests/unit/test_x.py": marked, "tests/docker/test_y.py": TEST.format(name="y")},
    )
    result = collect(root)
    assert result.returncode != 0
    assert (
        "tests/unit/test_x.py::test_needs_docker: marked docker but it sits in tests/unit/; "
        "move it to tests/docker/"
    ) in result.stderr + result.stdout


def test_a_test_outside_a_tier_folder_is_refused(tmp_path: Path) -> None:
    root = scratch(
        tmp_path,
        {
            "tests/test_loose.py": TEST.format(name="loose"),
            "tests/unit/test_a.py": TEST.format(name="a"),
        },
    )
    result = collect(root)
    assert result.returncode != 0
    assert "tests/test_loose.py::test_loose: not in a tier folder" in result.stderr + result.stdout
