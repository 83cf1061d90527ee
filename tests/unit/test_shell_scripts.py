"""Every shell script of the repository passes shellcheck."""

from __future__ import annotations

import shutil
import subprocess

from tests.conftest import REPO, missing

# scripts whose names cannot end in .sh (a docker wrapper on PATH, a container entrypoint)
NOT_DOT_SH = [".ci/replica/bin/docker", ".ci/replica/node/pre-entrypoint"]


def test_shellcheck_is_clean() -> None:
    if shutil.which("shellcheck") is None:
        missing("shellcheck is not installed (Debian package shellcheck)")
    tracked = subprocess.run(
        ["git", "ls-files", "*.sh", ".ci/run", *NOT_DOT_SH],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    scripts = [s for s in tracked if (REPO / s).is_file()]
    assert ".ci/run" in scripts and "platform/base/cert/script.sh" in scripts
    assert set(NOT_DOT_SH) <= set(scripts)
    done = subprocess.run(
        ["shellcheck", "--severity=warning", *scripts],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
