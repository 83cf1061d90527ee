"""The CLI as a user runs it: plan, render, and failing fast without Docker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

CLI = [sys.executable, "-m", "streamforge.commands.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_dry_run_prints_the_ordered_plan_and_touches_nothing() -> None:
    done = run("up", "--dry-run", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 0, done.stderr
    lines = [line.split()[1] for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert lines[:6] == [
        *("preflight", "base-image", "registry", "cluster"),
        *("rendered-files", "registry-wiring"),
    ]
    assert lines[-1] == "summary"
    order = {name: i for i, name in enumerate(lines)}
    for before, after in [
        ("component:metallb", "component:traefik"),
        ("component:cert-manager", "component:traefik"),
        ("component:strimzi", "component:kafka-ui"),
    ]:
        assert order[before] < order[after]


def test_profile_changes_the_plan() -> None:
    minimal = run("up", "--dry-run", "--profile", "minimal").stdout
    full = run("up", "--dry-run", "--profile", "full").stdout
    assert "component:kafka-ui" not in minimal and "component:kafka-ui" in full
    assert "component:kube-prometheus-stack" in full


def test_up_without_a_docker_engine_fails_fast_with_the_fix() -> None:
    done = run("up", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no Docker engine answers" in lines[0] and "start it" in lines[0]


def test_up_without_the_docker_cli(tmp_path: Path) -> None:
    done = run("up", env={"PATH": str(tmp_path)})
    assert done.returncode == 1
    assert "the docker CLI is not installed; install Docker" in done.stderr


def test_homelab_is_not_brought_up_from_a_laptop() -> None:
    done = run("up", "--env", "homelab", "--dry-run")
    assert done.returncode == 1
    assert "converged by ArgoCD" in done.stderr


def test_render_twice_is_byte_identical(tmp_path: Path) -> None:
    for env in ("local", "homelab"):
        first, second = tmp_path / f"{env}-1", tmp_path / f"{env}-2"
        assert run("render", "--env", env, "-o", str(first)).returncode == 0
        assert run("render", "--env", env, "-o", str(second)).returncode == 0
        files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
        for rel in files:
            assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_render_replaces_its_own_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("render", "-o", str(out)).returncode == 0
    # a file an earlier render wrote (listed in its marker) that this render no longer writes
    (out / "stale.yaml").write_text("old")
    with (out / ".streamforge-rendered").open("a") as marker:
        marker.write("stale.yaml\n")
    assert run("render", "-o", str(out)).returncode == 0
    assert not (out / "stale.yaml").exists()
    assert (out / "kind-config.yaml").is_file()


def test_deploy_dry_run_is_ups_plan_filtered_to_the_service() -> None:
    no_docker = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    up = run("up", "--dry-run", env=no_docker)
    deploy = run("deploy", "dummy-service", "--dry-run", env=no_docker)
    assert deploy.returncode == 0, deploy.stderr
    ups = {line.split()[1]: line.split(maxsplit=1)[1] for line in plan_lines(up.stdout)}
    mine = [line.split(maxsplit=1)[1] for line in plan_lines(deploy.stdout)]
    assert mine == [ups["base-image"], ups["service:dummy-service"]]


def plan_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip()[:1].isdigit()]
