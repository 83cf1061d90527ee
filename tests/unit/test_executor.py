"""The executor's converge logic without a cluster: which steps run, in what order, what is
recorded, and what a failure leaves. The driver here is a test double that records calls
(the real drivers need Docker and kind; tests/api, tests/docker and tests/e2e run them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.errors import StreamforgeError
from streamforge.execute.executor import execute, verdicts
from streamforge.plan.actions import Action, BuildBase, PushImage, StartRegistry, Summary
from streamforge.plan.steps import State, Step


class Recorder:
    """Records what ran; `there` answers host steps, `drift` cluster steps' checks."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.there: set[str] = set()
        self.drift: dict[str, str] = {}
        self.fail: str | None = None
        self.refuse: str | None = None

    def run(self, step: str, action: Action) -> None:
        if step == self.fail:
            raise StreamforgeError(f"{step} failed")
        self.ran.append(step)
        self.there.add(step)

    def present(self, action: Action) -> bool:
        return isinstance(action, BuildBase) and "base-image" in self.there

    def check(self, action: Action) -> str | None:
        ref = getattr(action, "ref", "")
        if self.refuse == ref:
            raise StreamforgeError("cannot be repaired by running again")
        return self.drift.get(ref)


def image(name: str, tag: str = "1") -> Step:
    ref = f"localhost:5001/{name}:{tag}"
    action = PushImage(ref, Path("."), Path("Dockerfile"), "base")
    return Step(f"image:{name}", name, action, inputs=ref)


def plan(tag: str = "1") -> list[Step]:
    return [
        Step("preflight", "checks", Summary(())),  # no inputs: runs every time
        Step("base-image", "base", BuildBase("base:1"), host=True),
        image("a", tag),
        image("b"),
        Step("wiring", "needs a", StartRegistry("r", 1), inputs="w", needs=("image:a",)),
    ]


def test_first_run_runs_all_then_only_what_always_runs() -> None:
    driver, state = Recorder(), State()
    assert execute(plan(), state, driver) == {"ran": 5, "unchanged": 0, "drifted": 0}
    assert driver.ran == ["preflight", "base-image", "image:a", "image:b", "wiring"]
    # host steps are recorded by Docker, not in the state
    assert state.hashes == {
        "image:a": "localhost:5001/a:1",
        "image:b": "localhost:5001/b:1",
        "wiring": "w",
    }
    driver.ran.clear()
    assert execute(plan(), state, driver) == {"ran": 1, "unchanged": 4, "drifted": 0}
    assert driver.ran == ["preflight"]


def test_changed_inputs_rerun_the_step_and_the_steps_that_need_it() -> None:
    driver, state = Recorder(), State()
    execute(plan(), state, driver)
    driver.ran.clear()
    assert execute(plan(tag="2"), state, driver) == {"ran": 3, "unchanged": 2, "drifted": 1}
    assert driver.ran == ["preflight", "image:a", "wiring"]


def test_drift_reruns_only_the_drifted_step() -> None:
    driver, state = Recorder(), State()
    execute(plan(), state, driver)
    driver.ran.clear()
    driver.drift["localhost:5001/b:1"] = "b is not in the registry"
    assert execute(plan(), state, driver) == {"ran": 2, "unchanged": 3, "drifted": 1}
    assert driver.ran == ["preflight", "image:b"]


def test_a_failure_stops_the_run_and_the_next_run_resumes_there() -> None:
    driver, state = Recorder(), State()
    driver.fail = "image:b"
    with pytest.raises(StreamforgeError, match="image:b failed"):
        execute(plan(), state, driver)
    assert driver.ran == ["preflight", "base-image", "image:a"]
    assert set(state.hashes) == {"image:a"}
    driver.fail, driver.ran = None, []
    assert execute(plan(), state, driver) == {"ran": 3, "unchanged": 2, "drifted": 0}
    assert driver.ran == ["preflight", "image:b", "wiring"]


def test_a_check_that_refuses_stops_up_and_status_reports_it() -> None:
    driver, state = Recorder(), State()
    execute(plan(), state, driver)
    driver.refuse = "localhost:5001/a:1"
    with pytest.raises(StreamforgeError, match="cannot be repaired"):
        execute(plan(), state, driver)
    found = dict(verdicts(plan(), state, driver))
    assert "preflight" not in found  # always runs: nothing to report
    assert found["image:a"].status == "drifted"
    assert found["image:a"].reason == "cannot check: cannot be repaired by running again"
    assert found["wiring"].reason == "image:a runs again"
    assert found["image:b"].status == "done"


def test_a_step_that_needs_one_run_by_an_earlier_plan_runs_again() -> None:
    """`up` runs the host plan, then the cluster plan: the wiring needs the registry."""
    driver, state = Recorder(), State()
    host = [Step("base-image", "base", BuildBase("base:1"), host=True)]
    cluster = [Step("wiring", "needs the base", StartRegistry("r", 1), "w", needs=("base-image",))]
    execute(host, state, driver, ran=set())
    execute(cluster, state, driver, ran=set())
    driver.ran, driver.there = [], set()  # the base image is gone: its step runs again
    ran: set[str] = set()
    execute(host, state, driver, "host", ran)
    assert execute(cluster, state, driver, "cluster", ran)["drifted"] == 1
    assert driver.ran == ["base-image", "wiring"]
