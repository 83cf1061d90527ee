from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO

MODEL_INPUTS = ("envs", "platform/components", "services")
# the replica's image tags cover the base image (render/context.with_base), so a render reads
# the base image's inputs too
BASE_IMAGE_INPUTS = ("platform/Dockerfile", "platform/streamforge_utils")


@pytest.fixture
def model_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the model files (envs, components, services); cwd is set to it."""
    root = tmp_path / "repo"
    for rel in (*MODEL_INPUTS, *BASE_IMAGE_INPUTS):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
        else:
            (root / rel).mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def edit() -> Callable[[Path, str, str], None]:
    """Replace one exact snippet in a file; fails loudly if the snippet is not there."""

    def _edit(path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))

    return _edit
