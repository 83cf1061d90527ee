from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import copy_model


@pytest.fixture
def model_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of what a render reads (tests.conftest.copy_model); cwd is set to it."""
    root = copy_model(tmp_path / "repo")
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
