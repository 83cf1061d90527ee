"""status, down and doctor against the real engine, on a cluster name no one else uses (so a
developer's own replica is never touched)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streamforge.commands.cli import main
from streamforge.execute import registry
from tests.conftest import copy_model, missing


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique: str, docker: None) -> str:
    if shutil.which("kind") is None:
        missing("kind is not on PATH (.ci/go-tools.sh builds it)")
    root = copy_model(tmp_path / "repo")
    local = root / "envs" / "local.yaml"
    local.write_text(
        local.read_text().replace("cluster_name: streamforge", f"cluster_name: {unique}")
    )
    monkeypatch.chdir(root)
    return unique


def test_status_without_a_cluster_exits_non_zero_with_the_fix(scratch: str, capsys) -> None:
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert f"kind cluster '{scratch}': absent; `nox -s up` creates the replica" in err


def test_down_without_a_cluster_is_a_quiet_no_op(scratch: str, capsys) -> None:
    assert main(["down"]) == 0
    out = capsys.readouterr().out
    assert f"no kind cluster named '{scratch}'" in out
    # the caches stay on purpose (issue 9), and down says so
    assert "kept on purpose: the image cache" in out


def test_doctor_reports_each_check(scratch: str, capsys) -> None:
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert "docker" in out and "engine" in out
    for check in ("cpu", "memory", "kind", "helm", "kubectl", "cgroup", "disk"):
        assert check in out
    # the cgroup version Docker reports, and on v1 a warning with the fix
    import subprocess

    version = subprocess.run(
        ["docker", "info", "--format", "{{.CgroupVersion}}"], capture_output=True, text=True
    ).stdout.strip()
    (line,) = [ln for ln in out.splitlines() if ln.split()[1:2] == ["cgroup"]]
    assert f"v{version}" in line
    if version == "1":
        assert line.startswith("warn") and "systemd.unified_cgroup_hierarchy=1" in out
    # a warning (CI's 2 cores) never fails doctor; a failed check always does, with its fix
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert code == (1 if failed else 0)
    assert out.count("fix:") >= len(failed)


def test_doctor_names_a_busy_port_and_the_fix(scratch: str, capsys) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        set_registry_port(port)
        assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL port {port}" in out
    assert "held by another process" in out
    assert f"free port {port} or set provider.registry_port in envs/local.yaml" in out


def set_registry_port(port: int) -> None:
    local = Path("envs/local.yaml")
    local.write_text(
        local.read_text().replace("  cluster_name:", f"  registry_port: {port}\n  cluster_name:")
    )


def test_doctor_tells_the_projects_registry_from_a_foreign_container(
    scratch: str, registry_image: str, capsys
) -> None:
    """The project's own registry on its port passes (labelled io.streamforge.managed); a
    container of someone else's on the port fails, named, with a fix that fits."""
    import subprocess

    from tests.docker.test_registry import free_port

    port = free_port()
    set_registry_port(port)
    try:
        registry.start_registry(registry_image, port, name=scratch)
        assert main(["doctor"]) in (0, 1)  # other checks may fail on this machine
        out = capsys.readouterr().out
        (line,) = [ln for ln in out.splitlines() if f"port {port}" in ln]
        assert line.startswith("ok") and f"held by the replica's {scratch}" in line

        subprocess.run(["docker", "rm", "-f", "-v", scratch], capture_output=True, check=True)
        foreign = subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                scratch,
                "-p",
                f"127.0.0.1:{port}:5000",
                registry_image,
            ],
            capture_output=True,
            text=True,
        )
        assert foreign.returncode == 0, foreign.stderr
        assert main(["doctor"]) == 1
        out = capsys.readouterr().out
        assert f"FAIL port {port}" in out
        assert f"held by container {scratch}, not this project's" in out
        assert f"`docker rm -f {scratch}` if you do not need it" in out
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", scratch], capture_output=True)


def test_up_summary_lists_every_url_and_what_the_addresses_stand_for(scratch: str, capsys) -> None:
    from streamforge.commands.up import host_facts, with_network
    from streamforge.model.load import load_platform
    from streamforge.render.env import render
    from streamforge.render.summary import summary_lines

    platform = load_platform(Path.cwd(), "local")
    out = "\n".join(summary_lines(platform, render(platform, with_network(host_facts(platform)))))
    assert "(stands for 192.168.1.153)" in out and "(stands for 192.168.1.154)" in out
    for url in (
        "https://docs.dmz.home",
        "https://kafka-ui.dmz.home",
        "https://dummy-service.dmz.home",
    ):
        assert url in out
    assert "nox -s hosts" in out and "nox -s ca" in out
