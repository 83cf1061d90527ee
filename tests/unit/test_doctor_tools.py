"""`doctor`'s tool checks on a machine without kind or helm: a tool `up` downloads is a
warning with the offline fix, never a FAIL (with Docker: tests/docker/test_doctor_images.py)."""

from __future__ import annotations

from streamforge.commands import doctor


def test_missing_tools_are_warnings_that_name_the_offline_fix(bare_machine: None, capsys) -> None:
    checks = {c.name: c for c in doctor._tools()}
    kind = checks["kind"]
    assert not kind.ok and not kind.fatal
    assert "downloads it" in kind.fix and "STREAMFORGE_KIND=/path/to/kind" in kind.fix
    for check in checks.values():
        assert not (not check.ok and check.fatal and "download" in check.fix), check
    doctor.report([kind])
    out = capsys.readouterr().out
    assert out.startswith("warn ") and "FAIL" not in out
