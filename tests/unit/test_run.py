"""Long steps show progress; failures name the step, the command, its output and the fix."""

from __future__ import annotations

import pytest

from streamforge import run
from streamforge.errors import StepError


def test_a_silent_command_gets_still_running_lines(monkeypatch, capsys) -> None:
    monkeypatch.setattr(run, "HEARTBEAT_SECONDS", 0.2)
    out = run.run("component:demo", ["sh", "-c", "sleep 1; echo ready"], "n/a")
    printed = capsys.readouterr().out
    assert out == "ready"
    assert "component:demo: still running" in printed
    assert printed.index("still running") < printed.index("ready")


def test_output_resets_the_heartbeat_timer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines 0.1 s apart for longer than the heartbeat interval: no "still running" while
    they come (each line resets the timer), then one after the output stops."""
    monkeypatch.setattr(run, "HEARTBEAT_SECONDS", 1.5)
    script = "for i in $(seq 25); do echo tick $i; sleep 0.1; done; sleep 3; echo done"
    out = run.run("component:demo", ["sh", "-c", script], "n/a")
    printed = capsys.readouterr().out
    assert out.splitlines()[-1] == "done"
    assert "component:demo: still running" in printed
    # the chatty phase lasts ~2.5 s, longer than the 1.5 s interval: without the reset a
    # heartbeat would come before the last tick
    assert printed.index("still running") > printed.index("tick 25")
    assert printed.index("still running") < printed.index("done")


def test_failure_carries_step_command_output_and_fix() -> None:
    with pytest.raises(StepError) as caught:
        run.run(
            "cluster",
            ["sh", "-c", "echo first; echo 'boom: no space left' >&2; exit 3"],
            "free some disk",
            quiet=True,
        )
    message = str(caught.value)
    assert message.startswith("step 'cluster' failed: sh -c")
    assert "boom: no space left" in message and "first" in message
    assert message.endswith("fix: free some disk")


def test_a_missing_program_says_what_to_install() -> None:
    with pytest.raises(StepError, match="install no-such-tool"):
        run.run("preflight", ["no-such-tool", "--version"], "see docs")
