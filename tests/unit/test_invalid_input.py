"""Invalid input, one folder per case under tests/unit/invalid/ (see its README.md): each is
refused by `render` with exit code 2, exactly the lines of its expected.txt
(`file:line: problem; fix`), and nothing written; every example a fix offers (in backticks)
is itself accepted at that place.

After checking that a changed message is what you meant, rewrite the expected.txt files with
`STREAMFORGE_UPDATE_GOLDEN=1 nox -s tests -- tests/unit/test_invalid_input.py`.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from streamforge.commands.cli import main
from streamforge.model import pins
from tests.conftest import REPO

CASES_DIR = Path(__file__).parent / "invalid"
META = ("case.yaml", "expected.txt")
# one line of render's stderr: `error: file:line: problem; fix` (the fix after the last "; ")
ERROR = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+): .*; (?P<fix>[^;]*)$")
UPDATE = os.environ.get("STREAMFORGE_UPDATE_GOLDEN") == "1"


@dataclass(frozen=True)
class Case:
    folder: Path
    args: tuple[str, ...]  # render's arguments; the test adds --output
    value: str  # the bad value: each example of the fix replaces it on the line refused

    @property
    def files(self) -> list[Path]:
        """The case's files, relative to the repository they replace files of."""
        return sorted(
            p.relative_to(self.folder)
            for p in self.folder.rglob("*")
            if p.is_file() and str(p.relative_to(self.folder)) not in META
        )

    @property
    def expected(self) -> list[str]:
        return (self.folder / "expected.txt").read_text().splitlines()


def load_cases() -> list[Case]:
    cases = []
    for folder in sorted(p for p in CASES_DIR.iterdir() if p.is_dir()):
        meta = yaml.safe_load((folder / "case.yaml").read_text())
        cases.append(Case(folder, tuple(meta["args"]), meta.get("value", "")))
    return cases


CASES = load_cases()


@pytest.fixture
def model(model_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The model copy with its own platform/pins.yaml, which the toolkit reads."""
    pinned = model_copy / "platform" / "pins.yaml"
    shutil.copy(REPO / "platform" / "pins.yaml", pinned)
    monkeypatch.setattr(pins, "PINS_FILE", pinned)
    return model_copy


def overlay(case: Case, root: Path) -> None:
    for rel in case.files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(case.folder / rel, root / rel)


def render_errors(root: Path, case: Case, out: str, capsys: pytest.CaptureFixture[str]) -> str:
    """render's stderr; asserts the exit code 2 and that nothing was written."""
    output = root / out
    code = main(["render", *case.args, "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not output.exists(), "a failed render must write nothing"
    return err


@pytest.mark.parametrize("case", CASES, ids=[c.folder.name for c in CASES])
def test_refused_with_the_expected_message(model: Path, case: Case, capsys) -> None:
    overlay(case, model)
    err = render_errors(model, case, "out", capsys)
    if UPDATE:
        (case.folder / "expected.txt").write_text(err)
        pytest.skip(f"rewrote {case.folder.name}/expected.txt")
    assert err.splitlines() == case.expected


EXAMPLES = [c for c in CASES if c.value]


def refusal_of_value(root: Path, case: Case, err: str) -> tuple[re.Match[str], int]:
    """The first error of `err` at a line of the case's files that holds its bad value, and
    that line's number."""
    for found in map(ERROR.match, err.splitlines()):
        if found and Path(found["file"]) in case.files:
            number = int(found["line"])
            if case.value in (root / found["file"]).read_text().splitlines()[number - 1]:
                return found, number
    raise AssertionError(f"no error at a line holding {case.value!r}:\n{err}")


@pytest.mark.parametrize("case", EXAMPLES, ids=[c.folder.name for c in EXAMPLES])
def test_every_example_in_a_fix_is_accepted_there(model: Path, case: Case, capsys) -> None:
    overlay(case, model)
    found, number = refusal_of_value(model, case, render_errors(model, case, "out", capsys))
    examples = re.findall(r"`([^`]+)`", found["fix"])
    assert examples, found.string
    path = model / found["file"]
    lines = path.read_text().splitlines(keepends=True)
    where = f"error: {found['file']}:{number}: "
    for index, example in enumerate(examples):
        fixed = lines[number - 1].replace(case.value, example)
        path.write_text("".join([*lines[: number - 1], fixed, *lines[number:]]))
        main(["render", *case.args, "--output", str(model / f"out-{index}")])
        err = capsys.readouterr().err
        assert not [e for e in err.splitlines() if e.startswith(where)], (
            f"the example {example!r} is refused: {err}"
        )
