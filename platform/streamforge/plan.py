"""Plan: an ordered list of steps; execute: run each one that is not already done.

A step is done when the hash of its inputs equals the hash recorded the last time it
succeeded. Host-side steps (image, registry, cluster) check Docker directly; cluster-side
steps record their hashes in the ConfigMap kube-system/streamforge-state, so the record dies
with the cluster. A second `up` is therefore a fast no-op, and an interrupted `up` resumes at
the first step that did not finish.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamforge import console


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Step:
    name: str
    title: str
    run: Callable[[], None]
    # hash of what the step does; None means "always run" (cheap checks like preflight)
    inputs: Callable[[], str] | None = None
    # for host-side steps: is the thing already there? (cluster-side steps use the state)
    present: Callable[[], bool] | None = None


@dataclass
class State:
    """Recorded step hashes; `load`/`save` are set by the executor once a cluster exists."""

    hashes: dict[str, str] = field(default_factory=dict)
    save: Callable[[dict[str, str]], None] | None = None

    def record(self, step: str, value: str) -> None:
        self.hashes[step] = value
        if self.save:
            self.save(self.hashes)


def describe(steps: list[Step]) -> list[str]:
    return [f"{i:2d}. {s.name:<28} {s.title}" for i, s in enumerate(steps, start=1)]


def execute(steps: list[Step], state: State) -> dict[str, int]:
    """Run the steps in order; return counts of what ran and what was already done."""
    counts = {"ran": 0, "unchanged": 0}
    total = len(steps)
    for index, step in enumerate(steps, start=1):
        console.step(f"[{index}/{total}] {step.title}")
        wanted = step.inputs() if step.inputs else None
        already = (
            step.present()
            if step.present is not None
            else wanted is not None and state.hashes.get(step.name) == wanted
        )
        if already:
            console.skipped(step.name)
            counts["unchanged"] += 1
            continue
        started = time.monotonic()
        step.run()
        if wanted is not None and step.present is None:
            state.record(step.name, wanted)
        console.done(step.name, started)
        counts["ran"] += 1
    return counts
