"""Plan: an ordered list of steps; execute: run each one that is not already done.

A step is done when the hash of its inputs equals the hash recorded the last time it
succeeded (host-side steps: when its `present` check finds the thing in Docker) *and* the
real thing is still as the step left it (its `check`: the registry on the kind network and
holding the pushed images, each helm release deployed with its workloads ready, each applied
object there). A step whose real state drifted runs again, and so does every step that
`needs` a step that ran. Cluster-side steps record their hashes in the ConfigMap
kube-system/streamforge-state, so the record dies with the cluster. A second `up` is therefore
a fast no-op, and an interrupted `up` resumes at the first step that did not finish.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from streamforge import console
from streamforge.errors import StreamforgeError, as_step_error


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
    # the real thing, looked at once the step counts as done: None when it is as the step left
    # it, else what drifted (one line)
    check: Callable[[], str | None] | None = None
    # steps whose run makes this one run again (what the registry holds and its wiring die
    # with a new registry container)
    needs: tuple[str, ...] = ()


@dataclass
class State:
    """Recorded step hashes; `load`/`save` are set by the executor once a cluster exists."""

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
    wanted: str | None = None

    @property
    def runs(self) -> bool:
        return self.status != DONE


def assess(step: Step, state: State, rerun: Iterable[str] = ()) -> Verdict:
    """Look at one step: its recorded inputs, then (if done) its `needs` against the steps in
    `rerun` (that ran, or will), then the real thing. Raises what the checks raise
    (StreamforgeError with a fix)."""
    if step.inputs is None and step.present is None:
        return Verdict(ALWAYS)
    wanted = step.inputs() if step.inputs else None
    if step.present is not None:
        if not step.present():
            return Verdict(NOT_DONE, "not there", wanted)
    elif wanted is None or state.hashes.get(step.name) != wanted:
        reason = "its inputs changed" if step.name in state.hashes else "never ran"
        return Verdict(NOT_DONE, reason, wanted)
    rerun = set(rerun)
    again = [name for name in step.needs if name in rerun]
    if again:
        return Verdict(DRIFTED, f"{again[0]} runs again", wanted)
    drift = step.check() if step.check else None
    if drift:
        return Verdict(DRIFTED, drift, wanted)
    return Verdict(DONE, "", wanted)


def describe(steps: list[Step]) -> list[str]:
    return [f"{i:2d}. {s.name:<28} {s.title}" for i, s in enumerate(steps, start=1)]


def execute(steps: list[Step], state: State) -> dict[str, int]:
    """Run the steps in order; return counts of what ran (`drifted`: of those, the ones that
    ran to repair drift) and what was already done."""
    counts = {"ran": 0, "unchanged": 0, "drifted": 0}
    total = len(steps)
    ran: set[str] = set()
    for index, step in enumerate(steps, start=1):
        console.step(f"[{index}/{total}] {step.title}")
        verdict = assess(step, state, ran)
        if not verdict.runs:
            console.skipped(step.name)
            counts["unchanged"] += 1
            continue
        if verdict.status == DRIFTED:
            console.info(f"drifted: {step.name}: {verdict.reason}; running it again")
            counts["drifted"] += 1
        started = time.monotonic()
        try:
            step.run()
        except StreamforgeError:
            raise
        except Exception as exc:  # a docker call or a timeout: the step's error, classified
            error = as_step_error(step.name, exc)
            if error is None:
                raise
            raise error from exc
        if verdict.wanted is not None and step.present is None:
            state.record(step.name, verdict.wanted)
        ran.add(step.name)
        console.done(step.name, started)
        counts["ran"] += 1
    return counts
