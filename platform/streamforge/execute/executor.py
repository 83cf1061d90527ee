"""Carry out a plan: look at each step (recorded inputs, then the real thing, through its
driver) and run the ones that are not done, in order. See plan/steps.py for what "done" means.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from streamforge import console
from streamforge.errors import StreamforgeError, as_step_error
from streamforge.plan.actions import Action
from streamforge.plan.steps import ALWAYS, DONE, DRIFTED, NOT_DONE, State, Step, Verdict


class Driver(Protocol):
    """What the executor needs of the drivers (execute/drivers.py `Drivers`)."""

    def run(self, step: str, action: Action) -> None:
        """Carry out `action` for the step named `step` (errors name the step)."""
        ...

    def present(self, action: Action) -> bool:
        """Host-side actions: is the thing there in Docker?"""
        ...

    def check(self, action: Action) -> str | None:
        """None when the real thing is as the action left it, else what drifted (one line).
        May raise StreamforgeError when it must not be repaired by running the step again."""
        ...


def assess(step: Step, state: State, driver: Driver, rerun: Iterable[str] = ()) -> Verdict:
    """Look at one step: its recorded inputs (host steps: whether the thing is there), then
    its `needs` against the steps in `rerun` (that ran, or will), then the real thing.
    Raises what the driver's checks raise (StreamforgeError with a fix)."""
    if step.inputs is None and not step.host:
        return Verdict(ALWAYS)
    if step.host:
        if not driver.present(step.action):
            return Verdict(NOT_DONE, "not there")
    elif state.hashes.get(step.name) != step.inputs:
        reason = "its inputs changed" if step.name in state.hashes else "never ran"
        return Verdict(NOT_DONE, reason)
    rerun = set(rerun)
    again = [name for name in step.needs if name in rerun]
    if again:
        return Verdict(DRIFTED, f"{again[0]} runs again")
    drift = driver.check(step.action)
    if drift:
        return Verdict(DRIFTED, drift)
    return Verdict(DONE)


def verdicts(steps: list[Step], state: State, driver: Driver) -> list[tuple[str, Verdict]]:
    """(step name, verdict) for each of `steps` that records or checks anything, in order, as
    `up` would find them now. A check that cannot look counts as drifted."""
    found: list[tuple[str, Verdict]] = []
    rerun: set[str] = set()
    for step in steps:
        try:
            verdict = assess(step, state, driver, rerun)
        except StreamforgeError as exc:
            verdict = Verdict(DRIFTED, f"cannot check: {str(exc).splitlines()[0]}")
        if verdict.status == ALWAYS:
            continue
        if verdict.runs:
            rerun.add(step.name)
        found.append((step.name, verdict))
    return found


def execute(
    steps: list[Step], state: State, driver: Driver, label: str = "", ran: set[str] | None = None
) -> dict[str, int]:
    """Run the steps that are not done, in order (progress lines `[<label> i/n] title`);
    `ran` holds the steps that ran earlier in the same run (a step that `needs` one of them
    runs again) and gets the ones that run here. Records each cluster-side step's inputs
    once it succeeded. Returns counts: `ran`, `unchanged`, and `drifted` (of those that ran,
    the ones run to repair drift). Raises the first step's failure as a StreamforgeError (or
    StepError, classified by errors.as_step_error); later steps do not run."""
    counts = {"ran": 0, "unchanged": 0, "drifted": 0}
    ran = set() if ran is None else ran
    for index, step in enumerate(steps, start=1):
        console.step(f"[{label}{' ' if label else ''}{index}/{len(steps)}] {step.title}")
        verdict = assess(step, state, driver, ran)
        if not verdict.runs:
            console.skipped(step.name)
            counts["unchanged"] += 1
            continue
        if verdict.status == DRIFTED:
            console.info(f"drifted: {step.name}: {verdict.reason}; running it again")
            counts["drifted"] += 1
        started = time.monotonic()
        _run(step, driver)
        if step.inputs is not None and not step.host:  # host steps: Docker is the record
            state.record(step.name, step.inputs)
        ran.add(step.name)
        console.done(step.name, started)
        counts["ran"] += 1
    return counts


def _run(step: Step, driver: Driver) -> None:
    try:
        driver.run(step.name, step.action)
    except StreamforgeError:
        raise
    except Exception as exc:  # a docker call or a timeout: the step's error, classified
        error = as_step_error(step.name, exc)
        if error is None:
            raise
        raise error from exc


__all__ = ["DONE", "DRIFTED", "NOT_DONE", "assess", "execute", "verdicts"]
