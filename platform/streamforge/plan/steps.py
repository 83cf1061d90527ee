"""The plan's vocabulary: a step (a name, a title, an action and the hash of its inputs), the
recorded state of earlier runs, and the verdict on a step (done, not done, drifted).

A step is done when the hash of its inputs equals the hash recorded the last time it
succeeded (host-side steps: when the driver finds the thing in Docker) *and* the real thing is
still as the step left it (the driver's check). A step whose real state drifted runs again, and
so does every step that `needs` a step that ran. Cluster-side steps record their hashes in the
ConfigMap kube-system/streamforge-state, so the record dies with the cluster: a second `up` is
a fast no-op, and an interrupted `up` resumes at the first step that did not finish.
Carrying steps out is execute/executor.py's job; nothing here runs anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamforge.plan.actions import Action


def digest(*parts: Any) -> str:
    """16 hex digits of SHA-256 over `parts` as sorted-key JSON (str() for other types)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    action: Action
    # hash of what the step does; None means "always runs" (preflight, summary)
    inputs: str | None = None
    # host-side: done when the thing is there in Docker (no hash recorded: no cluster yet)
    host: bool = False
    # steps whose run makes this one run again (what the registry holds and its wiring die
    # with a new registry container)
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.host and self.inputs is not None:
            raise ValueError(f"step {self.name}: a host step is recorded by Docker, not a hash")


@dataclass
class State:
    """Recorded step hashes; `save` is set once a cluster exists to record them in."""

    hashes: dict[str, str] = field(default_factory=dict)
    save: Callable[[dict[str, str]], None] | None = None

    def record(self, step: str, value: str) -> None:
        self.hashes[step] = value
        if self.save:
            self.save(self.hashes)


DONE, NOT_DONE, DRIFTED, ALWAYS = "done", "not done", "drifted", "always runs"


@dataclass(frozen=True)
class Verdict:
    """What `up` would do about a step: skip it (done), or run it (not done, drifted, always
    runs), and why."""

    status: str
    reason: str = ""

    @property
    def runs(self) -> bool:
        return self.status != DONE


def describe(steps: list[Step]) -> list[str]:
    """One numbered line per step: `up --dry-run`'s and `deploy --dry-run`'s output."""
    return [f"{i:2d}. {s.name:<28} {s.title}" for i, s in enumerate(steps, start=1)]
