"""`render --output` never deletes what render did not write (issue: data loss).

Each test runs the real CLI in a throwaway clone of this repository and checks, byte for byte,
that the repository and its tracked folders survive a refused render.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamforge.render.output import MARKER
from tests.conftest import REPO


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(target)], check=True)
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (git's index excepted: git may refresh its stat cache)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != ".git/index"
    }


def render(cwd: Path, output: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streamforge.commands.cli",
            "render",
            "--env",
            "local",
            "--output",
            output,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("output", "says"),
    [
        (".", "it is or contains the repository"),
        ("..", "it is or contains the repository"),
        ("docs", "it lies inside docs/, where git tracks files"),
        ("docs/new-folder", "it lies inside docs/, where git tracks files"),
        ("platform/components", "it lies inside platform/, where git tracks files"),
        (".git/rendered", "it is inside a .git folder"),
    ],
)
def test_a_render_into_the_repository_is_refused_and_nothing_changes(
    clone: Path, output: str, says: str
) -> None:
    before = snapshot(clone)
    result = render(clone, output)
    assert result.returncode == 1, result.stdout + result.stderr
    error = (result.stdout + result.stderr).strip().splitlines()
    assert len(error) == 1, error
    assert says in error[0] and "choose a new or empty folder" in error[0]
    assert snapshot(clone) == before


def test_a_folder_holding_other_files_is_refused(clone: Path, tmp_path: Path) -> None:
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me\n")
    result = render(clone, str(mine))
    assert result.returncode == 1
    assert "it holds todo.txt, which render did not write" in result.stdout + result.stderr
    assert (mine / "todo.txt").read_text() == "keep me\n"


def test_a_rendered_folder_is_replaced_but_a_file_added_to_it_is_kept(
    clone: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rendered"
    assert render(clone, str(out)).returncode == 0
    listed = (out / MARKER).read_text().splitlines()
    assert "kind-config.yaml" in listed and (out / "kind-config.yaml").is_file()
    # a second render replaces its own files (a stale one of its own is removed) ...
    (out / "kind-config.yaml").write_text("edited\n")
    assert render(clone, str(out)).returncode == 0
    assert (out / "kind-config.yaml").read_text() != "edited\n"
    # ... but a file the user put there makes it refuse, and the file survives
    (out / "mine.yaml").write_text("mine\n")
    result = render(clone, str(out))
    assert result.returncode == 1 and "mine.yaml" in result.stdout + result.stderr
    assert (out / "mine.yaml").read_text() == "mine\n"


def test_the_default_output_inside_the_repository_is_allowed(clone: Path) -> None:
    result = render(clone, "build/rendered/local")
    assert result.returncode == 0, result.stderr
    assert (clone / "build" / "rendered" / "local" / MARKER).is_file()


def test_a_folder_the_user_made_inside_a_rendered_folder_is_kept(
    clone: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rendered"
    assert render(clone, str(out)).returncode == 0
    (out / "notes" / "later").mkdir(parents=True)  # empty: no file for the marker to miss
    result = render(clone, str(out))
    assert result.returncode == 1
    assert "it holds notes/, which render did not write" in result.stdout + result.stderr
    assert (out / "notes" / "later").is_dir()


def test_the_default_output_is_under_the_repository_root_from_any_folder(clone: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streamforge.commands.cli", "render", "--env", "local"],
        cwd=clone / "services",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (clone / "build" / "rendered" / "local" / MARKER).is_file()
    assert not (clone / "services" / "build").exists()


def test_an_output_that_cannot_be_made_is_one_line_not_a_bug(clone: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n")
    result = render(clone, str(a_file / "rendered"))
    assert result.returncode == 1
    error = (result.stdout + result.stderr).strip().splitlines()
    assert len(error) == 1, error
    assert f"--output {a_file / 'rendered'}: cannot create it" in error[0]
    assert "bug" not in error[0]
    assert a_file.read_text() == "mine\n"
