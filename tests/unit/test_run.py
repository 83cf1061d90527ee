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


def test_a_chatty_command_gets_none(monkeypatch, capsys) -> None:
    monkeypatch.setattr(run, "HEARTBEAT_SECONDS", 30)
    run.run("step", ["sh", "-c", "for i in 1 2 3; do echo line $i; done"], "n/a")
    assert "still running" not in capsys.readouterr().out


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
