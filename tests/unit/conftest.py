from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def model_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the model files (envs, components, services); cwd is set to it."""
    root = tmp_path / "repo"
    for rel in ("envs", "platform/components", "services"):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel)
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
