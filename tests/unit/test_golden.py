"""Golden files pin the rendered output of both envs (tests/golden/<env>/).

A change to components, envs, the fixture service or the renderer shows up here as a readable
diff. The services rendered are a fixed fixture (GOLDEN_SERVICES), so a service added with
`nox -s new_service` does not change them. After checking that a diff is what you meant,
refresh them with `STREAMFORGE_UPDATE_GOLDEN=1 nox -s tests -- tests/unit/test_golden.py`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
from pathlib import Path

import pytest

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
# Project images are tagged with the hash of their sources; the golden files keep the image
# name and registry but not the hash, so editing docs or service code does not churn them.
# (The homelab's registry path is GitLab's, registry.dmz.home/platform/iac_kubeadm/<name>;
# upstream images are pinned by version or by a 64-digit digest, never by 12 hex digits.)
CONTENT_TAG = re.compile(r"(/[a-z0-9_-]+/[a-z0-9-]+):[0-9a-f]{12}\b")
VALUES_TAG = re.compile(r"(repository: \S+/[a-z0-9-]+\n\s+tag: )[0-9a-f]{12}\b")


def normalized(text: str) -> str:
    text = CONTENT_TAG.sub(r"\1:<content-hash>", text)
    return VALUES_TAG.sub(r"\1<content-hash>", text)


UPDATE = os.environ.get("STREAMFORGE_UPDATE_GOLDEN") == "1"
REFRESH = "STREAMFORGE_UPDATE_GOLDEN=1 nox -s tests -- tests/unit/test_golden.py"
# The services the golden files render: the scaffold's example, not whatever services exist.
GOLDEN_SERVICES = ("dummy-service",)


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_render_matches_the_golden_files(env: str, tmp_path: Path) -> None:
    # a fixed RWX host folder: the default one depends on the user's home directory
    platform = load_platform(REPO, env)
    platform = dataclasses.replace(
        platform, services={n: platform.services[n] for n in GOLDEN_SERVICES}
    )
    rendered = render(platform, Facts(rwx_host_dir="/home/dev/.cache/rwx"))
    rendered.files = {rel: normalized(text) for rel, text in rendered.files.items()}
    expected_dir = GOLDEN / env
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, text in rendered.files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text, encoding="utf-8")
        pytest.skip(f"golden files of {env} rewritten; run again without the variable to check")
    expected = {
        p.relative_to(expected_dir).as_posix(): p.read_text()
        for p in sorted(expected_dir.rglob("*"))
        if p.is_file()
    }
    assert sorted(rendered.files) == sorted(expected), (
        f"files added or removed; if that is what you meant, run `{REFRESH}`"
    )
    for rel, text in sorted(rendered.files.items()):
        if text != expected[rel]:
            diff = "".join(
                difflib.unified_diff(
                    expected[rel].splitlines(True), text.splitlines(True), f"golden/{rel}", rel
                )
            )
            pytest.fail(
                f"{env}/{rel} differs from its golden file (if the change is what you meant, "
                f"run `{REFRESH}`):\n{diff[:4000]}"
            )
