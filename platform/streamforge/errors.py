"""Errors a user can act on: each names where, what is wrong, and the fix."""

from __future__ import annotations

from dataclasses import dataclass


class StreamforgeError(Exception):
    """Base for every error the CLI reports as one line and a non-zero exit."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}; {self.fix}"


class ModelError(StreamforgeError):
    """One or more problems in the model files, each `file:line: problem; fix`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.problem))
        super().__init__("\n".join(str(p) for p in self.problems))


class StepError(StreamforgeError):
    """A plan step failed: names the step, the command, its output tail, and a fix."""

    def __init__(self, step: str, command: str, output: str, fix: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(
            f"step '{step}' failed: {command}\n{tail}\nfix: {fix}"
            if tail
            else f"step '{step}' failed: {command}\nfix: {fix}"
        )
        self.step, self.command, self.output, self.fix = step, command, output, fix
